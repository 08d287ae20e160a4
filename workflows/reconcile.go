package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ReconcileScheduleID is the Temporal Schedule that runs ReconcileWorkflow hourly.
const ReconcileScheduleID = "officex-reconcile-hourly"

// ReconcileInterval is how often the ledger is checked.
const ReconcileInterval = time.Hour

// ReconcileWorkflowName is the name Reconcile.ReconcileWorkflow is registered
// and started under (the hourly Schedule's action names it); recorded
// histories carry it, so it never changes.
const ReconcileWorkflowName = "ReconcileWorkflow"

// ReconcileActivities are the activities of ReconcileWorkflow; the worker
// binds activities.Reconcile, tests a fake. The method name is the activity
// type name in recorded histories, so it never changes.
type ReconcileActivities interface {
	// CheckLedger checks every ledger invariant.
	CheckLedger(ctx context.Context) (ReconcileResult, error)
}

// Reconcile is ReconcileWorkflow bound to its activities, which it calls by
// method reference. Register it under ReconcileWorkflowName.
type Reconcile struct {
	Acts ReconcileActivities
}

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
func (w Reconcile) ReconcileWorkflow(ctx workflow.Context, _ ReconcileInput) (ReconcileResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 5},
	})
	var res ReconcileResult
	if err := workflow.ExecuteActivity(ctx, w.Acts.CheckLedger).Get(ctx, &res); err != nil {
		return ReconcileResult{}, err
	}
	if !res.OK {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%d ledger invariant violations; run officex reconcile for the report", res.Violations),
			ReconcileViolationError, nil)
	}
	return res, nil
}
