// Command officex-bench measures the billing hot path (make bench): it runs
// the API, worker and outbox relay in-process on a throwaway database against
// the Temporal dev server, drives reserve -> sip -> final settle over HTTP
// with concurrent clients, and compares with a baseline of the same ledger
// movements as bare SQL through pgx at the same concurrency. It then opens
// 1,000 reservations and measures how late their timeouts are refunded.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"
)

func main() {
	var o options
	flag.IntVar(&o.Concurrency, "c", 16, "concurrent clients")
	flag.DurationVar(&o.Duration, "d", 10*time.Second, "duration of each scenario")
	flag.IntVar(&o.Users, "users", 64, "users, each with an install")
	flag.IntVar(&o.Apps, "apps", 16, "apps in the spread scenario")
	flag.IntVar(&o.Expiring, "expiring", 1000, "reservations opened for the expiry measurement")
	flag.DurationVar(&o.ExpiryTimeout, "expiry-timeout", 30*time.Second, "timeout of those reservations")
	flag.StringVar(&o.Out, "out", "bench/results.md", "where to write the results")
	flag.StringVar(&o.TopologyAPI, "topology-api", "", "measure a running topology through this API base URL "+
		"(e.g. http://127.0.0.1:18080/v1; make bench TOPOLOGY=1) instead of an in-process stack; "+
		"DATABASE_URL, TEMPORAL_ADDRESS and the keys come from the environment as for officex serve")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := run(ctx, o, log); err != nil {
		fmt.Fprintln(os.Stderr, "officex-bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type options struct {
	Concurrency, Users, Apps, Expiring int
	Duration, ExpiryTimeout            time.Duration
	Out                                string
	TopologyAPI                        string
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	start := startStack
	if o.TopologyAPI != "" {
		start = func(ctx context.Context, log *slog.Logger) (*stack, error) {
			return startTopology(ctx, o.TopologyAPI, log)
		}
	}
	st, err := start(ctx, log)
	if err != nil {
		return err
	}
	defer st.close()
	var results []scenarioResult
	for _, sc := range []struct {
		name string
		apps int
	}{{"spread: many users over many apps", o.Apps}, {"hot: many users of one app", 1}} {
		fx, err := st.fixture(ctx, o.Users, sc.apps)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "scenario %q: API ...\n", sc.name)
		api := runHTTP(ctx, st.baseURL, fx, o.Concurrency, o.Duration)
		fmt.Fprintf(os.Stderr, "scenario %q: bare SQL baseline ...\n", sc.name)
		base := runBaseline(ctx, st.pool, fx, o.Concurrency, o.Duration)
		results = append(results, scenarioResult{Name: sc.name, API: api, Baseline: base})
		if err := st.checkInvariants(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, "expiry lateness ...")
	exp, err := st.measureExpiry(ctx, o.Expiring, o.ExpiryTimeout)
	if err != nil {
		return err
	}
	if err := st.checkInvariants(ctx); err != nil {
		return err
	}
	report := render(o, results, exp)
	fmt.Print(report)
	if o.Out != "" {
		if err := os.WriteFile(o.Out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	return nil
}
