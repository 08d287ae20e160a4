package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ReconcileScheduleID is the Temporal Schedule that runs ReconcileWorkflow hourly.
const ReconcileScheduleID = "officex-reconcile-hourly"

// ReconcileInterval is how often the ledger is checked.
const ReconcileInterval = time.Hour

// ReconcileActivity checks every ledger invariant (activities.Reconcile.CheckLedger).
const ReconcileActivity = "CheckLedger"

// ReconcileInput is empty; it exists so the workflow can evolve.
type ReconcileInput struct{}

// ReconcileResult summarises a check; the full report is the activity's result.
type ReconcileResult struct {
	OK         bool
	Violations int
	Warnings   int // purchases left open; logged, they don't fail the run
}

// ReconcileViolationError is the error type of a run that found violations,
// so the run shows as failed in the Temporal UI.
const ReconcileViolationError = "LedgerInvariantViolated"

// ReconcileWorkflow runs the invariant check once and fails when it finds a
// violation, so operators see a red run in the Temporal UI.
func ReconcileWorkflow(ctx workflow.Context, _ ReconcileInput) (ReconcileResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 5},
	})
	var res ReconcileResult
	if err := workflow.ExecuteActivity(ctx, ReconcileActivity).Get(ctx, &res); err != nil {
		return ReconcileResult{}, err
	}
	if !res.OK {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%d ledger invariant violations; run officex reconcile for the report", res.Violations),
			ReconcileViolationError, nil)
	}
	return res, nil
}
