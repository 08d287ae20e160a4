package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/workflows"
)

// Relay bounds: a batch of outbox rows per transaction, relayed by a few
// concurrent Temporal calls, and a short sleep when the outbox is empty.
const (
	RelayBatch       = 200
	RelayConcurrency = 16
	RelayIdle        = 100 * time.Millisecond
	relayErrorPause  = time.Second
	// RelayDebounce lets a reservation live this long before its workflow is
	// started (sooner when it expires sooner): most close within it and never
	// cost Temporal a start and a signal.
	RelayDebounce = 2 * time.Second
)

// Relay moves the reservation outbox to Temporal: it starts the
// ReservationWorkflow of each reservation still open when it gets there (one
// closed already needs none) and signals closure to workflows that run. Rows
// are deleted in the transaction that claimed them, after Temporal accepted,
// so a crash relays them again; starts and signals are idempotent by id.
// Several relays (one per worker) share the outbox with SKIP LOCKED.
type Relay struct {
	Pool      *pgxpool.Pool
	Temporal  client.Client
	TaskQueue string
	Log       *slog.Logger
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := r.Once(ctx)
		pause := time.Duration(0)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Warn("reservation relay failed; retrying", "error", err.Error())
			pause = relayErrorPause
		case n < RelayBatch:
			pause = RelayIdle
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

type relayItem struct {
	reservation uuid.UUID
	expiresAt   time.Time
	open        bool
	start       bool
	close       bool
}

// Once relays one batch and returns how many outbox rows it took.
func (r *Relay) Once(ctx context.Context) (int, error) {
	n := 0
	err := db.InTx(ctx, r.Pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		rows, err := q.ClaimReservationOutbox(ctx, dbgen.ClaimReservationOutboxParams{Debounce: pgInterval(RelayDebounce), RowLimit: RelayBatch})
		if err != nil {
			return fmt.Errorf("claim outbox: %w", err)
		}
		n = len(rows)
		if n == 0 {
			return nil
		}
		items, ids := group(rows)
		if err := r.relayAll(ctx, items); err != nil {
			return err
		}
		return q.DeleteReservationOutbox(ctx, ids)
	})
	return n, err
}

func group(rows []dbgen.ClaimReservationOutboxRow) ([]*relayItem, []int64) {
	byID := map[uuid.UUID]*relayItem{}
	var items []*relayItem
	ids := make([]int64, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
		it, ok := byID[row.ReservationID]
		if !ok {
			it = &relayItem{reservation: row.ReservationID, expiresAt: row.ExpiresAt,
				open: row.Status == "reserved" || row.Status == "partial"}
			byID[row.ReservationID] = it
			items = append(items, it)
		}
		it.start = it.start || row.Action == "start"
		it.close = it.close || row.Action == "close"
	}
	return items, ids
}

func (r *Relay) relayAll(ctx context.Context, items []*relayItem) error {
	sem := make(chan struct{}, RelayConcurrency)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := r.relay(ctx, it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *Relay) relay(ctx context.Context, it *relayItem) error {
	id := workflows.ReservationWorkflowID(it.reservation.String())
	switch {
	case it.start && it.open:
		_, err := r.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: r.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE},
			workflows.ReservationWorkflowName, workflows.ReservationInput{ReservationID: it.reservation.String(), ExpiresAt: it.expiresAt})
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if err != nil && !errors.As(err, &started) {
			return fmt.Errorf("start %s: %w", id, err)
		}
	case it.close && !it.start:
		err := r.Temporal.SignalWorkflow(ctx, id, "", workflows.ReservationClosedSignal, nil)
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			return fmt.Errorf("signal %s: %w", id, err)
		}
	}
	// A reservation closed before its workflow started lived its whole life in
	// the database and needs no timer.
	return nil
}

func pgInterval(d time.Duration) pgtype.Interval {
	return pgtype.Interval{Microseconds: d.Microseconds(), Valid: true}
}
