// Command officex-proxy is the small load balancer scripts/topology.sh puts
// in front of several `officex serve` processes: round-robin over the
// backends whose /readyz answers 200, checked every -interval.
//
//	officex-proxy -listen 127.0.0.1:18080 -backend http://127.0.0.1:18081 -backend http://127.0.0.1:18082
//
// Why a Go program and not haproxy or nginx: neither is installed on these
// machines and the topology must come up with nothing but the Go toolchain
// (like every other tool here); httputil.ReverseProxy already streams bodies,
// and the check OfficeX needs is its own /readyz (PostgreSQL and Temporal
// both answer), which takes a process out of rotation when its dependencies
// fail, not only when it is down. In production a managed load balancer or an
// ingress does this job with the same readiness path (deploy/k8s/).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// backendList collects repeated -backend flags.
type backendList []*url.URL

func (b *backendList) String() string {
	parts := make([]string, len(*b))
	for i, u := range *b {
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

func (b *backendList) Set(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL such as http://127.0.0.1:18081, got %q", raw)
	}
	*b = append(*b, u)
	return nil
}

func main() {
	var backends backendList
	listen := flag.String("listen", "127.0.0.1:18080", "address to serve on")
	flag.Var(&backends, "backend", "an officex serve base URL (repeat for each)")
	interval := flag.Duration("interval", time.Second, "how often each backend's /readyz is checked")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if len(backends) == 0 {
		fmt.Fprintln(os.Stderr, "officex-proxy: at least one -backend is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, backends, *interval, log); err != nil {
		log.Error("officex-proxy stopped", "error", err.Error())
		os.Exit(1)
	}
}

// run serves until ctx ends, then drains in-flight requests.
func run(ctx context.Context, listen string, backends []*url.URL, interval time.Duration, log *slog.Logger) error {
	pool := newPool(backends, log)
	go pool.checkEvery(ctx, interval)
	srv := &http.Server{Addr: listen, Handler: pool.handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("officex-proxy listening", "addr", listen, "backends", (*backendList)(&backends).String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
