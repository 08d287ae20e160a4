package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Against the topology the benchmark also counts the CPU time each kind of
// process spent on the load (from /proc), so the report can say how many
// cores of each a given rate needs: CPU seconds per 1,000 cycles are the
// cores needed per 1,000 cycles a second.

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTicks = 100

// cpuGroups are the kinds of process the report lists, in its order.
var cpuGroups = []string{"officex serve", "officex worker", "officex-proxy", "temporal-frontend", "temporal-history",
	"temporal-matching", "temporal-worker", pgOfficex, pgTemporal, pgOther, "officex-bench (load generator)"}

// PostgreSQL's processes by what they serve: a backend by its database
// (pg_stat_activity), anything else (checkpointer, WAL writer, autovacuum,
// other databases on the shared server) as other.
const (
	pgOfficex  = "postgres: OfficeX's database"
	pgTemporal = "postgres: Temporal's databases"
	pgOther    = "postgres: the rest (WAL, checkpoints, vacuum, other databases)"
)

// cpuSampler takes samples of the topology's processes.
type cpuSampler struct {
	pidDir string
	pool   *pgxpool.Pool
}

// pgGroups maps PostgreSQL backend pids to their group.
func (c cpuSampler) pgGroups(ctx context.Context) map[string]string {
	out := map[string]string{}
	if c.pool == nil {
		return out
	}
	temporalDBs := []string{os.Getenv("TEMPORAL_DB"), os.Getenv("TEMPORAL_VISIBILITY_DB")} // topology.env, exported by scripts/topology.sh run
	rows, err := c.pool.Query(ctx, "SELECT pid::text, COALESCE(datname, ''), datname = current_database() FROM pg_stat_activity")
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var pid, db string
		var ours *bool
		if rows.Scan(&pid, &db, &ours) != nil {
			continue
		}
		switch {
		case ours != nil && *ours:
			out[pid] = pgOfficex
		case db != "" && slices.Contains(temporalDBs, db):
			out[pid] = pgTemporal
		}
	}
	return out
}

// numbered is an officex process's pid file name (officex-serve-2): its kind
// counts all of them together.
var numbered = regexp.MustCompile(`^officex-(serve|worker)-\d+$`)

// cpuSample is the CPU time each process had used, by pid, and the
// machine's busy time.
type cpuSample struct {
	procs map[string]procTime
	busy  time.Duration // every CPU, from /proc/stat: all but idle and iowait
}

// procTime is one process's group and CPU time so far.
type procTime struct {
	group string
	cpu   time.Duration
}

// take reads the topology's processes (pid files in pidDir, as
// scripts/topology.sh writes them), every PostgreSQL process and this one.
func (c cpuSampler) take(ctx context.Context) cpuSample {
	pg := c.pgGroups(ctx)
	s := cpuSample{procs: map[string]procTime{}, busy: machineBusy()}
	files, _ := filepath.Glob(filepath.Join(c.pidDir, "*.pid"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		group := name
		if m := numbered.FindStringSubmatch(name); m != nil {
			group = "officex " + m[1]
		}
		if !slices.Contains(cpuGroups, group) {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid := strings.Fields(string(raw))
		if len(pid) == 0 {
			continue
		}
		if t, ok := procCPU(pid[0]); ok {
			s.procs[pid[0]] = procTime{group, t}
		}
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		pid := filepath.Base(d)
		group, ok := pg[pid]
		if !ok {
			group = pgOther
		}
		if t, ok := procCPU(pid); ok {
			s.procs[pid] = procTime{group, t}
		}
	}
	if t, ok := procCPU("self"); ok {
		s.procs["self"] = procTime{"officex-bench (load generator)", t}
	}
	return s
}

// procCPU is a process's user plus system time from /proc/PID/stat.
func procCPU(pid string) (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis (state is field 3, utime 14, stime 15).
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	sys, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(user+sys) * time.Second / clockTicks, true
}

// machineBusy is the CPU time every CPU spent not idle since boot.
func machineBusy() time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// cpuUsage is what each group used between two samples, for some work.
type cpuUsage struct {
	Work    int // cycles or expiries done meanwhile
	Elapsed time.Duration
	ByGroup map[string]time.Duration
	Procs   map[string]int
	Busy    time.Duration
}

// since is what each group used from before to after. It adds up each
// process's own difference: PostgreSQL backends come and go as pools
// reconnect, and a sum per group would lose or double what they used.
// A process that exited meanwhile is missing what it used since before.
func (after cpuSample) since(before cpuSample, work int, elapsed time.Duration) cpuUsage {
	u := cpuUsage{Work: work, Elapsed: elapsed, ByGroup: map[string]time.Duration{}, Procs: map[string]int{}, Busy: after.busy - before.busy}
	for pid, p := range after.procs {
		used := p.cpu
		if b, ok := before.procs[pid]; ok && b.group == p.group {
			used -= b.cpu
		}
		u.ByGroup[p.group] += max(0, used)
		u.Procs[p.group]++
	}
	return u
}

// perThousand is CPU seconds per 1,000 units of work: the cores needed per
// 1,000 a second.
func (u cpuUsage) perThousand(d time.Duration) float64 {
	if u.Work == 0 {
		return 0
	}
	return d.Seconds() * 1000 / float64(u.Work)
}

// renderCPU writes the CPU table of usages of one kind of work (the runs of
// a shape, or one expiry measurement).
func renderCPU(b *strings.Builder, what string, usages []cpuUsage) {
	if len(usages) == 0 {
		return
	}
	fmt.Fprintf(b, "CPU time per 1,000 %s (= cores busy per 1,000 %s a second), by process, range over the runs; "+
		"share: of the whole machine's busy CPU time meanwhile (%d CPUs):\n\n", what, what, runtime.NumCPU())
	fmt.Fprintf(b, "| process | processes | CPU s per 1,000 | share of busy CPU | average cores busy |\n|---|---|---|---|---|\n")
	for _, g := range cpuGroups {
		var per, share, cores []float64
		procs := 0
		for _, u := range usages {
			t, ok := u.ByGroup[g]
			if !ok {
				continue
			}
			per = append(per, u.perThousand(t))
			share = append(share, 100*t.Seconds()/max(u.Busy.Seconds(), 1e-9))
			cores = append(cores, t.Seconds()/max(u.Elapsed.Seconds(), 1e-9))
			procs = u.Procs[g]
		}
		if len(per) == 0 {
			continue
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s %% | %s |\n", g, procs, span(per, "%.2f"), span(share, "%.0f"), span(cores, "%.2f"))
	}
	var busy, cores []float64
	for _, u := range usages {
		busy = append(busy, u.perThousand(u.Busy))
		cores = append(cores, u.Busy.Seconds()/max(u.Elapsed.Seconds(), 1e-9))
	}
	fmt.Fprintf(b, "| whole machine (anything running) | | %s | 100 %% | %s |\n\n", span(busy, "%.2f"), span(cores, "%.2f"))
}
