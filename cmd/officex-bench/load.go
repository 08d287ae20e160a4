package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
)

// The steps of one billing cycle, in micro-credits for the baseline: with a
// sip, reserve 1 -> sip 0.5 -> final settle 0.25; without, reserve 1 -> final
// settle 0.75. 0.25 is refunded either way.
const (
	reserveAmount = 1_000_000 // 1 credit
	sipAmount     = 500_000   // 0.5
	finalAmount   = 250_000   // 0.25 after a sip
	refundAmount  = 250_000
)

// finalOf is what the final settle pays the app.
func finalOf(sip bool) int64 {
	if sip {
		return finalAmount
	}
	return reserveAmount - refundAmount
}

// runStats are one run's cycles and per-step latencies.
type runStats struct {
	Cycles   int
	Errors   int
	Elapsed  time.Duration
	Latency  map[string][]time.Duration
	FirstErr string
}

func (r runStats) perSecond() float64 { return float64(r.Cycles) / r.Elapsed.Seconds() }

func (r runStats) pct(route string, p float64) time.Duration {
	l := r.Latency[route]
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

// scenarioResult is one load shape: a pair of API and baseline runs per
// repetition, measured back to back so both see the same machine load.
type scenarioResult struct {
	Shape         shape
	API, Baseline []runStats
	// APIProfile and BaseProfile: PostgreSQL during the last run of each (-dbprofile).
	APIProfile, BaseProfile *dbProfile
	CPU                     []cpuUsage // per API run, against a topology
}

// drive runs cycle on `workers` goroutines for d and gathers the latencies.
func drive(ctx context.Context, workers int, d time.Duration, cycle func(ctx context.Context, worker, n int, record func(string, time.Duration)) error) runStats {
	var mu sync.Mutex
	st := runStats{Latency: map[string][]time.Duration{}}
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string][]time.Duration{}
			record := func(route string, took time.Duration) { local[route] = append(local[route], took) }
			cycles, errs, first := 0, 0, ""
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				if err := cycle(ctx, w, n, record); err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				cycles++
			}
			mu.Lock()
			defer mu.Unlock()
			st.Cycles += cycles
			st.Errors += errs
			if st.FirstErr == "" {
				st.FirstErr = first
			}
			for k, v := range local {
				st.Latency[k] = append(st.Latency[k], v...)
			}
		}()
	}
	wg.Wait()
	st.Elapsed = time.Since(start)
	for _, v := range st.Latency {
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	}
	return st
}

// runHTTP drives reserve -> (sip ->) final settle over HTTP.
func runHTTP(ctx context.Context, baseURL string, fx []installRef, sip bool, workers int, d time.Duration) runStats {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}
	run := uuid.NewString()[:8]
	return drive(ctx, workers, d, func(ctx context.Context, w, n int, record func(string, time.Duration)) error {
		in := fx[(w+n*workers)%len(fx)]
		job := fmt.Sprintf("b-%s-%d-%d", run, w, n)
		final := float64(finalOf(sip)) / 1e6
		steps := []struct{ route, path, body string }{
			{"reserve", "/reserve", fmt.Sprintf(`{"amount": 1, "job_id": %q}`, job)},
			{"sip", "/reservations/RESV%23" + job + "/settle", `{"amount": 0.5}`},
			{"settle", "/settle", fmt.Sprintf(`{"reservation_id": "RESV#%s", "amount": %g, "final": true}`, job, final)},
		}
		if !sip {
			steps = append(steps[:1], steps[2])
		}
		for _, s := range steps {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+s.path, bytes.NewBufferString(s.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-officex-install-id", in.InstallID)
			req.Header.Set("x-officex-install-secret", in.Secret)
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			record(s.route, time.Since(start))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %d %s", s.route, resp.StatusCode, body)
			}
		}
		return nil
	})
}

// runBaseline performs the same ledger movements as bare SQL through pgx:
// per step one transaction with the wallet updates and the journal rows, and
// nothing else (no HTTP, auth, reservation row, limits, outbox or Temporal).
func runBaseline(ctx context.Context, pool *pgxpool.Pool, fx []installRef, sip bool, workers int, d time.Duration) runStats {
	run := uuid.NewString()[:8]
	return drive(ctx, workers, d, func(ctx context.Context, w, n int, record func(string, time.Duration)) error {
		in := fx[(w+n*workers)%len(fx)]
		ref := fmt.Sprintf("base-%s-%d-%d", run, w, n)
		final := finalOf(sip)
		steps := []struct {
			route string
			kind  string
			moves []move
		}{
			{"reserve", "reserve", []move{{in.UserWallet, -reserveAmount, reserveAmount}}},
			{"sip", "settle", []move{{in.UserWallet, 0, -sipAmount}, {in.AppWallet, sipAmount, 0}}},
			{"settle", "settle", []move{{in.UserWallet, refundAmount, -(final + refundAmount)}, {in.AppWallet, final, 0}}},
		}
		if !sip {
			steps = append(steps[:1], steps[2])
		}
		for i, s := range steps {
			start := time.Now()
			if err := bareMovement(ctx, pool, s.kind, fmt.Sprintf("%s-%d", ref, i), s.moves); err != nil {
				return err
			}
			record(s.route, time.Since(start))
		}
		return nil
	})
}

// move is one wallet's change in the baseline.
type move struct {
	wallet              uuid.UUID
	available, reserved int64
}

func bareMovement(ctx context.Context, pool *pgxpool.Pool, kind, ref string, moves []move) error {
	return db.InTx(ctx, pool, func(tx pgx.Tx) error {
		var txID uuid.UUID
		if err := tx.QueryRow(ctx, "INSERT INTO journal_transactions (kind, reference, actor) VALUES ($1, $2, 'bench') RETURNING id",
			kind, ref).Scan(&txID); err != nil {
			return err
		}
		var wallets []uuid.UUID
		var buckets []string
		var amounts []int64
		for _, m := range moves {
			if _, err := tx.Exec(ctx, "UPDATE wallets SET available = available + $2, reserved = reserved + $3 WHERE id = $1",
				m.wallet, m.available, m.reserved); err != nil {
				return err
			}
			for _, e := range []struct {
				bucket string
				amount int64
			}{{"available", m.available}, {"reserved", m.reserved}} {
				if e.amount != 0 {
					wallets, buckets, amounts = append(wallets, m.wallet), append(buckets, e.bucket), append(amounts, e.amount)
				}
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO journal_entries (transaction_id, wallet_id, bucket, amount)
			SELECT $1, unnest($2::uuid[]), unnest($3::text[]), unnest($4::bigint[])`, txID, wallets, buckets, amounts)
		return err
	})
}
