// Command chaos is make chaos: OfficeX under faults. It starts its own
// Temporal dev server (the pinned binary, on free ports, histories in a
// temporary sqlite file), its own PostgreSQL database (a random name, dropped
// at the end) and a Stripe simulator (internal/stripesim), builds bin/officex
// once and runs two `officex serve` and two `officex worker` processes on
// them. It drives the billing load of make bench over both servers
// (reserve, sip, settle, cancel, some reservations left to expire), credit
// purchases through the simulator and payout batches, while every 10 s one
// officex process is SIGKILLed and restarted and, once, the Temporal dev
// server is stopped for 20 s and restarted.
//
// At the end it checks that `officex reconcile` is clean, that no reservation
// stayed open past its timeout plus 30 s, that every purchase was either
// credited once or failed with nothing credited (against the simulator's
// charges), and that every payout was paid at most once (against the
// simulator's transfers). It prints the figures (requests served, errors by
// kind, recovery time after each kill), writes them to -out and exits 1 when a
// check fails. It never touches the shared stack (Temporal on 7233, the
// officex database); every process it started is killed on exit, Ctrl-C too.
//
// With -topology scripts/topology.sh (make chaos TOPOLOGY=1, run through
// `scripts/topology.sh run`) the same load and checks run against the
// production topology of make topology instead: the load goes through its
// proxy, the officex processes take the topology's slots as the script starts
// them, and the outage stops Temporal's frontend and history services of its
// PostgreSQL-backed cluster (see topology.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Bounds of a run.
const (
	killEvery      = 10 * time.Second // one officex process is SIGKILLed this often
	temporalOutage = 20 * time.Second // how long the Temporal dev server stays down, once
	minDuration    = 45 * time.Second // room for the outage and a few kills
	// drainLimit bounds each wait after the load (payouts, purchases, reservations).
	drainLimit = 90 * time.Second
)

type options struct {
	Duration    time.Duration
	Out         string
	Temporal    string // the pinned temporal CLI
	Officex     string // where bin/officex is built
	Topology    string // scripts/topology.sh: run against the topology (topology.go); "": a dev server of its own
	Build       bool
	DatabaseURL string // an admin connection to the PostgreSQL server; the run's database is created beside it
	Concurrency int
	KeepLogs    bool
	// ExpiryGrace is how long past its timeout a reservation may stay open.
	ExpiryGrace time.Duration
}

func main() {
	var o options
	flag.DurationVar(&o.Duration, "duration", 3*time.Minute, "how long the load and the faults run")
	flag.StringVar(&o.Out, "out", "bench/chaos.md", "where to write the figures (empty: nowhere)")
	flag.StringVar(&o.Temporal, "temporal", "", "the temporal CLI (default: scripts/tools.sh path temporal)")
	flag.StringVar(&o.Officex, "officex", "bin/officex", "where officex is built and run from")
	flag.BoolVar(&o.Build, "build", true, "build -officex from ./cmd/officex first")
	flag.StringVar(&o.DatabaseURL, "database-url", envOr("CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server to create the run's database on (CHAOS_DATABASE_URL)")
	flag.IntVar(&o.Concurrency, "c", 4, "concurrent billing clients")
	flag.DurationVar(&o.ExpiryGrace, "expiry-grace", 30*time.Second, "how long past its timeout a reservation may stay open")
	flag.BoolVar(&o.KeepLogs, "keep-logs", false, "keep the processes' logs even when every check passes")
	flag.StringVar(&o.Topology, "topology", "", "run against the topology of this script (scripts/topology.sh; "+
		"make chaos TOPOLOGY=1) instead of a Temporal dev server of its own; -officex defaults to the topology's binary")
	flag.Parse()
	if o.Topology != "" && !flagSet("officex") {
		o.Officex = topologyOfficex
	}
	if o.Duration < minDuration {
		fmt.Fprintf(os.Stderr, "chaos: -duration must be at least %s (a Temporal outage of %s and kills every %s)\n", minDuration, temporalOutage, killEvery)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	failed, err := run(ctx, o)
	stop()
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	case failed:
		fmt.Fprintln(os.Stderr, "chaos: FAILED: a check did not hold (see above)")
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "chaos: every check held")
}

// topologyOfficex is where scripts/topology.sh builds officex and runs it from.
const topologyOfficex = ".data/topology/bin/officex"

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chaos %s: %s\n", time.Now().UTC().Format("15:04:05.0"), fmt.Sprintf(format, args...))
}
