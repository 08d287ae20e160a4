package workflows

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func TestPreviousPeriod_MonthEnds(t *testing.T) {
	for _, c := range []struct {
		now  string
		want string
	}{
		{"2025-03-31T12:00:00Z", "2025-02"}, // AddDate(0, -1, 0) gives "31 Feb" = 3 March
		{"2024-03-31T23:59:59Z", "2024-02"}, // leap year
		{"2025-01-31T00:00:00Z", "2024-12"}, // across the year
		{"2025-01-01T00:05:00Z", "2024-12"}, // the scheduled run
		{"2025-12-31T18:00:00Z", "2025-11"},
		{"2024-02-29T10:00:00Z", "2024-01"}, // leap day
		{"2025-07-31T08:00:00Z", "2025-06"},
		{"2025-05-31T08:00:00Z", "2025-04"}, // 31 April does not exist
		{"2025-03-01T00:00:00Z", "2025-02"},
		{"2025-03-31T23:30:00-05:00", "2025-03"}, // already 1 April UTC
	} {
		now, err := time.Parse(time.RFC3339, c.now)
		if err != nil {
			t.Fatal(err)
		}
		if got := PreviousPeriod(now); got != c.want {
			t.Errorf("PreviousPeriod(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}

// batchActs is a fake of the batch's activities in activities.Payouts.
type batchActs struct {
	payoutIDs []string // the batch's payouts
	period    string   // StartPayoutBatch's period
}

var _ PayoutBatchActivities = (*batchActs)(nil)

func (a *batchActs) StartPayoutBatch(_ context.Context, period, _ string) (PayoutBatchStart, error) {
	a.period = period
	return PayoutBatchStart{BatchID: "b1", PayoutIDs: a.payoutIDs}, nil
}

func (a *batchActs) FinishPayoutBatch(context.Context, string) (PayoutBatchResult, error) {
	return PayoutBatchResult{Period: a.period}, nil
}

func runBatch(t *testing.T, a *batchActs, pay *payoutActs, start time.Time) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(PayoutBatch{Acts: a}.PayoutBatchWorkflow, workflow.RegisterOptions{Name: PayoutBatchWorkflowName})
	env.RegisterActivity(a)
	if pay != nil {
		env.RegisterWorkflowWithOptions(Payout{Acts: pay}.PayoutWorkflow, workflow.RegisterOptions{Name: PayoutWorkflowName})
		env.RegisterActivity(pay)
	}
	env.ExecuteWorkflow(PayoutBatchWorkflowName, PayoutBatchInput{Trigger: "admin"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
}

func TestPayoutBatchWorkflow_DefaultPeriodOnTheLastDayOfAMonth(t *testing.T) {
	a := &batchActs{}
	runBatch(t, a, nil, time.Date(2025, 3, 31, 9, 0, 0, 0, time.UTC))
	if a.period != "2025-02" {
		t.Fatalf("a batch run on 31 March without a period paid %q, want 2025-02", a.period)
	}
}

// The batch starts its payouts by a typed reference to Payout.PayoutWorkflow:
// the child must run as the workflow registered under PayoutWorkflowName.
func TestPayoutBatchWorkflow_PaysEachPayoutAsAChildPayoutWorkflow(t *testing.T) {
	pay := &payoutActs{typ: "stripe"}
	runBatch(t, &batchActs{payoutIDs: []string{"p1"}}, pay, time.Date(2025, 4, 1, 0, 5, 0, 0, time.UTC))
	if pay.completed != "tr_1" {
		t.Fatalf("the batch's payout was not paid by PayoutWorkflow: completed %q", pay.completed)
	}
}
