package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// readyPath is OfficeX's readiness endpoint: 200 only while the process
// reaches PostgreSQL and Temporal.
const readyPath = "/readyz"

// checkTimeout bounds one readiness check (officex bounds each of its own
// dependency checks at 2 s).
const checkTimeout = 3 * time.Second

type backend struct {
	url   *url.URL
	ready atomic.Bool
}

// pool is the set of backends and which of them take requests.
type pool struct {
	backends []*backend
	next     atomic.Uint64
	log      *slog.Logger
	client   *http.Client
	proxy    *httputil.ReverseProxy
}

func newPool(urls []*url.URL, log *slog.Logger) *pool {
	p := &pool{log: log, client: &http.Client{Timeout: checkTimeout}}
	for _, u := range urls {
		p.backends = append(p.backends, &backend{url: u})
	}
	// Every client keeps its connections to the backends open: the default of
	// two idle connections per host makes a concurrent load open and close
	// one TCP connection per request.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	p.proxy = &httputil.ReverseProxy{
		Rewrite:       p.rewrite,
		Transport:     transport,
		FlushInterval: -1, // stream answers as they are written
		ErrorHandler:  p.failed,
	}
	return p
}

// pick returns the next ready backend in turn (counting over the ready ones
// only, so an unready backend's share is spread evenly), or nil when none is.
func (p *pool) pick() *backend {
	ready := make([]*backend, 0, len(p.backends))
	for _, b := range p.backends {
		if b.ready.Load() {
			ready = append(ready, b)
		}
	}
	if len(ready) == 0 {
		return nil
	}
	return ready[p.next.Add(1)%uint64(len(ready))]
}

type backendKey struct{}

func (p *pool) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := p.pick()
		if b == nil {
			unavailable(w, "no OfficeX API process is ready")
			return
		}
		p.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, b)))
	})
}

// rewrite sends the request to the backend handler chose. X-Forwarded-For
// is set from the connection, replacing whatever the client sent, so OfficeX
// may trust it (OFFICEX_TRUSTED_PROXY_HEADER=X-Forwarded-For).
func (p *pool) rewrite(pr *httputil.ProxyRequest) {
	b := pr.In.Context().Value(backendKey{}).(*backend)
	pr.SetURL(b.url)
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
}

// failed answers 502 when the chosen backend could not be reached and takes
// it out of rotation until its next successful check. The request is not
// retried on another backend: it may have reached OfficeX already, and a
// charge must not be sent twice.
func (p *pool) failed(w http.ResponseWriter, r *http.Request, err error) {
	if b, ok := r.Context().Value(backendKey{}).(*backend); ok && r.Context().Err() == nil {
		if b.ready.Swap(false) {
			p.log.Warn("backend failed a request; out of rotation", "backend", b.url.String(), "error", err.Error())
		}
	}
	writeEnvelope(w, http.StatusBadGateway, "the OfficeX API process did not answer")
}

func unavailable(w http.ResponseWriter, message string) {
	w.Header().Set("Retry-After", "1")
	writeEnvelope(w, http.StatusServiceUnavailable, message)
}

// writeEnvelope answers in OfficeX's error envelope, so clients handle the
// proxy's own failures like the API's.
func writeEnvelope(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false,
		"error": map[string]string{"code": "INTERNAL_ERROR", "message": message}})
}

// checkEvery checks every backend now and then every interval until ctx ends.
func (p *pool) checkEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.checkAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkAll checks every backend at once, so one that hangs does not delay
// the others' checks.
func (p *pool) checkAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, b := range p.backends {
		wg.Go(func() { p.check(ctx, b) })
	}
	wg.Wait()
}

func (p *pool) check(ctx context.Context, b *backend) {
	ready := false
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url.JoinPath(readyPath).String(), nil)
	if err == nil {
		if res, err := p.client.Do(req); err == nil {
			res.Body.Close()
			ready = res.StatusCode == http.StatusOK
		}
	}
	if was := b.ready.Swap(ready); was != ready && ctx.Err() == nil {
		p.log.Info("backend readiness changed", "backend", b.url.String(), "ready", ready)
	}
}
