package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A process named by a pid file of scripts/topology.sh counts in its kind's
// group, and its CPU time grows with the work it does.
func TestCPUSampler_CountsAPidFileUnderItsKind(t *testing.T) {
	dir := t.TempDir()
	pid := fmt.Sprint(os.Getpid())
	for _, name := range []string{"officex-serve-1", "stripe-mock"} {
		if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(pid+" /bin/officex\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := cpuSampler{pidDir: dir}
	before := c.take(context.Background())
	// Burn 0.3 s of CPU (not of wall time: the machine may be busy).
	start, _ := procCPU("self")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if now, _ := procCPU("self"); now-start >= 300*time.Millisecond {
			break
		}
	}
	u := c.take(context.Background()).since(before, 1000, 300*time.Millisecond)
	if u.Procs["officex serve"] != 1 {
		t.Errorf("officex serve counts %d processes, want the one of the pid file", u.Procs["officex serve"])
	}
	if _, ok := u.ByGroup["stripe-mock"]; ok {
		t.Error("stripe-mock counted: it is not part of what the report lists")
	}
	if got := u.ByGroup["officex serve"]; got < 300*time.Millisecond {
		t.Errorf("officex serve used %s over a spin of 0.3 s of CPU", got)
	}
	if u.Busy <= 0 || u.perThousand(u.ByGroup["officex serve"]) <= 0 {
		t.Errorf("machine busy %s, per thousand %.3f", u.Busy, u.perThousand(u.ByGroup["officex serve"]))
	}
}

// A pool that reconnects replaces old backends (much CPU behind them) with
// new ones: the group's figure is what the processes used in between, not
// the difference of two sums.
func TestCPUUsage_BackendsThatReconnectCountWhatTheyUsed(t *testing.T) {
	before := cpuSample{procs: map[string]procTime{
		"10": {pgTemporal, 50 * time.Second}, // exits before the second sample
		"11": {pgTemporal, 40 * time.Second},
	}}
	after := cpuSample{procs: map[string]procTime{
		"11": {pgTemporal, 43 * time.Second},
		"12": {pgTemporal, 2 * time.Second}, // connected in between
	}}
	u := after.since(before, 1000, time.Minute)
	if got := u.ByGroup[pgTemporal]; got != 5*time.Second {
		t.Errorf("Temporal's backends used %s, want 3 s + 2 s", got)
	}
	if u.Procs[pgTemporal] != 2 {
		t.Errorf("%d processes, want the 2 alive at the end", u.Procs[pgTemporal])
	}
}
