package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/outbox"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/worker"
	"github.com/officex/officex/workflows"
)

// testSchedules are the platform's Schedules under ids of this test's own
// (prefix), paused so that none fires while the test runs, deleted at cleanup.
func testSchedules(t *testing.T, prefix, queue string) []client.ScheduleOptions {
	t.Helper()
	scheds := worker.Schedules(queue)
	for i := range scheds {
		scheds[i].ID = prefix + scheds[i].ID
		scheds[i].Paused = true
		id := scheds[i].ID
		t.Cleanup(func() {
			_ = env.Temporal.ScheduleClient().GetHandle(context.Background(), id).Delete(context.Background())
		})
	}
	return scheds
}

func describePlatformSchedule(t *testing.T, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := env.Temporal.ScheduleClient().GetHandle(t.Context(), id).Describe(t.Context())
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return d
}

func TestEnsureSchedules_UpdatesAChangedSpecAndTaskQueue(t *testing.T) {
	env.Client(t)
	ctx := t.Context()
	prefix := fmt.Sprintf("test-%08x-", rand.Uint32())
	queueA, queueB := prefix+"queue-a", prefix+"queue-b"

	if err := worker.Ensure(ctx, env.Temporal, testSchedules(t, prefix, queueA)); err != nil {
		t.Fatal(err)
	}
	reconcileID, batchID := prefix+workflows.ReconcileScheduleID, prefix+workflows.PayoutBatchScheduleID
	if q := describePlatformSchedule(t, reconcileID).Schedule.Action.(*client.ScheduleWorkflowAction).TaskQueue; q != queueA {
		t.Fatalf("created on queue %s, want %s", q, queueA)
	}

	// The code changes: another queue, reconcile every 2 h, the batch at 03:05.
	changed := testSchedules(t, prefix, queueB)
	changed[0].Spec.Intervals[0].Every = 2 * time.Hour
	changed[1].Spec.Calendars[0].Hour = []client.ScheduleRange{{Start: 3}}
	for i := 0; i < 2; i++ { // a second worker start changes nothing more
		if err := worker.Ensure(ctx, env.Temporal, changed); err != nil {
			t.Fatalf("ensure %d: %v", i+1, err)
		}
	}

	rec := describePlatformSchedule(t, reconcileID)
	if a := rec.Schedule.Action.(*client.ScheduleWorkflowAction); a.TaskQueue != queueB || a.Workflow != workflows.ReconcileWorkflowName {
		t.Errorf("reconcile action %+v, want %s on %s", a, workflows.ReconcileWorkflowName, queueB)
	}
	if iv := rec.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 2*time.Hour {
		t.Errorf("reconcile intervals %+v, want every 2h", iv)
	}
	batch := describePlatformSchedule(t, batchID)
	if a := batch.Schedule.Action.(*client.ScheduleWorkflowAction); a.TaskQueue != queueB || a.Workflow != workflows.PayoutBatchTriggerWorkflowName ||
		a.ID != workflows.PayoutBatchTriggerActionID {
		t.Errorf("batch action %+v, want %s %s on %s", a, workflows.PayoutBatchTriggerActionID, workflows.PayoutBatchTriggerWorkflowName, queueB)
	}
	if cal := batch.Schedule.Spec.Calendars; len(cal) != 1 || len(cal[0].Hour) != 1 || cal[0].Hour[0].Start != 3 {
		t.Errorf("batch calendars %+v, want the hour 3", cal)
	}
	for _, d := range []*client.ScheduleDescription{rec, batch} {
		if d.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
			t.Errorf("overlap policy %v", d.Schedule.Policy.Overlap)
		}
		if !d.Schedule.State.Paused { // the operator's state is kept
			t.Errorf("an update unpaused the schedule")
		}
	}
}

// A scheduled batch run of a period while a manual run of it is running
// joins the manual run: one workflow payout-batch-<period>, never two.
func TestPayoutBatchSchedule_TriggerJoinsTheManualRunOfItsPeriod(t *testing.T) {
	env.Client(t)
	ctx := t.Context()
	prefix := fmt.Sprintf("test-%08x-", rand.Uint32())
	// A period no other test pays, run on a queue without a worker, so the
	// manual batch stays running for the whole test.
	period := fmt.Sprintf("%04d-%02d", 3000+rand.IntN(6000), 1+rand.IntN(12))
	triggerQueue, batchQueue := prefix+"trigger", prefix+"batches"

	w := worker.New(env.Temporal, triggerQueue, worker.Deps{TaskQueue: batchQueue})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	// The manual run's start, through the outbox as the API writes it, on
	// the worker-less queue.
	start := payouts.BatchStart(workflows.PayoutBatchInput{Period: period, Trigger: "admin"})
	start.TaskQueue = batchQueue
	var row int64
	err := db.InTx(ctx, env.Pool, func(tx pgx.Tx) error {
		var err error
		row, err = outbox.EnqueueIn(ctx, dbgen.New(tx), start)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	manual, err := payouts.BatchRun(ctx, env.Pool, env.Temporal, row, period)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Temporal.TerminateWorkflow(context.Background(), manual.GetID(), "", "test cleanup")
	})
	desc, err := env.Temporal.DescribeWorkflowExecution(ctx, manual.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	manualRunID := desc.WorkflowExecutionInfo.Execution.RunId

	scheds := testSchedules(t, prefix, triggerQueue)
	batchSched := scheds[1]
	batchSched.Action.(*client.ScheduleWorkflowAction).Args = []any{workflows.PayoutBatchInput{Period: period, Trigger: "schedule"}}
	if err := worker.Ensure(ctx, env.Temporal, []client.ScheduleOptions{batchSched}); err != nil {
		t.Fatal(err)
	}
	h := env.Temporal.ScheduleClient().GetHandle(ctx, batchSched.ID)
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}

	// The trigger's workflow id is the Schedule's to give; wait for it.
	var triggerID string
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for triggerID == "" {
		if d := describePlatformSchedule(t, batchSched.ID); len(d.Info.RecentActions) > 0 {
			triggerID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
			continue
		}
		if time.Now().After(deadline) {
			t.Fatal("the triggered Schedule started no workflow within 30s")
		}
		<-tick.C
	}
	var joined workflows.PayoutBatchRun
	if err := env.Temporal.GetWorkflow(ctx, triggerID, "").Get(ctx, &joined); err != nil {
		t.Fatalf("trigger %s: %v", triggerID, err)
	}
	if joined.WorkflowID != workflows.PayoutBatchWorkflowID(period) || joined.RunID != manualRunID {
		t.Fatalf("the scheduled run started %+v, want the manual run %s/%s", joined, manual.GetID(), manualRunID)
	}

	// Still the one run, and running: nothing was started beside it.
	desc, err = env.Temporal.DescribeWorkflowExecution(ctx, workflows.PayoutBatchWorkflowID(period), "")
	if err != nil {
		t.Fatal(err)
	}
	if info := desc.WorkflowExecutionInfo; info.Execution.RunId != manualRunID ||
		info.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("payout-batch-%s is run %s (%v), want the manual run %s running", period, info.Execution.RunId, info.Status, manualRunID)
	}
}
