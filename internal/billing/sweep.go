package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/officex/officex/db/dbgen"
)

// Sweeper bounds. A ReservationWorkflow refunds its reservation at the
// timeout; the sweeper, a loop of every worker process, refunds the ones
// still open SweepGrace after it straight in the database, so a refund does
// not wait for Temporal to come back from an outage or work off a backlog
// (make chaos: a 20 s outage left refunds up to 41 s late). Both close through
// Expire, which leaves a closed reservation alone, so a reservation is
// refunded once whichever comes first; the workflow then ends on its
// reservation_closed signal.
const (
	SweepGrace = 5 * time.Second
	SweepEvery = time.Second
	SweepBatch = 100
)

// ExpireOverdue expires up to limit reservations open more than grace past
// their timeout, oldest first, each in a transaction of its own, and returns
// how many it looked at.
func (s *Service) ExpireOverdue(ctx context.Context, grace time.Duration, limit int) (int, error) {
	ids, err := dbgen.New(s.pool).ListOverdueReservations(ctx, dbgen.ListOverdueReservationsParams{
		GraceSeconds: int32(grace / time.Second), RowLimit: int32(limit)})
	if err != nil {
		return 0, fmt.Errorf("list overdue reservations: %w", err)
	}
	for i, id := range ids {
		if _, err := s.Expire(ctx, id); err != nil {
			return i, err
		}
	}
	return len(ids), nil
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

// sweep expires batches until one comes back short (or fails: the next tick retries).
func (s *Service) sweep(ctx context.Context, log *slog.Logger) {
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
}
