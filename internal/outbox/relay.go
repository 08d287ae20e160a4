package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/officex/officex/db/dbgen"
)

// Relay bounds. A relay leases rows in one short statement (up to RelayBatch
// in Once, as many as it has free calls in Run) and relays them with up to
// RelayConcurrency Temporal calls at a time, each bounded by
// RelayCallTimeout; no transaction is open during the calls.
const (
	RelayBatch       = 200
	RelayConcurrency = 16
	RelayIdle        = 100 * time.Millisecond
	RelayCallTimeout = 5 * time.Second
	// RelayLease is how long a leased row belongs to its relay. A row not
	// yet called when less than RelayCallTimeout of the lease is left is
	// skipped (another relay may take it over), so two relays call Temporal
	// for one row only when a call outlives its timeout. It is short because
	// the rows of a relay killed mid-lease wait for it to run out: make chaos
	// measured the drain after a kill fall from 25 s to 11 s going from 30 s
	// to 12 s. Starts and signals are idempotent, so a rare double call is harmless.
	RelayLease = 12 * time.Second
	// RelayRetryMax caps the backoff of a row whose relaying failed.
	RelayRetryMax   = time.Minute
	relayErrorPause = time.Second
)

// Relay moves the outbox to Temporal. Every worker runs one; they share the
// rows through leases (FOR UPDATE SKIP LOCKED in the lease statement, then
// lease_until), so any number of relays may run.
type Relay struct {
	Pool      *pgxpool.Pool
	Temporal  client.Client
	TaskQueue string // of start rows that name none
	Log       *slog.Logger
	// Promote, when set, runs before every lease: it writes the outbox rows
	// of work that came due elsewhere (billing.Service.PromoteStarts: the
	// starts of reservations still open after their debounce), so a relay
	// that stops also stops those.
	Promote func(ctx context.Context) error
}

// Run relays until ctx ends. It keeps up to RelayConcurrency calls going
// and leases only as many rows as it has free calls, so a row is called as
// soon as it is leased and one hanging call never holds up the others.
func (r *Relay) Run(ctx context.Context) {
	calls := make(chan struct{}, RelayConcurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		calls <- struct{}{} // wait for a free call
		<-calls
		free := cap(calls) - len(calls)
		rows, err := r.lease(ctx, free)
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("outbox relay failed; retrying", "error", err.Error())
			pause(ctx, relayErrorPause)
			continue
		}
		for _, row := range rows {
			calls <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-calls; wg.Done() }()
				if err := r.relayRow(ctx, row); err != nil && ctx.Err() == nil {
					r.Log.Warn("outbox row not relayed; retrying", "error", err.Error())
				}
			}()
		}
		if len(rows) < free {
			pause(ctx, RelayIdle)
		}
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (r *Relay) lease(ctx context.Context, n int) ([]dbgen.LeaseOutboxRowsRow, error) {
	if r.Promote != nil {
		if err := r.Promote(ctx); err != nil {
			return nil, err
		}
	}
	rows, err := dbgen.New(r.Pool).LeaseOutboxRows(ctx, dbgen.LeaseOutboxRowsParams{Lease: interval(RelayLease), RowLimit: int32(n)})
	if err != nil {
		return nil, fmt.Errorf("lease outbox rows: %w", err)
	}
	return rows, nil
}

// Once leases up to RelayBatch rows, relays them (RelayConcurrency at a
// time), waits for every call and returns how many rows it leased. A row is
// deleted as soon as Temporal accepted it; one that failed stays and is
// retried after a backoff, by this relay or another.
func (r *Relay) Once(ctx context.Context) (int, error) {
	leased := time.Now()
	rows, err := r.lease(ctx, RelayBatch)
	if err != nil {
		return 0, err
	}
	callBy := leased.Add(RelayLease - RelayCallTimeout)
	sem := make(chan struct{}, RelayConcurrency)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, row := range rows {
		sem <- struct{}{}
		if time.Now().After(callBy) || ctx.Err() != nil {
			<-sem
			break // the rest of the lease is too short: the rows go back
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := r.relayRow(ctx, row); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(rows), errors.Join(errs...)
}

// relayRow makes the row's Temporal call, then deletes the row, or on
// failure makes it due again after a backoff.
func (r *Relay) relayRow(ctx context.Context, row dbgen.LeaseOutboxRowsRow) error {
	cctx, cancel := context.WithTimeout(ctx, RelayCallTimeout)
	err := r.call(cctx, row)
	cancel()
	q := dbgen.New(r.Pool)
	if err != nil {
		// Even when the relay is stopping: the row is due again soon
		// instead of at the end of its lease.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RelayCallTimeout)
		defer cancel()
		backoff := min(time.Duration(1)<<min(row.Attempts, 16)*time.Second/2, RelayRetryMax)
		if rerr := q.RetryOutboxRowAfter(wctx, dbgen.RetryOutboxRowAfterParams{ID: row.ID, Backoff: interval(backoff)}); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("outbox %s row %d (%s): %w", row.Kind, row.ID, row.WorkflowID, err)
	}
	if err := q.DeleteOutboxRow(ctx, row.ID); err != nil {
		return fmt.Errorf("delete outbox row %d: %w", row.ID, err) // relayed again later: harmless
	}
	return nil
}

// errStillRunning keeps a rerun row while the previous run goes on.
var errStillRunning = errors.New("the previous run is still going")

// call makes the row's start or signal; what is already done counts as done.
func (r *Relay) call(ctx context.Context, row dbgen.LeaseOutboxRowsRow) error {
	var args []any
	if row.Input != nil {
		args = append(args, json.RawMessage(row.Input))
	}
	if row.SignalName != nil {
		var arg any
		if len(args) > 0 {
			arg = args[0]
		}
		err := r.Temporal.SignalWorkflow(ctx, row.WorkflowID, "", *row.SignalName, arg)
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return nil // the workflow ended (or never started): nothing to tell
		}
		return err
	}
	queue := row.TaskQueue
	if queue == "" {
		queue = r.TaskQueue
	}
	reuse, conflict := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	if row.AllowRerun || row.JoinRunning {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	if row.JoinRunning {
		conflict = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING // the run going is the one asked for
	}
	search, memo, err := decodeAttributes(row.Attributes)
	if err != nil {
		return fmt.Errorf("outbox row %d attributes: %w", row.ID, err)
	}
	_, err = r.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: row.WorkflowID, TaskQueue: queue,
		WorkflowIDReusePolicy: reuse, WorkflowIDConflictPolicy: conflict,
		WorkflowExecutionErrorWhenAlreadyStarted: true, TypedSearchAttributes: search, Memo: memo},
		deref(row.WorkflowType), args...)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started) && row.AllowRerun:
		return errStillRunning
	case errors.As(err, &started):
		return nil // started before (a crash or a lost answer): done
	}
	return err
}

// decodeAttributes reads a start row's search attributes (JSON strings are
// Keyword attributes, JSON integers Int ones) and memo.
func decodeAttributes(raw []byte) (temporal.SearchAttributes, map[string]any, error) {
	if len(raw) == 0 {
		return temporal.SearchAttributes{}, nil, nil
	}
	var a attributes
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // int64 amounts stay exact
	if err := dec.Decode(&a); err != nil {
		return temporal.SearchAttributes{}, nil, err
	}
	var updates []temporal.SearchAttributeUpdate
	for name, v := range a.Search {
		switch v := v.(type) {
		case string:
			updates = append(updates, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(v))
		case json.Number:
			n, err := v.Int64()
			if err != nil {
				return temporal.SearchAttributes{}, nil, fmt.Errorf("search attribute %s: %w", name, err)
			}
			updates = append(updates, temporal.NewSearchAttributeKeyInt64(name).ValueSet(n))
		default:
			return temporal.SearchAttributes{}, nil, fmt.Errorf("search attribute %s: unsupported value %v", name, v)
		}
	}
	return temporal.NewSearchAttributes(updates...), a.Memo, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func interval(d time.Duration) pgtype.Interval {
	return pgtype.Interval{Microseconds: d.Microseconds(), Valid: true}
}
