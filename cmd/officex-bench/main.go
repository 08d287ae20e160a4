// Command officex-bench measures the billing hot path (make bench): it runs
// the API, worker and outbox relay in-process on a throwaway database against
// the Temporal dev server, drives reserve -> sip -> final settle over HTTP
// with concurrent clients in several load shapes (many apps or one hot app,
// with or without a sip), and compares each with a baseline of the same
// ledger movements as bare SQL through pgx at the same concurrency, API and
// baseline back to back, several times. It then opens 1,000 and 5,000
// reservations and measures how late their timeouts are refunded.
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
	flag.IntVar(&o.Runs, "runs", 3, "repetitions of each load shape (the report gives the range)")
	flag.StringVar(&o.Shapes, "shapes", "", "comma-separated shape keys to run (default: all)")
	flag.StringVar(&o.Expiring, "expiring", "1000,5000", "comma-separated counts of reservations opened for the expiry measurement (empty: skip)")
	flag.DurationVar(&o.ExpiryTimeout, "expiry-timeout", 30*time.Second, "timeout of those reservations")
	flag.StringVar(&o.Out, "out", "bench/results.md", "where to write the results")
	flag.StringVar(&o.TopologyAPI, "topology-api", "", "measure a running topology through this API base URL "+
		"(e.g. http://127.0.0.1:18080/v1; make bench TOPOLOGY=1) instead of an in-process stack; "+
		"DATABASE_URL, TEMPORAL_ADDRESS and the keys come from the environment as for officex serve")
	flag.BoolVar(&o.DBProfile, "dbprofile", false, "profile PostgreSQL during the last API and baseline run of each shape: "+
		"wait events sampled from pg_stat_activity, and pg_stat_statements where it is loaded")
	flag.StringVar(&o.TopologyPids, "topology-pids", ".data/topology/pids", "with -topology-api: the pid files of scripts/topology.sh, "+
		"whose processes' CPU time the report gives per 1,000 cycles and expiries")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	if err := run(ctx, o, log); err != nil {
		fmt.Fprintln(os.Stderr, "officex-bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type options struct {
	Concurrency, Users, Apps, Runs int
	Duration, ExpiryTimeout        time.Duration
	Out, Shapes, Expiring          string
	TopologyAPI, TopologyPids      string
	DBProfile                      bool
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	start := startStack
	if o.TopologyAPI != "" {
		start = func(ctx context.Context, log *slog.Logger) (*stack, error) {
			return startTopology(ctx, o.TopologyAPI, o.TopologyPids, log)
		}
	}
	st, err := start(ctx, log)
	if err != nil {
		return err
	}
	defer st.close()
	m := describeMachine(ctx, st.pool)
	results, err := runShapes(ctx, st, o)
	if err != nil {
		return err
	}
	var exps []expiryStats
	for _, n := range counts(o.Expiring) {
		fmt.Fprintf(os.Stderr, "expiry lateness with %d ...\n", n)
		exp, err := st.measureExpiry(ctx, n, o.ExpiryTimeout, o.DBProfile)
		if err != nil { // reported: the load figures are still worth writing
			exp.Err = err.Error()
		}
		if err := st.checkInvariants(ctx); err != nil {
			return err
		}
		exps = append(exps, exp)
	}
	m.LoadAfter = loadAverage()
	report := render(o, m, results, exps)
	fmt.Print(report)
	if o.Out != "" {
		if err := os.WriteFile(o.Out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runShapes measures each load shape o.Runs times: per repetition the API and
// then the baseline on the same fixture, so a ratio compares runs that saw
// the same noise from the rest of the machine.
func runShapes(ctx context.Context, st *stack, o options) ([]scenarioResult, error) {
	var results []scenarioResult
	for _, sh := range selectShapes(o) {
		fx, err := st.fixture(ctx, sh.Users, sh.Apps)
		if err != nil {
			return nil, err
		}
		r := scenarioResult{Shape: sh}
		for i := 0; i < o.Runs; i++ {
			// The last run of each is profiled when asked: the sampling
			// costs a little, and the ratio of that run says so.
			profile := o.DBProfile && i == o.Runs-1
			fmt.Fprintf(os.Stderr, "%s, run %d/%d: API ...\n", sh.Key, i+1, o.Runs)
			before, start := st.cpuSample(ctx), time.Now()
			err := st.measure(ctx, profile, &r.APIProfile, func() {
				r.API = append(r.API, runHTTP(ctx, st.baseURL, fx, sh.Sip, o.Concurrency, o.Duration))
			})
			if err != nil {
				return nil, err
			}
			if st.cpu != nil {
				r.CPU = append(r.CPU, st.cpuSample(ctx).since(before, r.API[len(r.API)-1].Cycles, time.Since(start)))
			}
			fmt.Fprintf(os.Stderr, "%s, run %d/%d: bare SQL baseline ...\n", sh.Key, i+1, o.Runs)
			err = st.measure(ctx, profile, &r.BaseProfile, func() {
				r.Baseline = append(r.Baseline, runBaseline(ctx, st.pool, fx, sh.Sip, o.Concurrency, o.Duration))
			})
			if err != nil {
				return nil, err
			}
		}
		results = append(results, r)
		if err := st.checkInvariants(ctx); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// measure runs f, under profileDB into *into when profile is set.
func (s *stack) measure(ctx context.Context, profile bool, into **dbProfile, f func()) error {
	if !profile {
		f()
		return nil
	}
	p, err := profileDB(ctx, s.pool.Config().ConnString(), f)
	if err != nil {
		return err
	}
	*into = &p
	return nil
}
