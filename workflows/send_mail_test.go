package workflows

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// mailActs is a fake of activities.Mail: SendMail answers with send.
type mailActs struct {
	send func(context.Context, string) (string, error)
}

var _ MailActivities = (*mailActs)(nil)

func (a *mailActs) SendMail(ctx context.Context, messageID string) (string, error) {
	return a.send(ctx, messageID)
}

func runSendMail(send func(context.Context, string) (string, error)) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	acts := &mailActs{send: send}
	env.RegisterWorkflowWithOptions(SendMail{Acts: acts}.SendMailWorkflow, workflow.RegisterOptions{Name: SendMailWorkflowName})
	env.RegisterActivity(acts)
	env.ExecuteWorkflow(SendMailWorkflowName, SendMailInput{MessageID: "m1"})
	return env
}

func TestSendMailWorkflow_RetriesAFailingMailServer(t *testing.T) {
	calls := 0
	env := runSendMail(func(_ context.Context, id string) (string, error) {
		calls++
		if id != "m1" {
			t.Errorf("message id %q", id)
		}
		if calls < 4 {
			return "", errors.New("451 try again later")
		}
		return MailSent, nil
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res SendMailResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != MailSent || calls != 4 {
		t.Fatalf("result %+v, %v after %d calls", res, err, calls)
	}
}

// TestSendMailWorkflow_GivesUpAfterMailRetryFor: backoff doubles from 1 s to
// 5 min, so a day of retries is about 9 + (24 h - 511 s) / 5 min = 295 attempts.
func TestSendMailWorkflow_GivesUpAfterMailRetryFor(t *testing.T) {
	calls := 0
	env := runSendMail(func(context.Context, string) (string, error) {
		calls++
		return "", errors.New("connection refused")
	})
	if env.GetWorkflowError() == nil {
		t.Fatal("a mail server that never answers must fail the workflow (visible in the UI)")
	}
	if calls < 280 || calls > 300 {
		t.Fatalf("%d attempts, want about 295 (a day of backoff capped at %s)", calls, MailMaxInterval)
	}
}
