package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// render writes the results as Markdown: per scenario, the API against the
// bare-SQL baseline measured in the same run, then the expiry lateness.
func render(o options, results []scenarioResult, exp expiryStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# make bench: %s\n\n", time.Now().UTC().Format(time.RFC3339))
	where := "API, worker, relay and load generator in one process against PostgreSQL and the Temporal dev server on this machine"
	if o.TopologyAPI != "" {
		where = "through " + o.TopologyAPI + " (scripts/topology.sh: proxy, 2 serve, 2 worker, Temporal's four services on PostgreSQL), all on this machine"
	}
	fmt.Fprintf(&b, "%d concurrent clients, %s per run, %d users, %d CPUs; %s.\n",
		o.Concurrency, o.Duration, o.Users, runtime.NumCPU(), where)
	fmt.Fprintf(&b, "A cycle is reserve 1 -> sip 0.5 -> final settle 0.25 (0.25 refunded). Baseline: the same ledger movements as bare SQL through pgx at the same concurrency, without HTTP, auth, reservation bookkeeping or Temporal.\n\n")
	for _, r := range results {
		fmt.Fprintf(&b, "## %s\n\n| metric | API | baseline | API / baseline |\n|---|---|---|---|\n", r.Name)
		fmt.Fprintf(&b, "| cycles/s | %.0f | %.0f | %.2f |\n", r.API.perSecond(), r.Baseline.perSecond(), r.API.perSecond()/r.Baseline.perSecond())
		for _, route := range routes {
			for _, p := range []struct {
				name string
				q    float64
			}{{"p50", 0.50}, {"p99", 0.99}} {
				a, base := r.API.pct(route, p.q), r.Baseline.pct(route, p.q)
				fmt.Fprintf(&b, "| %s %s | %s | %s | %.2f |\n", route, p.name, ms(a), ms(base), float64(a)/float64(max(base, 1)))
			}
		}
		fmt.Fprintf(&b, "| errors | %d | %d | |\n\n", r.API.Errors, r.Baseline.Errors)
		if r.API.FirstErr != "" {
			fmt.Fprintf(&b, "First API error: `%s`\n\n", r.API.FirstErr)
		}
	}
	fmt.Fprintf(&b, "## Expiry with %d reservations open\n\n", exp.Opened)
	fmt.Fprintf(&b, "| metric | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| timeout_seconds | %d |\n| opened over HTTP in | %s |\n| relay had started every workflow after | %s |\n",
		int(exp.Timeout.Seconds()), exp.OpenFor.Round(time.Millisecond), exp.RelayDrained.Round(time.Millisecond))
	fmt.Fprintf(&b, "| refunded late by p50 / p99 / max | %s / %s / %s |\n| expired / still open | %d / %d |\n",
		ms(exp.P50), ms(exp.P99), ms(exp.Max), exp.Expired, exp.Pending)
	return b.String()
}
