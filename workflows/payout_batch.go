package workflows

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// PayoutBatchWorkflowID is the workflow id of a period's batch run.
func PayoutBatchWorkflowID(period string) string { return "payout-batch-" + period }

// PayoutBatchScheduleID runs the previous month's batch early on the 1st (UTC).
const PayoutBatchScheduleID = "officex-payout-batch-monthly"

// PayoutBatchWorkflowName is the name PayoutBatch.PayoutBatchWorkflow is
// registered and started under (the monthly Schedule's action names it);
// recorded histories carry it, so it never changes.
const PayoutBatchWorkflowName = "PayoutBatchWorkflow"

// PayoutBatchConcurrency bounds the payouts paid at once (the window).
const PayoutBatchConcurrency = 8

// PayoutBatchChildrenPerRun is how many payouts one run of the batch starts
// before it continues as new, so its history stays bounded whatever the
// batch's size: each payout adds about ten events (child start, child end,
// its done signal, workflow tasks), so a run stays near 1,000 events, far
// below Temporal's 10,240-event warning (see
// TestPayoutBatchWorkflow_ThousandPayoutsSlidingWindowBoundedHistory).
const PayoutBatchChildrenPerRun = 100

// PayoutDoneSignal is what a batch's PayoutWorkflow signals to the batch
// (its workflow id, so whichever run is current) when it ends, with the
// payout id. A run that continued as new learns this way that a payout
// started by an earlier run ended.
const PayoutDoneSignal = "payout-done"

// Change ids of PayoutBatchWorkflow (workflow.GetVersion): a history recorded
// before a change replays the old code path.
const (
	// changeBatchDefaultPeriod: the default period is the calendar month
	// before the run (PreviousPeriod), not the month of the day before it.
	changeBatchDefaultPeriod = "batch-default-period"
	// changeBatchSlidingWindow: payouts run in a sliding window of
	// PayoutBatchConcurrency (a Selector starts the next one as soon as
	// any ends, instead of waves that wait for their slowest), and the
	// batch continues as new every PayoutBatchChildrenPerRun payouts.
	changeBatchSlidingWindow = "batch-sliding-window"
)

// PreviousPeriod is the period (YYYY-MM, UTC) of the calendar month before
// the one now is in. It steps back from the first of the month, because
// AddDate(0, -1, 0) on 31 March is "31 February", which Go normalizes to
// 3 March.
func PreviousPeriod(now time.Time) string {
	y, m, _ := now.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1).Format("2006-01")
}

// PayoutBatchInput picks the period ("" = the month before the run) and says
// who started it (schedule, admin, cli).
type PayoutBatchInput struct {
	Period  string
	Trigger string
	Poll    time.Duration // passed to each PayoutWorkflow
	// Continued is set only when a run continues as new: the batch is
	// started and this is what is left of it.
	Continued *PayoutBatchProgress `json:",omitempty"`
}

// PayoutBatchProgress is a started batch's state handed to the next run.
type PayoutBatchProgress struct {
	BatchID  string
	ToStart  []string // payouts not started yet, in order
	InFlight []string // started by an earlier run, not known to have ended
}

// PayoutBatchStart is the batch and its payouts to run.
type PayoutBatchStart struct {
	BatchID   string
	PayoutIDs []string
}

// PayoutBatchResult summarises the batch (from the database).
type PayoutBatchResult struct {
	Period       string
	Payouts      int
	Completed    int
	Failed       int
	TotalCredits string
}

// PayoutBatchActivities are the activities of PayoutBatchWorkflow; the worker
// binds activities.Payouts, tests a fake. The method names are the activity
// type names in recorded histories, so they never change.
type PayoutBatchActivities interface {
	StartPayoutBatch(ctx context.Context, period, trigger string) (PayoutBatchStart, error)
	FinishPayoutBatch(ctx context.Context, batchID string) (PayoutBatchResult, error)
}

// PayoutBatch is PayoutBatchWorkflow bound to its activities, which it calls
// by method reference. Register it under PayoutBatchWorkflowName.
type PayoutBatch struct {
	Acts PayoutBatchActivities
}

// PayoutBatchWorkflow pays the period's approved payouts, each as a child
// PayoutWorkflow, and records the batch. Running a period again pays nothing
// twice: a payout joins one batch, and a finished payout's workflow ends at once.
func (w PayoutBatch) PayoutBatchWorkflow(ctx workflow.Context, in PayoutBatchInput) (PayoutBatchResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 20},
	})
	if in.Continued != nil { // only runs of the sliding-window version continue as new
		return w.payWindow(ctx, actx, in, *in.Continued)
	}
	if in.Period == "" {
		if workflow.GetVersion(ctx, changeBatchDefaultPeriod, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			in.Period = workflow.Now(ctx).UTC().AddDate(0, 0, -1).Format("2006-01")
		} else {
			in.Period = PreviousPeriod(workflow.Now(ctx))
		}
	}
	var start PayoutBatchStart
	if err := workflow.ExecuteActivity(actx, w.Acts.StartPayoutBatch, in.Period, in.Trigger).Get(ctx, &start); err != nil {
		return PayoutBatchResult{}, err
	}
	if workflow.GetVersion(ctx, changeBatchSlidingWindow, workflow.DefaultVersion, 1) == 1 {
		return w.payWindow(ctx, actx, in, PayoutBatchProgress{BatchID: start.BatchID, ToStart: start.PayoutIDs})
	}
	payAll(ctx, start.PayoutIDs, in.Poll)
	var res PayoutBatchResult
	err := workflow.ExecuteActivity(actx, w.Acts.FinishPayoutBatch, start.BatchID).Get(ctx, &res)
	return res, err
}

// payAll runs the payouts as children in waves of PayoutBatchConcurrency,
// each wave waiting for its slowest. Kept for histories recorded before
// changeBatchSlidingWindow; new runs use payWindow. A child that fails
// leaves its payout burned for an operator; the batch goes on.
func payAll(ctx workflow.Context, ids []string, poll time.Duration) {
	for lo := 0; lo < len(ids); lo += PayoutBatchConcurrency {
		hi := min(lo+PayoutBatchConcurrency, len(ids))
		var futures []workflow.ChildWorkflowFuture
		for _, id := range ids[lo:hi] {
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:            PayoutWorkflowID(id),
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			})
			// A typed reference for the argument check: the SDK takes the
			// child's type from the method's name, PayoutWorkflowName (the
			// child runs on the worker's own Payout, not this zero value).
			futures = append(futures, workflow.ExecuteChildWorkflow(cctx, Payout{}.PayoutWorkflow, PayoutInput{PayoutID: id, Poll: poll}))
		}
		for _, f := range futures {
			_ = f.Get(ctx, nil) // the outcome is in the payout's row; FinishPayoutBatch counts it
		}
	}
}
