package billing

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/officex/officex/ledger"
)

// Sweeper bounds. A ReservationWorkflow refunds its reservation at the
// timeout; the sweeper, a loop of every worker process, refunds the ones
// still open SweepGrace after it straight in the database, so a refund does
// not wait for Temporal to start a thousand timers at once, work off a
// backlog or come back from an outage (the dev server completes about 70
// reservation workflows a second; make chaos saw a 20 s outage leave refunds
// 41 s late). Both expire through billing_expire, which leaves a closed
// reservation alone, so a reservation is refunded once whichever comes
// first; the workflow's activity then finds it expired.
//
// The grace is short because the sweeper is the bound on lateness, not a
// last resort: lateness is at most SweepGrace + SweepEvery + the sweep's
// own time (bench/results.md measures it with 1,000 and 5,000 expiries).
// A batch is one transaction (one WAL flush for SweepBatch refunds), small
// enough that the users' wallets it holds are released within milliseconds;
// SweepWorkers batches run at once and skip each other's rows.
const (
	SweepGrace   = time.Second
	SweepEvery   = 500 * time.Millisecond
	SweepBatch   = 25
	SweepWorkers = 2
)

// ExpireOverdue expires, in one transaction, up to limit reservations open
// more than grace past their timeout, oldest first, and answers how many it
// found overdue (limit: there may be more). One that a request holds is left
// for the next sweep (billing_expire_overdue, migration 00025).
func (s *Service) ExpireOverdue(ctx context.Context, grace time.Duration, limit int) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, expireOverdueSQL, grace.Milliseconds(), limit, ledger.NextSlot()).Scan(&n); err != nil {
		return 0, fmt.Errorf("expire overdue reservations: %w", billingError(err))
	}
	return n, nil
}

// SweepLoop expires overdue reservations every SweepEvery until ctx ends.
func (s *Service) SweepLoop(ctx context.Context, log *slog.Logger) {
	tick := time.NewTicker(SweepEvery)
	defer tick.Stop()
	for {
		s.sweep(ctx, log)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweep runs SweepWorkers loops of batches, each until a batch comes back
// short (or fails: the next tick retries).
func (s *Service) sweep(ctx context.Context, log *slog.Logger) {
	var wg sync.WaitGroup
	for range SweepWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := s.ExpireOverdue(ctx, SweepGrace, SweepBatch)
				if err != nil {
					if ctx.Err() == nil {
						log.Warn("expiry sweep failed; retrying", "error", err.Error())
					}
					return
				}
				if n < SweepBatch {
					return
				}
			}
		}()
	}
	wg.Wait()
}
