package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// shape is one load: how many users bill how many apps, with or without a
// sip between reserve and the final settle.
type shape struct {
	Key        string
	Name       string
	Users      int
	Apps       int
	Sip        bool
	TargetsSet bool // the targets (ratio >= 1, reserve p99 < 25 ms, settle p99 < 50 ms) apply
}

func (s shape) routes() []string {
	if s.Sip {
		return []string{"reserve", "sip", "settle"}
	}
	return []string{"reserve", "settle"}
}

// shapes are the loads of a run. The pair shapes (no sip) are the ones issue
// 13 sets targets for; the sip shapes are the original make bench cycle.
func shapes(o options) []shape {
	pair, sip := "reserve 1 -> final settle 0.75", "reserve 1 -> sip 0.5 -> final settle 0.25"
	return []shape{
		{Key: "hot-pair", Name: "hot pair: 16 users of one app, " + pair, Users: 16, Apps: 1, TargetsSet: true},
		{Key: "spread-pair", Name: fmt.Sprintf("spread pair: %d users over %d apps, %s", o.Users, o.Apps, pair),
			Users: o.Users, Apps: o.Apps, TargetsSet: true},
		{Key: "spread-sip", Name: fmt.Sprintf("spread: %d users over %d apps, %s", o.Users, o.Apps, sip),
			Users: o.Users, Apps: o.Apps, Sip: true},
		{Key: "hot-sip", Name: fmt.Sprintf("hot: %d users of one app, %s", o.Users, sip), Users: o.Users, Apps: 1, Sip: true},
	}
}

func selectShapes(o options) []shape {
	var out []shape
	for _, s := range shapes(o) {
		if o.Shapes == "" || strings.Contains(","+o.Shapes+",", ","+s.Key+",") {
			out = append(out, s)
		}
	}
	return out
}

// counts parses "1000,5000".
func counts(list string) []int {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// machine describes where the figures were measured: the machine is shared,
// so the load around the run is part of the result.
type machine struct {
	CPUs                  int
	CPUModel              string
	Postgres              string
	Settings              string
	LoadBefore, LoadAfter string
}

func describeMachine(ctx context.Context, pool *pgxpool.Pool) machine {
	m := machine{CPUs: runtime.NumCPU(), CPUModel: cpuModel(), LoadBefore: loadAverage()}
	_ = pool.QueryRow(ctx, "SELECT split_part(version(), ' on ', 1)").Scan(&m.Postgres)
	_ = pool.QueryRow(ctx, `SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
		WHERE name IN ('synchronous_commit', 'fsync', 'commit_delay', 'shared_buffers', 'wal_level', 'max_connections')`).Scan(&m.Settings)
	return m
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
