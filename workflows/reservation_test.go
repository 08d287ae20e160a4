package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// reservationActs is a fake of activities.Reservations: ExpireReservation
// answers with expire.
type reservationActs struct {
	expire func(context.Context, string) (string, error)
}

var _ ReservationActivities = (*reservationActs)(nil)

func (a *reservationActs) ExpireReservation(ctx context.Context, reservationID string) (string, error) {
	return a.expire(ctx, reservationID)
}

func runReservation(t *testing.T, in ReservationInput, expire func(context.Context, string) (string, error),
	during func(*testsuite.TestWorkflowEnvironment)) (ReservationResult, *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	acts := &reservationActs{expire: expire}
	env.RegisterWorkflowWithOptions(Reservation{Acts: acts}.ReservationWorkflow, workflow.RegisterOptions{Name: ReservationWorkflowName})
	env.RegisterActivity(acts)
	if during != nil {
		during(env)
	}
	env.ExecuteWorkflow(ReservationWorkflowName, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res ReservationResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, env
}

func TestReservationWorkflow_ExpiresAtTheTimeoutAndRetriesTheRefund(t *testing.T) {
	calls := 0
	var s testsuite.WorkflowTestSuite
	start := s.NewTestWorkflowEnvironment().Now()
	res, env := runReservation(t, ReservationInput{ReservationID: "r1", ExpiresAt: start.Add(time.Hour)},
		func(context.Context, string) (string, error) {
			calls++
			if calls < 3 {
				return "", errors.New("database unavailable")
			}
			return "expired", nil
		}, nil)
	if res.Status != "expired" || calls != 3 {
		t.Fatalf("result %+v after %d calls", res, calls)
	}
	if waited := env.Now().Sub(start); waited < time.Hour {
		t.Fatalf("expired after %v, before the timeout", waited)
	}
}

func TestReservationWorkflow_ClosedSignalEndsWithoutRefund(t *testing.T) {
	called := false
	res, _ := runReservation(t, ReservationInput{ReservationID: "r2", ExpiresAt: time.Now().Add(24 * time.Hour)},
		func(context.Context, string) (string, error) { called = true; return "expired", nil },
		func(env *testsuite.TestWorkflowEnvironment) {
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(ReservationClosedSignal, nil) }, time.Minute)
		})
	if res.Status != "closed" || called {
		t.Fatalf("result %+v, expire called %v", res, called)
	}
}

func TestReservationWorkflow_StartedLateExpiresAtOnce(t *testing.T) {
	res, _ := runReservation(t, ReservationInput{ReservationID: "r3", ExpiresAt: time.Unix(0, 0)},
		func(context.Context, string) (string, error) { return "expired", nil }, nil)
	if res.Status != "expired" {
		t.Fatalf("result %+v", res)
	}
}
