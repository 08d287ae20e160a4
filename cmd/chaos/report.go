package main

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// render writes the run's figures and checks as Markdown.
func (r *runner) render(checks []check) string {
	var b strings.Builder
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&b, "# make chaos: %s\n\n", time.Now().UTC().Format(time.RFC3339))
	if r.o.Topology != "" {
		fmt.Fprintf(&b, "%s of load through `officex-proxy` on the topology of `make topology` (two `officex serve` and two `officex worker` "+
			"processes in its slots, started by `scripts/topology.sh exec`; Temporal's frontend, history, matching and worker services on PostgreSQL, "+
			"namespace %s; a database of the run's own; the Stripe simulator), %d billing clients, %d purchase clients, a payout wave every %s, %d CPUs. "+
			"One officex process SIGKILLed every %s and restarted; %s stopped once for %s.\n\n",
			r.o.Duration, r.stack.namespace, r.o.Concurrency, purchaseClients, payoutWave, runtime.NumCPU(), killEvery, r.stack.temporal.what(), temporalOutage)
	} else {
		fmt.Fprintf(&b, "%s of load on two `officex serve` and two `officex worker` processes (one database, one Temporal dev server "+
			"on a sqlite file, the Stripe simulator), %d billing clients, %d purchase clients, a payout wave every %s, %d CPUs. "+
			"One officex process SIGKILLed every %s and restarted; the Temporal dev server stopped once for %s.\n\n",
			r.o.Duration, r.o.Concurrency, purchaseClients, payoutWave, runtime.NumCPU(), killEvery, temporalOutage)
	}
	fmt.Fprintf(&b, "Machine load average: %s at the start of the load, %s at the end.\n\n", r.loadBefore, r.loadAfter)
	r.renderChecks(&b, checks)
	r.renderRequests(&b)
	r.renderFaults(&b)
	r.renderMoney(&b)
	return b.String()
}

func (r *runner) renderChecks(b *strings.Builder, checks []check) {
	fmt.Fprintf(b, "## Checks\n\n| check | result | detail |\n|---|---|---|\n")
	for _, c := range checks {
		res := "ok"
		if !c.OK {
			res = "**FAILED**"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", c.Name, res, cell(c.Detail))
	}
	b.WriteString("\n")
}

func (r *runner) renderRequests(b *strings.Builder) {
	s := r.api.stats
	fmt.Fprintf(b, "## Requests served\n\n| route | answered | 2xx | p50 | p99 |\n|---|---|---|---|---|\n")
	total := 0
	for _, route := range s.routes() {
		s.mu.Lock()
		answered, ok := s.answered[route], s.ok[route]
		s.mu.Unlock()
		total += answered
		fmt.Fprintf(b, "| %s | %d | %d | %s | %s |\n", route, answered, ok, ms(s.percentile(route, 0.5)), ms(s.percentile(route, 0.99)))
	}
	s.mu.Lock()
	if r.stack.proxyURL != "" {
		fmt.Fprintf(b, "\n%d answers in all, through the proxy.\n\n", total)
	} else {
		fmt.Fprintf(b, "\n%d answers in all: serve-1 %d, serve-2 %d.\n\n", total, s.byServer[0], s.byServer[1])
	}
	s.mu.Unlock()
	fmt.Fprintf(b, "### Errors by kind\n\n| route: kind | count |\n|---|---|\n")
	for _, k := range s.errorKinds() {
		fmt.Fprintf(b, "| %s | %d |\n", cell(k.kind), k.n)
	}
	fmt.Fprintf(b, "\n### Billing cycles\n\n| cycle: outcome | count |\n|---|---|\n")
	for _, k := range sortedKeys(r.cycles) {
		fmt.Fprintf(b, "| %s | %d |\n", k, r.cycles[k])
	}
	b.WriteString("\nA broken cycle stopped at its first failed request; its reservation is left to its timeout.\n\n")
}

func (r *runner) renderFaults(b *strings.Builder) {
	fmt.Fprintf(b, "## Faults and recovery\n\n| at | killed | ready again after | note |\n|---|---|---|---|\n")
	kills := append([]killRecord(nil), r.kills...)
	sort.Slice(kills, func(i, j int) bool { return kills[i].At < kills[j].At })
	var recoveries []time.Duration
	for _, k := range kills {
		rec, note := secs(k.Recovery), ""
		if !k.recovered {
			rec, note = "not ready", k.Err
		} else {
			recoveries = append(recoveries, k.Recovery)
		}
		if k.InOutage {
			note = strings.TrimSpace(note + " Temporal was down meanwhile")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", secs(k.At), k.Proc, rec, cell(note))
	}
	sort.Slice(recoveries, func(i, j int) bool { return recoveries[i] < recoveries[j] })
	if n := len(recoveries); n > 0 {
		fmt.Fprintf(b, "\n%d kills; ready again after median %s, max %s (serve: /healthz answers; worker: polling its task queue).\n",
			len(kills), secs(recoveries[n/2]), secs(recoveries[n-1]))
	}
	crashes := 0
	for _, p := range r.stack.procs {
		crashes += p.crashCount()
	}
	fmt.Fprintf(b, "Exits not caused by a kill (a process restarted while Temporal was down exits until it can connect): %d.\n\n", crashes)
	o := r.outage
	switch {
	case o.StoppedAt == 0:
		b.WriteString("The Temporal outage did not happen (the run ended first).\n\n")
	case o.Err != "":
		fmt.Fprintf(b, "Temporal stopped at %s and did not come back: %s\n\n", secs(o.StoppedAt), cell(o.Err))
	default:
		drained := "not within " + drainLimit.String()
		if o.drainedOK {
			drained = secs(o.Drained)
		}
		fmt.Fprintf(b, "%s stopped at %s, down for %s (healthy %s after the restart); %d outbox rows waited for it, relayed %s after it was back.\n\n",
			upperFirst(r.stack.temporal.what()), secs(o.StoppedAt), secs(o.Down), secs(o.Healthy), o.OutboxBefore, drained)
	}
}

func (r *runner) renderMoney(b *strings.Builder) {
	a := r.after
	fmt.Fprintf(b, "## Money\n\n| what | figures |\n|---|---|\n")
	fmt.Fprintf(b, "| reservations | %d: %d completed, %d cancelled, %d expired, %d open |\n",
		a.reservations.Total, a.reservations.Settled, a.reservations.Cancelled, a.reservations.Expired, a.reservations.Open)
	fmt.Fprintf(b, "| expiry refunded late by | p50 %s, p99 %s, max %s |\n",
		secs(a.reservations.LateP50), secs(a.reservations.LateP99), secs(a.reservations.LateMax))
	var answers []string
	for _, k := range sortedKeys(r.purchase) {
		answers = append(answers, fmt.Sprintf("%s %d", k, r.purchase[k]))
	}
	fmt.Fprintf(b, "| purchase answers | %s |\n", cell(strings.Join(answers, ", ")))
	fmt.Fprintf(b, "| purchases in the database | %d succeeded, %d failed, %d undecided; the simulator charged %d |\n",
		a.purchases.Succeeded, a.purchases.Failed, a.purchases.Open, a.purchases.Charges)
	fmt.Fprintf(b, "| payouts | %d requested, %d approved, %d batch runs started, %d wave requests given up |\n",
		r.payouts.Requested, r.payouts.Approved, r.payouts.BatchRuns, r.payouts.WaveErrors)
	fmt.Fprintf(b, "| payouts in the database | %d completed, %d failed, %d unfinished; %d transfers in the simulator |\n",
		a.payouts.Completed, a.payouts.Failed, a.payouts.Unfinished, a.payouts.Transfers)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cell keeps a value inside its Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
