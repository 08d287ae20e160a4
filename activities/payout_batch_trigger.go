package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/workflows"
)

// PayoutBatchStarter is the activity of PayoutBatchTriggerWorkflow: it starts
// a period's batch on TaskQueue the way a manual run does.
type PayoutBatchStarter struct {
	Temporal  client.Client
	TaskQueue string
}

// StartPeriodPayoutBatch starts payout-batch-<period>, or joins the run of it
// that is running (a manual run, or an earlier trigger), and names the run.
func (a *PayoutBatchStarter) StartPeriodPayoutBatch(ctx context.Context, in workflows.PayoutBatchInput) (workflows.PayoutBatchRun, error) {
	run, err := payouts.StartBatchRun(ctx, a.Temporal, a.TaskQueue, in)
	if errors.Is(err, payouts.ErrInvalid) {
		return workflows.PayoutBatchRun{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadInput", err)
	}
	if err != nil {
		return workflows.PayoutBatchRun{}, err
	}
	return workflows.PayoutBatchRun{WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
}
