package main

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// dbProfile is what PostgreSQL did during one measurement (-dbprofile): what
// its active backends were waiting on, sampled from pg_stat_activity, and,
// where pg_stat_statements is loaded (shared_preload_libraries, track = all
// to see inside the billing functions), the statements that took the time.
// It answers issue 13's "what bounds it" with measurements.
type dbProfile struct {
	Samples    int            // pg_stat_activity samples taken
	Waits      map[string]int // backend-samples per wait ("CPU" when active and not waiting)
	Statements []stmtStat     // by total time, most first
	TopLevelMS float64        // execution time of the statements clients sent
	StmtNote   string         // why there are no statements, when there are none
	// WAL written meanwhile (pg_stat_wal, the whole cluster): with a commit
	// per request, flushing it is what the backends wait on most.
	WAL walStat
	// WALByTable: the bytes of WAL records on this database's tables (an
	// index counts with its table), read with pg_walinspect where it can be
	// created; cluster-wide figures include whatever else runs.
	WALByTable map[string]int64
	WALNote    string
	// CPU of this process meanwhile (API, worker, relay and load generator
	// in one), against the wall time: whether the Go side bounds the run.
	ProcCPU, Wall time.Duration
}

// processCPU is the user and system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type walStat struct{ Records, FPI, Bytes int64 }

func readWAL(ctx context.Context, conn *pgx.Conn) (walStat, error) {
	var w walStat
	err := conn.QueryRow(ctx, "SELECT wal_records, wal_fpi, wal_bytes::bigint FROM pg_stat_wal").Scan(&w.Records, &w.FPI, &w.Bytes)
	return w, err
}

type stmtStat struct {
	Query    string
	TopLevel bool
	Calls    int64
	TotalMS  float64
	MeanMS   float64
	Rows     int64
}

// sampleEvery is how often the backends are looked at; one small query.
const sampleEvery = 20 * time.Millisecond

// profileDB runs measure while it samples the database's backends on a
// connection of its own (not the pool under test), and reads
// pg_stat_statements after, reset before.
func profileDB(ctx context.Context, connString string, measure func()) (dbProfile, error) {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return dbProfile{}, fmt.Errorf("profile connection: %w", err)
	}
	defer conn.Close(ctx)
	p := dbProfile{Waits: map[string]int{}}
	_, err = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	if err == nil {
		_, err = conn.Exec(ctx, "SELECT pg_stat_statements_reset()")
	}
	if err != nil {
		p.StmtNote = "pg_stat_statements is not loaded (shared_preload_libraries): " + err.Error()
	}

	walBefore, err := readWAL(ctx, conn)
	if err != nil {
		return dbProfile{}, fmt.Errorf("read pg_stat_wal: %w", err)
	}
	var lsnBefore string
	if err := conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsnBefore); err != nil {
		return dbProfile{}, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p.sample(ctx, conn)
			}
		}
	}()
	cpu0, wall0 := processCPU(), time.Now()
	measure()
	p.ProcCPU, p.Wall = processCPU()-cpu0, time.Since(wall0)
	close(stop)
	wg.Wait()
	walAfter, err := readWAL(ctx, conn)
	if err != nil {
		return dbProfile{}, fmt.Errorf("read pg_stat_wal: %w", err)
	}
	p.WAL = walStat{walAfter.Records - walBefore.Records, walAfter.FPI - walBefore.FPI, walAfter.Bytes - walBefore.Bytes}
	if err := p.readWALByTable(ctx, conn, lsnBefore); err != nil {
		p.WALNote = err.Error()
	}

	if p.StmtNote == "" {
		if err := p.readStatements(ctx, conn); err != nil {
			p.StmtNote = err.Error()
		}
	}
	return p, nil
}

// readWALByTable sums the WAL records since lsn that touch this database's
// relations, per table.
func (p *dbProfile) readWALByTable(ctx context.Context, conn *pgx.Conn, lsn string) error {
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_walinspect"); err != nil {
		return fmt.Errorf("pg_walinspect: %w", err)
	}
	rows, err := conn.Query(ctx, `
		WITH recs AS (
			SELECT (regexp_match(block_ref, 'rel \d+/(\d+)/(\d+)'))[1:2] AS rel, record_length + fpi_length AS len
			FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn())
		), names AS (
			SELECT pg_relation_filenode(c.oid)::text AS node, coalesce(t.relname, c.relname) AS tbl
			FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid
			WHERE c.relkind IN ('r', 'i', 't')
		)
		SELECT coalesce(n.tbl, 'other ' || r.rel[2]), sum(r.len)::bigint
		FROM recs r LEFT JOIN names n ON n.node = r.rel[2]
		WHERE r.rel[1] = (SELECT oid::text FROM pg_database WHERE datname = current_database())
		GROUP BY 1`, lsn)
	if err != nil {
		return fmt.Errorf("pg_walinspect: %w", err)
	}
	p.WALByTable = map[string]int64{}
	for rows.Next() {
		var tbl string
		var n int64
		if err := rows.Scan(&tbl, &n); err != nil {
			return err
		}
		p.WALByTable[tbl] = n
	}
	return rows.Err()
}

func (p *dbProfile) sample(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `
		SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*)::int
		FROM pg_stat_activity
		WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
		GROUP BY 1`)
	if err != nil {
		return
	}
	defer rows.Close()
	p.Samples++
	for rows.Next() {
		var wait string
		var n int
		if rows.Scan(&wait, &n) == nil {
			p.Waits[wait] += n
		}
	}
}

func (p *dbProfile) readStatements(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `
		SELECT query, toplevel, calls, total_exec_time, mean_exec_time, rows
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database()
		ORDER BY total_exec_time DESC`)
	if err != nil {
		return fmt.Errorf("read pg_stat_statements: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stmtStat, error) {
		var s stmtStat
		err := r.Scan(&s.Query, &s.TopLevel, &s.Calls, &s.TotalMS, &s.MeanMS, &s.Rows)
		return s, err
	})
	if err != nil {
		return fmt.Errorf("read pg_stat_statements: %w", err)
	}
	for _, s := range all {
		if s.TopLevel {
			p.TopLevelMS += s.TotalMS
		}
	}
	p.Statements = all[:min(len(all), 14)]
	return nil
}

// render writes the profile of one run: waits as shares of the sampled
// active backends, and the statements.
func (p dbProfile) render(b *strings.Builder, title string, cycles int) {
	fmt.Fprintf(b, "**%s**: %d samples of the active backends every %s", title, p.Samples, sampleEvery)
	total := 0
	for _, n := range p.Waits {
		total += n
	}
	if p.Samples > 0 {
		fmt.Fprintf(b, ", %.1f active on average", float64(total)/float64(p.Samples))
	}
	if cycles > 0 && p.TopLevelMS > 0 {
		fmt.Fprintf(b, "; statements sent by clients ran %.2f ms per cycle", p.TopLevelMS/float64(cycles))
	}
	if cycles > 0 {
		fmt.Fprintf(b, "; WAL per cycle: %.0f bytes in %.1f records (%.2f full-page images)",
			float64(p.WAL.Bytes)/float64(cycles), float64(p.WAL.Records)/float64(cycles), float64(p.WAL.FPI)/float64(cycles))
	} else {
		fmt.Fprintf(b, "; WAL: %d bytes in %d records (%d full-page images)", p.WAL.Bytes, p.WAL.Records, p.WAL.FPI)
	}
	if p.Wall > 0 {
		fmt.Fprintf(b, "; this process (API, worker, relay, load generator) used %.2f of the %d CPUs", p.ProcCPU.Seconds()/p.Wall.Seconds(), runtime.NumCPU())
	}
	b.WriteString(".\n\n| waiting on | share of active backend-samples |\n|---|---|\n")
	keys := make([]string, 0, len(p.Waits))
	for k := range p.Waits {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return p.Waits[keys[i]] > p.Waits[keys[j]] })
	for _, k := range keys[:min(len(keys), 8)] {
		fmt.Fprintf(b, "| %s | %.1f%% |\n", k, 100*float64(p.Waits[k])/float64(max(total, 1)))
	}
	b.WriteString("\n")
	p.renderWAL(b, cycles)
	if p.StmtNote != "" {
		fmt.Fprintf(b, "Statements: %s\n\n", p.StmtNote)
		return
	}
	b.WriteString("| statement | level | calls | total ms | mean ms | rows |\n|---|---|---|---|---|---|\n")
	for _, s := range p.Statements {
		level := "nested"
		if s.TopLevel {
			level = "client"
		}
		fmt.Fprintf(b, "| `%s` | %s | %d | %.0f | %.3f | %d |\n", oneLine(s.Query, 90), level, s.Calls, s.TotalMS, s.MeanMS, s.Rows)
	}
	b.WriteString("\n")
}

// oneLine squeezes a statement's whitespace and cuts it to n runes.
func oneLine(q string, n int) string {
	q = strings.Join(strings.Fields(q), " ")
	q = strings.ReplaceAll(q, "|", "\\|")
	if r := []rune(q); len(r) > n {
		return string(r[:n]) + "…"
	}
	return q
}

// renderWAL writes the WAL on this database's tables per cycle, most first.
func (p dbProfile) renderWAL(b *strings.Builder, cycles int) {
	if p.WALNote != "" {
		fmt.Fprintf(b, "WAL by table: %s\n\n", p.WALNote)
		return
	}
	if len(p.WALByTable) == 0 {
		return
	}
	per, unit := float64(max(cycles, 1)), "per cycle"
	if cycles == 0 {
		unit = "in all"
	}
	var total int64
	keys := make([]string, 0, len(p.WALByTable))
	for k, n := range p.WALByTable {
		keys = append(keys, k)
		total += n
	}
	sort.Slice(keys, func(i, j int) bool { return p.WALByTable[keys[i]] > p.WALByTable[keys[j]] })
	fmt.Fprintf(b, "WAL on this database's tables (pg_walinspect, indexes with their table, commits not included): %.0f bytes %s.\n\n", float64(total)/per, unit)
	b.WriteString("| table | WAL bytes | share |\n|---|---|---|\n")
	for _, k := range keys[:min(len(keys), 12)] {
		fmt.Fprintf(b, "| %s | %.0f | %.1f%% |\n", k, float64(p.WALByTable[k])/per, 100*float64(p.WALByTable[k])/float64(max(total, 1)))
	}
	b.WriteString("\n")
}
