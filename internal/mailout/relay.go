package mailout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/workflows"
)

// Relay bounds: outbox rows per transaction, the pause when the outbox is empty and after an error.
const (
	RelayBatch      = 100
	RelayIdle       = 100 * time.Millisecond
	relayErrorPause = time.Second
)

// Relay starts the SendMailWorkflow of each message in the mail outbox. Rows
// are deleted in the transaction that claimed them, after Temporal accepted
// the start, so a crash relays them again; a start is idempotent by the
// message id (workflow id send-mail-<id>). Several relays share the outbox
// with SKIP LOCKED. No lock is held on anything but outbox rows meanwhile.
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
			r.Log.Warn("mail relay failed; retrying", "error", err.Error())
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

// Once relays one batch and returns how many outbox rows it took.
func (r *Relay) Once(ctx context.Context) (int, error) {
	n := 0
	err := db.InTx(ctx, r.Pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		rows, err := q.ClaimMailOutbox(ctx, RelayBatch)
		if err != nil {
			return fmt.Errorf("claim mail outbox: %w", err)
		}
		n = len(rows)
		if n == 0 {
			return nil
		}
		if err := r.startAll(ctx, rows); err != nil {
			return err
		}
		ids := make([]int64, n)
		for i, row := range rows {
			ids[i] = row.ID
		}
		return q.DeleteMailOutbox(ctx, ids)
	})
	return n, err
}

// startAll starts one workflow after the other: mail is a trickle next to
// reservations, and a batch is bounded by RelayBatch.
func (r *Relay) startAll(ctx context.Context, rows []dbgen.ClaimMailOutboxRow) error {
	var errs []error
	for _, row := range rows {
		errs = append(errs, r.start(ctx, row.MessageID.String()))
	}
	return errors.Join(errs...)
}

func (r *Relay) start(ctx context.Context, messageID string) error {
	id := workflows.SendMailWorkflowID(messageID)
	_, err := r.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: r.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE},
		workflows.SendMailWorkflowName, workflows.SendMailInput{MessageID: messageID})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}
