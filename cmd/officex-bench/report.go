package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// span is the range of one figure over the runs: a noisy machine makes the
// best run a lie, so the report gives lowest and highest.
func span(xs []float64, format string) string {
	if len(xs) == 0 {
		return "-"
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	if fmt.Sprintf(format, lo) == fmt.Sprintf(format, hi) {
		return fmt.Sprintf(format, lo)
	}
	return fmt.Sprintf(format+"-"+format, lo, hi)
}

// each maps the runs to one figure.
func each(runs []runStats, f func(runStats) float64) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = f(r)
	}
	return out
}

func pctMS(route string, q float64) func(runStats) float64 {
	return func(r runStats) float64 { return float64(r.pct(route, q).Microseconds()) / 1000 }
}

// ratios is API / baseline per run (run i of one against run i of the other).
func ratios(api, base []float64) []float64 {
	out := make([]float64, len(api))
	for i := range api {
		out[i] = api[i] / max(base[i], 1e-9)
	}
	return out
}

// render writes the results as Markdown: per shape, the API against the
// bare-SQL baseline measured in the same run, then the expiry lateness.
func render(o options, m machine, results []scenarioResult, exps []expiryStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# make bench: %s\n\n", time.Now().UTC().Format(time.RFC3339))
	where := "API, worker, relay and load generator run in one process"
	temporal := "Temporal CLI dev server (SQLite)"
	if o.TopologyAPI != "" {
		where = "Requests go through " + o.TopologyAPI + " (scripts/topology.sh: proxy, 2 serve, 2 worker, Temporal's four services on PostgreSQL), all on this machine"
		temporal = "Temporal's four services on that PostgreSQL"
	}
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), %s (%s); %s on the same machine. "+
		"The machine is shared with other work: load average %s before the run, %s after.\n\n",
		m.CPUs, m.CPUModel, m.Postgres, m.Settings, temporal, m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(&b, "%d concurrent clients, %s per measurement, each shape measured %d times (API then baseline, back to back); "+
		"figures are the range over the runs (lowest-highest), the ratio is taken per run. %s.\n", o.Concurrency, o.Duration, o.Runs, where)
	fmt.Fprintf(&b, "Baseline: the same ledger movements as bare SQL through pgx at the same concurrency (per step one transaction: "+
		"the wallet updates and the journal rows), without HTTP, auth, reservation bookkeeping or Temporal. Latencies in ms.\n\n")
	for _, r := range results {
		renderShape(&b, r)
	}
	for _, exp := range exps {
		renderExpiry(&b, exp)
	}
	return b.String()
}

func renderShape(b *strings.Builder, r scenarioResult) {
	fmt.Fprintf(b, "## %s\n\n| metric | API | baseline | API / baseline |\n|---|---|---|---|\n", r.Shape.Name)
	perSec := func(s runStats) float64 { return s.perSecond() }
	api, base := each(r.API, perSec), each(r.Baseline, perSec)
	fmt.Fprintf(b, "| cycles/s | %s | %s | %s |\n", span(api, "%.0f"), span(base, "%.0f"), span(ratios(api, base), "%.2f"))
	for _, route := range r.Shape.routes() {
		for _, p := range []struct {
			name string
			q    float64
		}{{"p50", 0.50}, {"p99", 0.99}} {
			a, bs := each(r.API, pctMS(route, p.q)), each(r.Baseline, pctMS(route, p.q))
			fmt.Fprintf(b, "| %s %s | %s | %s | %s |\n", route, p.name, span(a, "%.1f"), span(bs, "%.1f"), span(ratios(a, bs), "%.2f"))
		}
	}
	errs := func(s runStats) float64 { return float64(s.Errors) }
	fmt.Fprintf(b, "| errors | %s | %s | |\n\n", span(each(r.API, errs), "%.0f"), span(each(r.Baseline, errs), "%.0f"))
	renderCPU(b, "cycles", r.CPU)
	for _, s := range r.API {
		if s.FirstErr != "" {
			fmt.Fprintf(b, "First API error: `%s`\n\n", s.FirstErr)
			break
		}
	}
	if r.Shape.TargetsSet {
		ratio := ratios(api, base)
		fmt.Fprintf(b, "Targets (issue 13), runs meeting each: API/baseline >= 1.0: %d of %d; reserve p99 < 25 ms: %d of %d; settle p99 < 50 ms: %d of %d.\n\n",
			count(ratio, func(x float64) bool { return x >= 1 }), len(ratio),
			count(each(r.API, pctMS("reserve", 0.99)), func(x float64) bool { return x < 25 }), len(ratio),
			count(each(r.API, pctMS("settle", 0.99)), func(x float64) bool { return x < 50 }), len(ratio))
	}
	if r.APIProfile != nil {
		fmt.Fprintf(b, "### Where PostgreSQL's time went (last run of each, -dbprofile)\n\n")
		r.APIProfile.render(b, "API", r.API[len(r.API)-1].Cycles)
		r.BaseProfile.render(b, "Baseline", r.Baseline[len(r.Baseline)-1].Cycles)
	}
}

func count(xs []float64, ok func(float64) bool) int {
	n := 0
	for _, x := range xs {
		if ok(x) {
			n++
		}
	}
	return n
}

func renderExpiry(b *strings.Builder, exp expiryStats) {
	fmt.Fprintf(b, "## Expiry with %d reservations open\n\n", exp.Opened)
	if exp.Err != "" {
		fmt.Fprintf(b, "The measurement stopped: `%s`\n\n", exp.Err)
	}
	fmt.Fprintf(b, "| metric | value |\n|---|---|\n")
	fmt.Fprintf(b, "| all time out about | %s after the first is opened |\n| opened over HTTP in | %s |\n| timeouts spread over | %s |\n| relay had started every workflow after | %s |\n",
		exp.Timeout, exp.OpenFor.Round(time.Millisecond), exp.Spread.Round(time.Millisecond), exp.RelayDrained.Round(time.Millisecond))
	fmt.Fprintf(b, "| refunded late by p50 / p99 / max (ms) | %s / %s / %s |\n| expired / still open | %d / %d |\n\n",
		ms(exp.P50), ms(exp.P99), ms(exp.Max), exp.Expired, exp.Pending)
	if exp.Profile != nil {
		exp.Profile.render(b, "PostgreSQL from the timeout until the last refund (-dbprofile)", 0)
	}
	if exp.CPU != nil {
		renderCPU(b, "reservations opened and expired", []cpuUsage{*exp.CPU})
	}
}
