package activities

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
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
// It runs in the worker, so it calls Temporal itself, with the policies the
// outbox relay uses for a manual run's row (payouts.EnqueueBatchRun): join
// the run going, start anew once the last run closed.
func (a *PayoutBatchStarter) StartPeriodPayoutBatch(ctx context.Context, in workflows.PayoutBatchInput) (workflows.PayoutBatchRun, error) {
	if !payouts.ValidPeriod(in.Period) {
		return workflows.PayoutBatchRun{}, temporal.NewNonRetryableApplicationError("period must be YYYY-MM", "BadInput", nil)
	}
	run, err := a.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.PayoutBatchWorkflowID(in.Period), TaskQueue: a.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.PayoutBatchWorkflowName, in)
	if err != nil {
		return workflows.PayoutBatchRun{}, fmt.Errorf("start payout batch %s: %w", in.Period, err)
	}
	return workflows.PayoutBatchRun{WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
}
