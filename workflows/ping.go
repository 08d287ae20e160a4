package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// PingInput asks the worker to prove it can reach PostgreSQL.
type PingInput struct {
	Note string
}

// PingResult is what PingWorkflow found.
type PingResult struct {
	Note           string
	DatabaseTimeMs int64 // PostgreSQL's clock, in Unix milliseconds
}

// PingActivityName is the activity PingWorkflow runs (activities.Ping.DatabaseTime).
const PingActivityName = "DatabaseTime"

// PingWorkflow is the smallest end-to-end check of the Temporal wiring: a
// workflow on the task queue that runs one activity against the database.
func PingWorkflow(ctx workflow.Context, in PingInput) (PingResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: time.Second},
	})
	var ms int64
	if err := workflow.ExecuteActivity(ctx, PingActivityName).Get(ctx, &ms); err != nil {
		return PingResult{}, err
	}
	return PingResult{Note: in.Note, DatabaseTimeMs: ms}, nil
}
