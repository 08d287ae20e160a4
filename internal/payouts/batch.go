package payouts

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/outbox"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/workflows"
)

// MaxBatchSize bounds the payouts one batch run takes; the rest wait for
// the next run of the period.
const MaxBatchSize = 5000

// Batch is a period's payout batch.
type Batch struct {
	ID                         uuid.UUID
	Period, Trigger, Status    string
	Payouts, Completed, Failed int
	TotalCredits               ledger.Credits
	StartedAt                  time.Time
	FinishedAt                 *time.Time
}

func batchFrom(b dbgen.PayoutBatch) Batch {
	return Batch{ID: b.ID, Period: b.Period, Trigger: b.Trigger, Status: b.Status, Payouts: int(b.Payouts), Completed: int(b.Completed),
		Failed: int(b.Failed), TotalCredits: ledger.Credits(b.TotalCredits), StartedAt: b.StartedAt, FinishedAt: b.FinishedAt}
}

// StartBatch opens (or reopens) the period's batch, assigns every approved
// payout waiting for one, and returns the batch's payouts that are not
// finished. A payout belongs to one batch, so no run pays it twice.
func (s *Service) StartBatch(ctx context.Context, period, trigger string) (uuid.UUID, []uuid.UUID, error) {
	if !ValidPeriod(period) {
		return uuid.Nil, nil, fmt.Errorf("%w: period must be YYYY-MM", ErrInvalid)
	}
	var batch uuid.UUID
	var ids []uuid.UUID
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		b, err := q.UpsertPayoutBatch(ctx, dbgen.UpsertPayoutBatchParams{Period: period, Trigger: trigger})
		if err != nil {
			return err
		}
		batch = b.ID
		if _, err := q.AssignPayoutsToBatch(ctx, dbgen.AssignPayoutsToBatchParams{BatchID: uuid.NullUUID{UUID: b.ID, Valid: true}, RowLimit: MaxBatchSize}); err != nil {
			return err
		}
		ids, err = q.ListBatchPayoutIDs(ctx, uuid.NullUUID{UUID: b.ID, Valid: true})
		return err
	})
	return batch, ids, err
}

// FinishBatch records the batch's counts and totals.
func (s *Service) FinishBatch(ctx context.Context, id uuid.UUID) (Batch, error) {
	b, err := dbgen.New(s.pool).FinishPayoutBatch(ctx, id)
	if err != nil {
		return Batch{}, err
	}
	return batchFrom(b), nil
}

// GetBatch reads a period's batch.
func (s *Service) GetBatch(ctx context.Context, period string) (Batch, error) {
	b, err := dbgen.New(s.pool).GetPayoutBatchByPeriod(ctx, period)
	if db.IsNotFound(err) {
		return Batch{}, ErrNotFound
	}
	if err != nil {
		return Batch{}, err
	}
	return batchFrom(b), nil
}

// EnqueueBatchRun asks for the period's PayoutBatchWorkflow through the
// outbox: the relay starts payout-batch-<YYYY-MM>, or joins the run of it
// that is going (a scheduled and a manual run of a period are one run); a
// finished period runs again (it pays only what is new). It returns the
// outbox row, which BatchRun waits on. The batch runs on queue ("" is the
// relay's).
func EnqueueBatchRun(ctx context.Context, pool *pgxpool.Pool, queue string, in workflows.PayoutBatchInput) (int64, error) {
	if !ValidPeriod(in.Period) {
		return 0, fmt.Errorf("%w: period must be YYYY-MM", ErrInvalid)
	}
	var row int64
	err := db.InTx(ctx, pool, func(tx pgx.Tx) error {
		var err error
		start := BatchStart(in)
		start.TaskQueue = queue
		row, err = outbox.EnqueueIn(ctx, dbgen.New(tx), start)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue payout batch %s: %w", in.Period, err)
	}
	return row, nil
}

// BatchStart is the outbox start of the period's batch (on the relay's task
// queue): it joins the run going and starts anew once the last run closed.
func BatchStart(in workflows.PayoutBatchInput) outbox.Start {
	return outbox.Start{Kind: "payout-batch", JoinRunning: true,
		WorkflowID: workflows.PayoutBatchWorkflowID(in.Period), WorkflowType: workflows.PayoutBatchWorkflowName, Input: in}
}

// BatchRun waits until the relay has started (or joined) the batch run of
// the outbox row from EnqueueBatchRun, then returns that run: the period's
// current run, which Get follows through continue-as-new to the summary.
func BatchRun(ctx context.Context, pool *pgxpool.Pool, tc client.Client, row int64, period string) (client.WorkflowRun, error) {
	if err := outbox.WaitRelayed(ctx, pool, row); err != nil {
		return nil, err
	}
	return tc.GetWorkflow(ctx, workflows.PayoutBatchWorkflowID(period), ""), nil
}

// BatchProgress is how many of a period's batch payouts are in each status.
func (s *Service) BatchProgress(ctx context.Context, period string) (map[string]int, error) {
	rows, err := dbgen.New(s.pool).CountBatchPayoutsByStatus(ctx, period)
	if err != nil {
		return nil, fmt.Errorf("batch %s progress: %w", period, err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = int(r.Payouts)
	}
	return out, nil
}
