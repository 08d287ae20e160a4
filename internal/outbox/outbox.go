// Package outbox is the one way a request starts (or signals) a Temporal
// workflow: Enqueue writes a row in the caller's business transaction, and
// the Relay, running in every worker, starts the workflow after the commit.
// A request therefore never waits on Temporal and never holds a database
// lock across a Temporal call; a workflow is started exactly when its
// business rows committed, even if the process dies right after the commit.
//
// The workflow id is the row's business id (reservation-<id>,
// credit-purchase-<id>, ...), so a start repeated after a crash or a lost
// answer is refused by Temporal and counts as done. Inputs carry ids only:
// workflows read everything else, secrets included, from the database.
//
// This package must not call Temporal inside a database transaction.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db/dbgen"
)

// MaxInputBytes bounds a row's JSON input (the table's CHECK says the same):
// inputs name ids, they never carry documents or secrets.
const MaxInputBytes = 2048

// Start asks for a workflow to be started once the caller's transaction
// commits.
type Start struct {
	// Kind says what the row is for (reservation, purchase, webhook, ...).
	Kind string
	// WorkflowID is the business id; a second start of it is a no-op.
	WorkflowID   string
	WorkflowType string
	// TaskQueue empty: the relay's task queue.
	TaskQueue string
	// Input is the workflow's single argument, encoded as JSON: ids only.
	Input any
	// NotBefore delays the start (zero: as soon as a relay gets to it).
	NotBefore time.Time
	// AllowRerun starts the workflow again when a closed run of the id
	// exists (a webhook redelivery); while a run is going the relay retries.
	AllowRerun bool
	// JoinRunning makes the start join the run of the id that is going
	// instead of waiting for it, and start a new run once the last one
	// closed (a period's payout batch, started by hand or by its Schedule).
	JoinRunning bool
	// SearchAttributes (string values: Keyword, int64 values: Int) and Memo
	// are set on the started workflow so an operator finds it in the
	// Temporal UI by business key. Both are readable there: never a secret.
	SearchAttributes map[string]any
	Memo             map[string]any
}

// attributes is how a start row stores its search attributes and memo.
type attributes struct {
	Search map[string]any `json:"search,omitempty"`
	Memo   map[string]any `json:"memo,omitempty"`
}

// Signal asks for a signal to a workflow once the caller's transaction
// commits, after any start of that workflow enqueued before it. A workflow
// that does not exist (any more) is not an error: the row is dropped.
type Signal struct {
	Kind       string
	WorkflowID string
	SignalName string
	Input      any // nil: no payload
}

// ErrInvalid is a row the outbox refuses (a bug in the caller).
var ErrInvalid = errors.New("invalid outbox row")

// Enqueue writes s in tx; the relay starts the workflow after tx commits.
func Enqueue(ctx context.Context, tx pgx.Tx, s Start) error {
	_, err := EnqueueIn(ctx, dbgen.New(tx), s)
	return err
}

// EnqueueIn is Enqueue for a caller that holds its transaction as queries
// (q must be bound to that transaction); it returns the row's id, which
// WaitRelayed waits on.
func EnqueueIn(ctx context.Context, q *dbgen.Queries, s Start) (int64, error) {
	if s.Kind == "" || s.WorkflowID == "" || s.WorkflowType == "" {
		return 0, fmt.Errorf("%w: a start needs a kind, a workflow id and a workflow type", ErrInvalid)
	}
	raw, err := encode(s.Input)
	if err != nil {
		return 0, fmt.Errorf("outbox start %s: %w", s.WorkflowID, err)
	}
	var attrs []byte
	if len(s.SearchAttributes) > 0 || len(s.Memo) > 0 {
		if attrs, err = encode(attributes{Search: s.SearchAttributes, Memo: s.Memo}); err != nil {
			return 0, fmt.Errorf("outbox start %s attributes: %w", s.WorkflowID, err)
		}
	}
	var notBefore *time.Time
	if !s.NotBefore.IsZero() {
		notBefore = &s.NotBefore
	}
	id, err := q.InsertOutboxRow(ctx, dbgen.InsertOutboxRowParams{Kind: s.Kind, WorkflowID: s.WorkflowID,
		WorkflowType: &s.WorkflowType, TaskQueue: s.TaskQueue, Input: raw, AllowRerun: s.AllowRerun, JoinRunning: s.JoinRunning,
		NotBefore: notBefore, Attributes: attrs})
	if err != nil {
		return 0, fmt.Errorf("outbox start %s: %w", s.WorkflowID, err)
	}
	return id, nil
}

// EnqueueSignal writes s in tx; the relay sends it after tx commits.
func EnqueueSignal(ctx context.Context, tx pgx.Tx, s Signal) error {
	if s.Kind == "" || s.WorkflowID == "" || s.SignalName == "" {
		return fmt.Errorf("%w: a signal needs a kind, a workflow id and a signal name", ErrInvalid)
	}
	raw, err := encode(s.Input)
	if err != nil {
		return fmt.Errorf("outbox signal %s: %w", s.WorkflowID, err)
	}
	_, err = dbgen.New(tx).InsertOutboxRow(ctx, dbgen.InsertOutboxRowParams{Kind: s.Kind, WorkflowID: s.WorkflowID,
		SignalName: &s.SignalName, Input: raw})
	if err != nil {
		return fmt.Errorf("outbox signal %s: %w", s.WorkflowID, err)
	}
	return nil
}

func encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxInputBytes {
		return nil, fmt.Errorf("%w: input of %d bytes, at most %d (ids only)", ErrInvalid, len(raw), MaxInputBytes)
	}
	return raw, nil
}

// waitPoll spaces WaitRelayed's looks at the row.
const waitPoll = 20 * time.Millisecond

// WaitRelayed waits until the row id (from EnqueueIn, committed) has been
// relayed, i.e. Temporal accepted its start, or ctx ends. A request that
// answers with the workflow's outcome waits here without holding anything
// but a pooled connection for a moment at a time.
func WaitRelayed(ctx context.Context, q dbgen.DBTX, id int64) error {
	for {
		waiting, err := dbgen.New(q).OutboxRowExists(ctx, id)
		if err != nil {
			return fmt.Errorf("outbox row %d: %w", id, err)
		}
		if !waiting {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("outbox row %d not relayed yet: %w", id, ctx.Err())
		case <-time.After(waitPoll):
		}
	}
}

// Pending reports whether an outbox row of workflowID waits to be relayed.
func Pending(ctx context.Context, q dbgen.DBTX, workflowID string) (bool, error) {
	rows, err := dbgen.New(q).ListOutboxRowsOfWorkflow(ctx, workflowID)
	return len(rows) > 0, err
}
