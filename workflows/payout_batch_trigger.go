package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// PayoutBatchTriggerWorkflowName is the workflow type the monthly Schedule
// (PayoutBatchScheduleID) starts; recorded histories and the Schedule's action
// carry it, so it never changes.
const PayoutBatchTriggerWorkflowName = "PayoutBatchTriggerWorkflow"

// PayoutBatchTriggerActionID is the monthly Schedule's workflow id; Temporal
// appends the scheduled time to it, which is why the Schedule starts this
// trigger and not the batch itself (whose id is PayoutBatchWorkflowID).
const PayoutBatchTriggerActionID = "officex-payout-batch-trigger"

// scheduledStartTimeAttr is the search attribute Temporal sets on every
// workflow a Schedule starts: the action's scheduled (or triggered) time.
const scheduledStartTimeAttr = "TemporalScheduledStartTime"

// PayoutBatchRun names the batch workflow run a trigger started or joined.
type PayoutBatchRun struct {
	WorkflowID string
	RunID      string
}

// PayoutBatchTriggerActivities are the activities of PayoutBatchTriggerWorkflow;
// the worker binds activities.PayoutBatchStarter, tests a fake. The method name
// is the activity type name in recorded histories, so it never changes.
type PayoutBatchTriggerActivities interface {
	// StartPeriodPayoutBatch starts the period's PayoutBatchWorkflow under
	// PayoutBatchWorkflowID(in.Period), or joins the one running: the same
	// start as a manual run (payouts.BatchStart through the outbox).
	StartPeriodPayoutBatch(ctx context.Context, in PayoutBatchInput) (PayoutBatchRun, error)
}

// PayoutBatchTrigger is PayoutBatchTriggerWorkflow bound to its activities.
// Register it under PayoutBatchTriggerWorkflowName.
type PayoutBatchTrigger struct {
	Acts PayoutBatchTriggerActivities
}

// PayoutBatchTriggerWorkflow is the monthly Schedule's action. It picks the
// period (in.Period, or the calendar month before the scheduled time, so a
// late catch-up run still pays the month it was scheduled for) and starts or
// joins that period's batch workflow, payout-batch-<YYYY-MM>: a scheduled and
// a manual run of one period share that workflow id and never run at once.
// It returns the batch run without waiting for it.
func (w PayoutBatchTrigger) PayoutBatchTriggerWorkflow(ctx workflow.Context, in PayoutBatchInput) (PayoutBatchRun, error) {
	if in.Period == "" {
		in.Period = PreviousPeriod(scheduledTime(ctx))
	}
	if in.Trigger == "" {
		in.Trigger = "schedule"
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		// Starting a workflow only fails while Temporal is away: keep trying,
		// or the month is not paid until an operator notices.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 5 * time.Minute},
	})
	var run PayoutBatchRun
	err := workflow.ExecuteActivity(actx, w.Acts.StartPeriodPayoutBatch, in).Get(ctx, &run)
	return run, err
}

// scheduledTime is the time the Schedule meant this run for (from the start
// event, so replay sees the same), or the workflow's time when it was started
// some other way.
func scheduledTime(ctx workflow.Context) time.Time {
	if sa := workflow.GetInfo(ctx).SearchAttributes; sa != nil {
		if p, ok := sa.GetIndexedFields()[scheduledStartTimeAttr]; ok {
			var t time.Time
			if err := converter.GetDefaultDataConverter().FromPayload(p, &t); err == nil && !t.IsZero() {
				return t
			}
		}
	}
	return workflow.Now(ctx)
}
