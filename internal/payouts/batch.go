package payouts

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
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

// StartBatchRun starts the period's PayoutBatchWorkflow, or joins the run
// that is going; a finished period can run again (it pays only what is new).
func StartBatchRun(ctx context.Context, tc client.Client, queue string, in workflows.PayoutBatchInput) (client.WorkflowRun, error) {
	if !ValidPeriod(in.Period) {
		return nil, fmt.Errorf("%w: period must be YYYY-MM", ErrInvalid)
	}
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.PayoutBatchWorkflowID(in.Period), TaskQueue: queue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.PayoutBatchWorkflowName, in)
	if err != nil {
		return nil, fmt.Errorf("start payout batch %s: %w", in.Period, err)
	}
	return run, nil
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
