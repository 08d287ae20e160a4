package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// fakeChatRun is ChatRunActivities with scripted answers.
type fakeChatRun struct {
	startStatus string
	startErr    error
	agentErrs   []error // returned by successive attempts until spent
	agentCalls  int
	threads     int
	inbox       []string
	finished    []ChatRunFinish
	skipChecks  int
	runKey      string
}

func (f *fakeChatRun) StartChatRun(_ context.Context, in ChatRunStart) (ChatRunState, error) {
	f.runKey = in.RunKey
	return ChatRunState{RunID: "run-1", Status: f.startStatus}, f.startErr
}

func (f *fakeChatRun) CreateChatRunThread(context.Context, string) (string, error) {
	f.threads++
	return "thread-1", nil
}

func (f *fakeChatRun) RunChatAgent(context.Context, string) (ChatRunReply, error) {
	f.agentCalls++
	if len(f.agentErrs) > 0 {
		err := f.agentErrs[0]
		if len(f.agentErrs) > 1 {
			f.agentErrs = f.agentErrs[1:]
		}
		if err != nil {
			return ChatRunReply{}, err
		}
	}
	return ChatRunReply{MessageID: "m1", Text: "All done.", InputTokens: 100, OutputTokens: 20}, nil
}

func (f *fakeChatRun) PostChatRunInbox(_ context.Context, _, text string) error {
	f.inbox = append(f.inbox, text)
	return nil
}

func (f *fakeChatRun) FinishChatRun(_ context.Context, in ChatRunFinish) error {
	f.finished = append(f.finished, in)
	return nil
}

func (f *fakeChatRun) RecordChatRunSkips(context.Context, string) error {
	f.skipChecks++
	return nil
}

func (f *fakeChatRun) run(t *testing.T) ChatRunResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(ChatRun{Acts: f}.ChatRunWorkflow, workflow.RegisterOptions{Name: ChatRunWorkflowName})
	env.RegisterActivity(f)
	scheduled := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: ChatRunWorkflowID("s1", scheduled)})
	env.ExecuteWorkflow(ChatRunWorkflowName, ChatRunInput{ScheduleID: "s1"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var res ChatRunResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if f.runKey != "" && f.runKey != "chat-run-s1-2030-01-07T09:00:00Z" {
		t.Fatalf("run key %q", f.runKey)
	}
	return res
}

func modelDown() error {
	return temporal.NewApplicationError("the model failed: the model server answered 503", "ChatModel")
}

func TestChatRunWorkflow_ModelErrorsRetriedThenAnswered(t *testing.T) {
	f := &fakeChatRun{startStatus: "running", agentErrs: []error{modelDown(), modelDown(), nil}}
	res := f.run(t)
	if res.Status != "completed" || f.agentCalls != 3 || f.threads != 1 || len(f.inbox) != 1 || f.inbox[0] != "All done." ||
		len(f.finished) != 1 || f.finished[0].Status != "completed" || f.skipChecks != 1 {
		t.Fatalf("result %+v, fake %+v", res, f)
	}
}

func TestChatRunWorkflow_ModelDownForGoodFailsAfterTheAttemptCap(t *testing.T) {
	f := &fakeChatRun{startStatus: "running", agentErrs: []error{modelDown()}}
	res := f.run(t)
	if res.Status != "failed" || f.agentCalls != ChatAgentAttempts || len(f.inbox) != 0 || len(f.finished) != 1 ||
		f.finished[0].Error != "the model failed: the model server answered 503" || f.skipChecks != 1 {
		t.Fatalf("result %+v, fake %+v", res, f)
	}
}

func TestChatRunWorkflow_BudgetSpentIsNotRetried(t *testing.T) {
	budget := temporal.NewNonRetryableApplicationError("daily model token budget spent", ChatBudgetError, errors.New("budget"))
	f := &fakeChatRun{startStatus: "running", agentErrs: []error{budget}}
	res := f.run(t)
	if res.Status != "failed" || f.agentCalls != 1 || f.finished[0].Error != "daily model token budget spent" {
		t.Fatalf("result %+v, fake %+v", res, f)
	}
}

func TestChatRunWorkflow_SkippedRunMakesNoThread(t *testing.T) {
	f := &fakeChatRun{startStatus: "skipped"}
	res := f.run(t)
	if res.Status != "skipped" || f.threads != 0 || f.agentCalls != 0 || len(f.finished) != 0 || len(f.inbox) != 0 {
		t.Fatalf("result %+v, fake %+v", res, f)
	}
}

func TestChatRunWorkflow_DeletedScheduleEndsQuietly(t *testing.T) {
	f := &fakeChatRun{startErr: temporal.NewNonRetryableApplicationError("gone", ChatRunGoneError, nil)}
	res := f.run(t)
	if res.Status != "gone" || f.threads != 0 || len(f.finished) != 0 {
		t.Fatalf("result %+v, fake %+v", res, f)
	}
}
