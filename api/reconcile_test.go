package api_test

import (
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/officex/officex/worker"
	"github.com/officex/officex/workflows"
)

func TestReconcileWorkflow_ChecksTheLedgerOnTheWorker(t *testing.T) {
	env.Client(t)
	ctx := t.Context()
	run, err := env.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "reconcile-" + env.Config.TaskQueue, TaskQueue: env.Config.TaskQueue, WorkflowExecutionTimeout: time.Minute,
	}, workflows.ReconcileWorkflowName, workflows.ReconcileInput{})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.ReconcileResult
	if err := run.Get(ctx, &res); err != nil || !res.OK {
		t.Fatalf("reconcile: %+v %v", res, err)
	}
}

func TestEnsureSchedules_CreatesTheHourlyReconcileOnce(t *testing.T) {
	env.Client(t)
	ctx := t.Context()
	for i := 0; i < 2; i++ {
		if err := worker.EnsureSchedules(ctx, env.Temporal, env.Config.TaskQueue); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	desc, err := env.Temporal.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Schedule.Spec.Intervals) != 1 || desc.Schedule.Spec.Intervals[0].Every != time.Hour {
		t.Fatalf("schedule spec %+v", desc.Schedule.Spec)
	}
}
