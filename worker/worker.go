// Package worker registers every OfficeX workflow and activity on the task
// queue, and (as later issues add them) creates the Temporal Schedules.
package worker

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/workflows"
)

// Deps are what the activities need.
type Deps struct {
	Pool *pgxpool.Pool
}

// New returns a worker on taskQueue with everything registered; the caller
// runs it (Run or Start) and stops it.
func New(c client.Client, taskQueue string, d Deps) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{})
	w.RegisterWorkflow(workflows.PingWorkflow)
	ping := &activities.Ping{Pool: d.Pool}
	w.RegisterActivityWithOptions(ping.DatabaseTime, activity.RegisterOptions{Name: workflows.PingActivityName})
	return w
}
