package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runner is one chaos run: the stack, the load's client and what happened.
type runner struct {
	o     options
	stack *stack
	api   *apiClient
	run   string // random tag of this run's names
	fx    fixture
	start time.Time // when the load and the faults began

	mu       sync.Mutex
	kills    []killRecord
	outage   outageRecord
	cycles   map[string]int // billing cycles by kind and outcome
	purchase map[string]int // purchase answers by outcome
	payouts  payoutCounts
	after    after         // what the drain after the load found
	rr       atomic.Uint64 // spreads requests over the servers
	// loadBefore and loadAfter are the machine's load averages (1, 5, 15
	// min) when the load began and ended: the machine is shared.
	loadBefore, loadAfter string
}

// killRecord is one SIGKILL and how long the process took to be ready again.
type killRecord struct {
	At        time.Duration // since the load began
	Proc      string
	Recovery  time.Duration // kill to ready (serve: /healthz 200; worker: polling)
	Err       string        // not ready within readyLimit
	InOutage  bool          // Temporal was down at some point before it was ready
	recovered bool
}

// outageRecord is the Temporal outage.
type outageRecord struct {
	StoppedAt    time.Duration // since the load began
	Down         time.Duration // from stop to healthy again
	Healthy      time.Duration // from restart to healthy
	OutboxBefore int           // outbox rows waiting when it came back
	Drained      time.Duration // from healthy until the outbox was empty
	drainedOK    bool
	Err          string
	down         bool
	downSince    time.Time
	upAt         time.Time
}

type payoutCounts struct {
	Requested, Approved, BatchRuns, WaveErrors int
}

func run(ctx context.Context, o options) (failed bool, err error) {
	if o.Temporal == "" {
		out, err := exec.Command("scripts/tools.sh", "path", "temporal").Output()
		if err != nil {
			return false, fmt.Errorf("scripts/tools.sh path temporal: %w (run from the repository root, or pass -temporal)", err)
		}
		o.Temporal = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(o.Temporal); err != nil {
		return false, fmt.Errorf("the Temporal CLI %s is missing (make tools installs it): %w", o.Temporal, err)
	}
	st, err := startStack(ctx, o)
	if err != nil {
		return false, err
	}
	keepLogs := o.KeepLogs
	defer func() { st.close(keepLogs || failed || err != nil) }()
	r := &runner{o: o, stack: st, run: randomHex(4), cycles: map[string]int{}, purchase: map[string]int{}}
	r.api = &apiClient{urls: st.serveURLs, stats: newStats(len(st.serveURLs)),
		http: &http.Client{Timeout: 40 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * o.Concurrency}}}
	logf("creating the fixture (%d vendors, %d billers, %d buyers)", vendorCount, billerCount, buyerCount)
	if r.fx, err = r.setup(ctx); err != nil {
		return false, fmt.Errorf("fixture: %w", err)
	}
	measures := r.drive(ctx)
	if ctx.Err() != nil {
		measures.Wait()
		return false, ctx.Err()
	}
	checks := r.settleAndCheck(ctx)
	measures.Wait() // recoveries and the outbox drain, measured meanwhile
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	report := r.render(checks)
	fmt.Print(report)
	if o.Out != "" {
		if err := os.WriteFile(o.Out, []byte(report), 0o644); err != nil {
			return true, err
		}
	}
	for _, c := range checks {
		if !c.OK {
			failed = true
		}
	}
	return failed, nil
}

// drive runs the load, the kills and the Temporal outage for the duration.
// What it measures after (recovery of the last kills, the outbox draining
// after the outage) goes on in the background until the returned group is done.
func (r *runner) drive(ctx context.Context) *sync.WaitGroup {
	lctx, cancel := context.WithTimeout(ctx, r.o.Duration)
	defer cancel()
	r.start = time.Now()
	r.loadBefore = loadAverage()
	logf("load and faults for %s: a kill every %s, Temporal down for %s once", r.o.Duration, killEvery, temporalOutage)
	var wg sync.WaitGroup
	goRun := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	for w := 0; w < r.o.Concurrency; w++ {
		goRun(func() { r.billingLoop(lctx, w) })
	}
	for g := 0; g < purchaseClients; g++ {
		goRun(func() { r.purchaseLoop(lctx, g) })
	}
	goRun(func() { r.payoutLoop(lctx) })
	measures := &sync.WaitGroup{}
	goRun(func() { r.killLoop(lctx, ctx, measures) })
	goRun(func() { r.temporalOutage(lctx, ctx, measures) })
	wg.Wait()
	r.loadAfter = loadAverage()
	logf("load ended after %s (load average %s)", time.Since(r.start).Round(time.Second), r.loadAfter)
	return measures
}

// killLoop SIGKILLs one officex process every killEvery, in turn, and
// measures (in the background, on the run's ctx) how long it takes to be
// ready again.
func (r *runner) killLoop(lctx, ctx context.Context, measures *sync.WaitGroup) {
	t := time.NewTicker(killEvery)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-lctx.Done():
			return
		case <-t.C:
		}
		p := r.stack.procs[i%len(r.stack.procs)]
		at := time.Since(r.start)
		killedAt := time.Now()
		gen := p.kill()
		logf("SIGKILL %s", p.name)
		measures.Add(1)
		go func() {
			defer measures.Done()
			rec := killRecord{At: at, Proc: p.name}
			readyAt, err := p.waitReadyAfter(ctx, gen)
			if err != nil {
				rec.Err = err.Error()
			} else {
				rec.Recovery, rec.recovered = readyAt.Sub(killedAt), true
			}
			r.mu.Lock()
			rec.InOutage = r.outage.down || (!r.outage.upAt.IsZero() && r.outage.upAt.After(killedAt))
			r.kills = append(r.kills, rec)
			r.mu.Unlock()
			if err == nil {
				logf("%s ready again %s after its kill", p.name, rec.Recovery.Round(time.Millisecond))
			}
		}()
	}
}

// outageAt is when Temporal is stopped: about a third into
// the load, so it comes back with time left for the load to run on it, and
// between two kills, so kills fall inside the outage and not on its edge.
func (r *runner) outageAt() time.Duration {
	return (r.o.Duration/3/killEvery)*killEvery + killEvery/2
}

// temporalOutage stops Temporal once for temporalOutage (the dev server, or
// the topology's frontend and history) and starts it again on the histories
// it kept, then measures how long the outbox takes to drain.
func (r *runner) temporalOutage(lctx, ctx context.Context, measures *sync.WaitGroup) {
	select {
	case <-lctx.Done():
		return
	case <-time.After(time.Until(r.start.Add(r.outageAt()))):
	}
	t := r.stack.temporal
	stopped := time.Now()
	r.mu.Lock()
	r.outage.StoppedAt, r.outage.down, r.outage.downSince = stopped.Sub(r.start), true, stopped
	r.mu.Unlock()
	t.stop()
	logf("%s stopped for %s", t.what(), temporalOutage)
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(stopped.Add(temporalOutage))):
	}
	restart := time.Now()
	err := t.start(ctx)
	r.mu.Lock()
	r.outage.down, r.outage.upAt = false, time.Now()
	down, healthy := time.Since(stopped), time.Since(restart)
	r.outage.Healthy, r.outage.Down = healthy, down
	if err != nil {
		r.outage.Err = err.Error()
	}
	r.mu.Unlock()
	if err != nil {
		logf("Temporal did not come back: %v", err)
		return
	}
	logf("%s back after %s (healthy %s after the restart)", t.what(), down.Round(time.Millisecond), healthy.Round(time.Millisecond))
	measures.Add(1)
	go func() {
		defer measures.Done()
		r.measureOutboxDrain(ctx)
	}()
}

// measureOutboxDrain waits until every outbox row written before Temporal
// came back (while it was down) has been relayed; rows the load writes since
// are relayed as they come and don't count.
func (r *runner) measureOutboxDrain(ctx context.Context) {
	up := time.Now()
	first := true
	for time.Since(up) < drainLimit && ctx.Err() == nil {
		var n int
		if err := r.stack.pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE created_at < $1", up).Scan(&n); err == nil {
			r.mu.Lock()
			if first {
				r.outage.OutboxBefore, first = n, false
			}
			if n == 0 {
				r.outage.Drained, r.outage.drainedOK = time.Since(up), true
			}
			r.mu.Unlock()
			if n == 0 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
