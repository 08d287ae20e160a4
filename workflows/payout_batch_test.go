package workflows

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
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

func TestPayoutBatchWorkflow_DefaultPeriodOnTheLastDayOfAMonth(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2025, 3, 31, 9, 0, 0, 0, time.UTC))
	var period string
	env.RegisterActivityWithOptions(func(_ context.Context, p, _ string) (PayoutBatchStart, error) {
		period = p
		return PayoutBatchStart{BatchID: "b1"}, nil
	}, activity.RegisterOptions{Name: StartPayoutBatchActivity})
	env.RegisterActivityWithOptions(func(context.Context, string) (PayoutBatchResult, error) {
		return PayoutBatchResult{Period: period}, nil
	}, activity.RegisterOptions{Name: FinishPayoutBatchActivity})
	env.ExecuteWorkflow(PayoutBatchWorkflow, PayoutBatchInput{Trigger: "admin"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if period != "2025-02" {
		t.Fatalf("a batch run on 31 March without a period paid %q, want 2025-02", period)
	}
}
