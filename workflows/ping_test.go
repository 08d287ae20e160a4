package workflows

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

func TestPingWorkflow_RetriesTheActivity(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	calls := 0
	env.RegisterActivityWithOptions(func(context.Context) (int64, error) {
		calls++
		if calls < 3 {
			return 0, errors.New("database briefly down")
		}
		return 42, nil
	}, activity.RegisterOptions{Name: PingActivityName})
	env.ExecuteWorkflow(PingWorkflow, PingInput{Note: "n"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res PingResult
	if err := env.GetWorkflowResult(&res); err != nil || res.DatabaseTimeMs != 42 || calls != 3 {
		t.Fatalf("result %+v, calls %d, err %v", res, calls, err)
	}
}
