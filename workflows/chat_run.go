package workflows

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ChatScheduleID is the Temporal Schedule of one chat schedule.
func ChatScheduleID(scheduleID string) string { return "chat-schedule-" + scheduleID }

// ChatRunWorkflowIDBase is the workflow id a chat schedule's action names.
// For each action Temporal appends "-" and the scheduled time (UTC, RFC 3339,
// whole seconds), so a run's id is ChatRunWorkflowID.
func ChatRunWorkflowIDBase(scheduleID string) string { return "chat-run-" + scheduleID }

// ChatRunWorkflowID is the id Temporal gives the run of a chat schedule
// scheduled (or triggered) at t.
func ChatRunWorkflowID(scheduleID string, t time.Time) string {
	return ChatRunWorkflowIDBase(scheduleID) + "-" + t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// ChatRunWorkflowName is the registered name of ChatRun.ChatRunWorkflow.
const ChatRunWorkflowName = "ChatRunWorkflow"

// Search attributes on every ChatRunWorkflow (set on the Schedule's action),
// so an operator finds a user's or a tracer's runs in the Temporal UI.
var (
	SearchAttrUserID   = temporal.NewSearchAttributeKeyKeyword("OfficexUserId")
	SearchAttrTracerID = temporal.NewSearchAttributeKeyKeyword("OfficexTracerId")
)

// Error types of the chat run's activities that no retry can fix.
const (
	// ChatRunGoneError: the schedule, the run or its thread was deleted.
	ChatRunGoneError = "ChatRunGone"
	// ChatBudgetError: the user's daily model-token budget is spent.
	ChatBudgetError = "ChatBudgetExceeded"
	// ChatInvalidError: the schedule's prompt or apps are refused by the agent.
	ChatInvalidError = "ChatInvalid"
	// ChatAgentUnavailableError: no model is configured (OPENAI_API_KEY unset).
	ChatAgentUnavailableError = "ChatAgentUnavailable"
)

// Bounds of a chat run.
const (
	// ChatAgentAttemptTimeout bounds one attempt of the agent: longer than
	// the agent's own turn limit (chat.TurnTimeout, 5 minutes).
	ChatAgentAttemptTimeout = 6 * time.Minute
	// ChatAgentHeartbeat: an attempt whose worker stopped heartbeating this
	// long is retried elsewhere.
	ChatAgentHeartbeat = 30 * time.Second
	// ChatAgentAttempts bounds the model calls one run may make on errors.
	ChatAgentAttempts = 5
	// DefaultChatAgentRetry is the first backoff after a model error (doubling,
	// at most ChatAgentMaxRetryInterval).
	DefaultChatAgentRetry     = 5 * time.Second
	ChatAgentMaxRetryInterval = 2 * time.Minute
	// MaxChatRunErrorLen bounds a failed run's reason.
	MaxChatRunErrorLen = 2000
)

// ChatRunInput names the schedule; everything else is read from the
// database when the run starts, so edits apply to the next run.
// RetryInitial overrides DefaultChatAgentRetry (tests).
type ChatRunInput struct {
	ScheduleID   string
	RetryInitial time.Duration
}

// ChatRunResult is how the run ended.
type ChatRunResult struct {
	RunID    string
	Status   string // completed, failed, skipped; "gone" when the schedule was deleted before it started
	ThreadID string
	Error    string
}

// ChatRunStart is what StartChatRun records: the run of the schedule keyed
// by the workflow id.
type ChatRunStart struct {
	ScheduleID string
	RunKey     string
}

// ChatRunState is a recorded run.
type ChatRunState struct {
	RunID  string
	Status string // running, or skipped / completed / failed when already decided
}

// ChatRunReply is the agent's answer. Text is cut to the inbox's 2,000
// characters: the full answer is in the thread.
type ChatRunReply struct {
	MessageID    string
	Text         string
	FinishReason string
	InputTokens  int64
	OutputTokens int64
}

// ChatRunFinish closes a run.
type ChatRunFinish struct {
	RunID  string
	Status string // completed or failed
	Error  string
}

// ChatRunActivities are the activities of ChatRunWorkflow; the worker binds
// activities.Chat, tests a fake. Each is idempotent by the run (see there).
type ChatRunActivities interface {
	StartChatRun(ctx context.Context, in ChatRunStart) (ChatRunState, error)
	CreateChatRunThread(ctx context.Context, runID string) (string, error)
	RunChatAgent(ctx context.Context, runID string) (ChatRunReply, error)
	PostChatRunInbox(ctx context.Context, runID, text string) error
	FinishChatRun(ctx context.Context, in ChatRunFinish) error
	RecordChatRunSkips(ctx context.Context, scheduleID string) error
}

// ChatRun is ChatRunWorkflow bound to its activities, which it calls by
// method reference (an interface, since activities/ imports this package).
type ChatRun struct {
	Acts ChatRunActivities
}

// ChatRunWorkflow is one scheduled agent run: record the run (skipped for a
// suspended user), make its thread with the schedule's tracer and project,
// run the agent (heartbeating, retried with backoff on model errors), post
// the answer to the user's inbox, close the run, and record any actions
// Temporal skipped while this run ran.
func (w ChatRun) ChatRunWorkflow(ctx workflow.Context, in ChatRunInput) (ChatRunResult, error) {
	a := w.Acts
	dbCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// Database steps retry until the database answers.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, NonRetryableErrorTypes: []string{ChatRunGoneError}},
	})
	var st ChatRunState
	start := ChatRunStart{ScheduleID: in.ScheduleID, RunKey: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if err := workflow.ExecuteActivity(dbCtx, a.StartChatRun, start).Get(ctx, &st); err != nil {
		if isAppError(err, ChatRunGoneError) {
			return ChatRunResult{Status: "gone"}, nil
		}
		return ChatRunResult{}, err
	}
	res := ChatRunResult{RunID: st.RunID, Status: st.Status}
	if st.Status != "running" {
		return res, nil
	}
	err := workflow.ExecuteActivity(dbCtx, a.CreateChatRunThread, st.RunID).Get(ctx, &res.ThreadID)
	if err == nil {
		retry := in.RetryInitial
		if retry <= 0 {
			retry = DefaultChatAgentRetry
		}
		agentCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: ChatAgentAttemptTimeout,
			HeartbeatTimeout:    ChatAgentHeartbeat,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: retry, BackoffCoefficient: 2,
				MaximumInterval: ChatAgentMaxRetryInterval, MaximumAttempts: ChatAgentAttempts,
				NonRetryableErrorTypes: []string{ChatRunGoneError, ChatBudgetError, ChatInvalidError, ChatAgentUnavailableError}},
		})
		var reply ChatRunReply
		err = workflow.ExecuteActivity(agentCtx, a.RunChatAgent, st.RunID).Get(ctx, &reply)
		if err == nil {
			err = workflow.ExecuteActivity(dbCtx, a.PostChatRunInbox, st.RunID, reply.Text).Get(ctx, nil)
		}
	}
	fin := ChatRunFinish{RunID: st.RunID, Status: "completed"}
	if err != nil {
		fin.Status, fin.Error = "failed", runFailure(err)
	}
	if err := workflow.ExecuteActivity(dbCtx, a.FinishChatRun, fin).Get(ctx, nil); err != nil {
		return res, err
	}
	res.Status, res.Error = fin.Status, fin.Error
	if err := workflow.ExecuteActivity(dbCtx, a.RecordChatRunSkips, in.ScheduleID).Get(ctx, nil); err != nil {
		return res, err
	}
	return res, nil
}

func isAppError(err error, typ string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == typ
}

// runFailure is the reason a run failed, as the user sees it: the
// activity's own message, not Temporal's wrapping.
func runFailure(err error) string {
	msg := err.Error()
	var appErr *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr):
		msg = appErr.Message()
	case errors.As(err, &timeout):
		msg = "the agent did not finish in time (" + timeout.TimeoutType().String() + ")"
	}
	if utf8.RuneCountInString(msg) > MaxChatRunErrorLen {
		msg = string([]rune(msg)[:MaxChatRunErrorLen])
	}
	return msg
}
