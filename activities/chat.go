package activities

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/officex/officex/internal/chat"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/workflows"
)

// Chat are the activities of ChatRunWorkflow (workflows.ChatRunActivities):
// the scheduled run's records and the agent's turn.
type Chat struct {
	Schedules *schedules.Service
	Agent     *chat.Agent // nil: no model configured, runs fail saying so
}

var _ workflows.ChatRunActivities = (*Chat)(nil)

// chatHeartbeatEvery keeps an attempt alive while the agent waits on a slow
// model or an app's API and the stream is silent.
const chatHeartbeatEvery = 10 * time.Second

func parseRunID(id string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, temporal.NewNonRetryableApplicationError("bad run id", workflows.ChatRunGoneError, err)
	}
	return u, nil
}

// gone makes ErrGone non-retryable; other errors pass.
func gone(err error) error {
	if errors.Is(err, schedules.ErrGone) || errors.Is(err, chat.ErrThreadNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), workflows.ChatRunGoneError, err)
	}
	return err
}

// StartChatRun records the run; idempotent by the run key (the workflow id).
func (a *Chat) StartChatRun(ctx context.Context, in workflows.ChatRunStart) (workflows.ChatRunState, error) {
	id, err := uuid.Parse(in.ScheduleID)
	if err != nil {
		return workflows.ChatRunState{}, temporal.NewNonRetryableApplicationError("bad schedule id", workflows.ChatRunGoneError, err)
	}
	run, err := a.Schedules.StartRun(ctx, id, in.RunKey)
	if err != nil {
		return workflows.ChatRunState{}, gone(err)
	}
	return workflows.ChatRunState{RunID: run.ID.String(), Status: run.Status}, nil
}

// CreateChatRunThread makes the run's thread; idempotent: the thread id is
// stored on the run, and a second thread made by a racing attempt is removed.
func (a *Chat) CreateChatRunThread(ctx context.Context, runID string) (string, error) {
	id, err := parseRunID(runID)
	if err != nil {
		return "", err
	}
	t, err := a.Schedules.RunThread(ctx, id)
	if err != nil {
		return "", gone(err)
	}
	return t.String(), nil
}

// RunChatAgent answers the schedule's prompt in the run's thread. Idempotent
// by the run: an attempt first empties the thread of what a failed attempt
// saved, and once an answer is recorded a retry returns it without asking
// the model again. It heartbeats while the model streams.
func (a *Chat) RunChatAgent(ctx context.Context, runID string) (workflows.ChatRunReply, error) {
	if a.Agent == nil {
		return workflows.ChatRunReply{}, temporal.NewNonRetryableApplicationError(
			"the chat agent is not configured: set OPENAI_API_KEY (and OPENAI_BASE_URL) on the worker", workflows.ChatAgentUnavailableError, nil)
	}
	id, err := parseRunID(runID)
	if err != nil {
		return workflows.ChatRunReply{}, err
	}
	turn, done, err := a.Schedules.PrepareTurn(ctx, id)
	if err != nil {
		return workflows.ChatRunReply{}, gone(err)
	}
	if done != nil {
		return replyOf(*done), nil
	}
	stop := keepAlive(ctx)
	res, err := a.Agent.RunTurn(ctx, turn, heartbeatSink{ctx})
	stop()
	if err != nil {
		return workflows.ChatRunReply{}, agentError(err)
	}
	reply, err := a.Schedules.SaveReply(ctx, id, res)
	if err != nil {
		return workflows.ChatRunReply{}, err
	}
	return replyOf(reply), nil
}

func replyOf(r schedules.Reply) workflows.ChatRunReply {
	return workflows.ChatRunReply{MessageID: r.MessageID.String(), Text: r.Excerpt, FinishReason: r.FinishReason,
		InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens}
}

// agentError sorts the agent's failures: the model's are retried with
// backoff, the budget's and bad input's are final.
func agentError(err error) error {
	var budget *chat.BudgetExceededError
	switch {
	case errors.As(err, &budget):
		return temporal.NewNonRetryableApplicationError(budget.Error(), workflows.ChatBudgetError, err)
	case errors.Is(err, chat.ErrInvalid):
		return temporal.NewNonRetryableApplicationError(err.Error(), workflows.ChatInvalidError, err)
	case errors.Is(err, chat.ErrThreadNotFound):
		return gone(err)
	case errors.Is(err, chat.ErrModel):
		return temporal.NewApplicationError(err.Error(), "ChatModel")
	}
	return err
}

// keepAlive heartbeats every chatHeartbeatEvery until stopped: the attempt's
// worker is alive even while nothing streams (a tool call, a slow model).
func keepAlive(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(chatHeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// heartbeatSink is the agent's Sink of a scheduled run: progress is a
// heartbeat (the SDK batches them), never a stream.
type heartbeatSink struct{ ctx context.Context }

func (s heartbeatSink) Status(status, _ string)                  { activity.RecordHeartbeat(s.ctx, status) }
func (s heartbeatSink) TextDelta(string)                         { activity.RecordHeartbeat(s.ctx) }
func (s heartbeatSink) ToolCall(c chat.ToolCall)                 { activity.RecordHeartbeat(s.ctx, "tool "+c.Name) }
func (s heartbeatSink) ToolResult(_, _ string, _ bool, _ string) { activity.RecordHeartbeat(s.ctx) }

// PostChatRunInbox posts the answer to the user's inbox; idempotent by the
// run id (one message however often it runs).
func (a *Chat) PostChatRunInbox(ctx context.Context, runID, text string) error {
	id, err := parseRunID(runID)
	if err != nil {
		return err
	}
	return gone(a.Schedules.PostInbox(ctx, id, text))
}

// FinishChatRun closes the run; idempotent (only a running run changes).
func (a *Chat) FinishChatRun(ctx context.Context, in workflows.ChatRunFinish) error {
	id, err := parseRunID(in.RunID)
	if err != nil {
		return err
	}
	return a.Schedules.FinishRun(ctx, id, in.Status, in.Error)
}

// RecordChatRunSkips records the actions Temporal skipped while the run ran;
// idempotent by the skip's number.
func (a *Chat) RecordChatRunSkips(ctx context.Context, scheduleID string) error {
	id, err := uuid.Parse(scheduleID)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("bad schedule id", workflows.ChatRunGoneError, err)
	}
	return a.Schedules.RecordSkips(ctx, id)
}
