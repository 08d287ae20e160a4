package workflows

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// triggerActs is a fake of activities.PayoutBatchStarter.
type triggerActs struct{ got []PayoutBatchInput }

var _ PayoutBatchTriggerActivities = (*triggerActs)(nil)

func (a *triggerActs) StartPeriodPayoutBatch(_ context.Context, in PayoutBatchInput) (PayoutBatchRun, error) {
	a.got = append(a.got, in)
	return PayoutBatchRun{WorkflowID: PayoutBatchWorkflowID(in.Period), RunID: "r1"}, nil
}

func TestPayoutBatchTriggerWorkflow_StartsThePeriodsBatch(t *testing.T) {
	mustTime := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name      string
		in        PayoutBatchInput
		scheduled string // TemporalScheduledStartTime, "" = not started by a Schedule
		now       string
		want      PayoutBatchInput
	}{
		// A catch-up run days late still pays the month it was scheduled for.
		{"scheduled", PayoutBatchInput{Trigger: "schedule"}, "2025-04-01T00:05:00Z", "2025-05-03T09:00:00Z",
			PayoutBatchInput{Period: "2025-03", Trigger: "schedule"}},
		{"no schedule time", PayoutBatchInput{}, "", "2025-03-31T12:00:00Z", PayoutBatchInput{Period: "2025-02", Trigger: "schedule"}},
		{"explicit period", PayoutBatchInput{Period: "2024-11", Trigger: "admin"}, "2025-04-01T00:05:00Z", "2025-04-01T00:05:00Z",
			PayoutBatchInput{Period: "2024-11", Trigger: "admin"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.SetStartTime(mustTime(c.now))
			if c.scheduled != "" {
				err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
					temporal.NewSearchAttributeKeyTime(scheduledStartTimeAttr).ValueSet(mustTime(c.scheduled))))
				if err != nil {
					t.Fatal(err)
				}
			}
			acts := &triggerActs{}
			env.RegisterWorkflowWithOptions(PayoutBatchTrigger{Acts: acts}.PayoutBatchTriggerWorkflow,
				workflow.RegisterOptions{Name: PayoutBatchTriggerWorkflowName})
			env.RegisterActivity(acts)
			env.ExecuteWorkflow(PayoutBatchTriggerWorkflowName, c.in)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var run PayoutBatchRun
			if err := env.GetWorkflowResult(&run); err != nil {
				t.Fatal(err)
			}
			if len(acts.got) != 1 || acts.got[0] != c.want {
				t.Fatalf("StartPeriodPayoutBatch calls %+v, want one with %+v", acts.got, c.want)
			}
			if run.WorkflowID != "payout-batch-"+c.want.Period || run.RunID != "r1" {
				t.Fatalf("run %+v", run)
			}
		})
	}
}
