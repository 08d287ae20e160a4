package schedules

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/chat"
)

// ErrGone is a run whose schedule or thread was deleted while it ran.
var ErrGone = errors.New("the schedule or the run's thread was deleted")

// Statuses of a run.
const (
	RunRunning   = "running"
	RunCompleted = "completed"
	RunFailed    = "failed"
	RunSkipped   = "skipped"
)

// Reasons a run was skipped.
const (
	SkippedOverlap   = "skipped: the previous run of this schedule was still running"
	SkippedSuspended = "skipped: the account is suspended"
)

// MaxSkipsRecorded bounds the skipped runs one call records (Temporal's
// counter may have run far ahead, e.g. after a long outage of the worker).
const MaxSkipsRecorded = 100

// Trigger runs user's schedule once now, through its Temporal Schedule (so
// the run is one of the schedule's actions in the Temporal UI, and the
// overlap policy applies), and returns the run: running, or skipped when the
// previous run is still going.
func (s *Service) Trigger(ctx context.Context, user, id uuid.UUID) (Run, error) {
	row, err := dbgen.New(s.pool).GetChatSchedule(ctx, dbgen.GetChatScheduleParams{ID: id, UserID: user})
	if db.IsNotFound(err) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, err
	}
	tctx, cancel := context.WithTimeout(ctx, s.opt.TriggerWait)
	defer cancel()
	h := s.temporal.ScheduleClient().GetHandle(tctx, temporalID(id))
	before, err := h.Describe(tctx)
	if err != nil {
		return Run{}, s.temporalFailed("describe", id, err)
	}
	if err := h.Trigger(tctx, client.ScheduleTriggerOptions{}); err != nil {
		return Run{}, s.temporalFailed("trigger", id, err)
	}
	tick := time.NewTicker(triggerPoll)
	defer tick.Stop()
	for {
		desc, err := h.Describe(tctx)
		if err != nil {
			return Run{}, s.temporalFailed("describe", id, err)
		}
		if desc.Info.NumActions > before.Info.NumActions {
			if key := newestAction(desc); key != "" {
				return s.ensureRun(ctx, row, key)
			}
		}
		if skipped := desc.Info.NumActionsSkippedOverlap; skipped > before.Info.NumActionsSkippedOverlap {
			if _, err := s.recordSkips(ctx, id, skipped); err != nil {
				return Run{}, err
			}
			return s.runByKey(ctx, skipKey(id, skipped))
		}
		select {
		case <-tctx.Done():
			return Run{}, s.temporalFailed("wait for the triggered action of", id, tctx.Err())
		case <-tick.C:
		}
	}
}

// temporalFailed logs what Temporal answered and returns ErrTemporal, whose
// text is fit for the caller.
func (s *Service) temporalFailed(op string, id uuid.UUID, err error) error {
	s.log.Warn("Temporal call for a schedule failed", "op", op, "schedule", temporalID(id), "error", err.Error())
	return ErrTemporal
}

// newestAction is the workflow id of the schedule's latest action.
func newestAction(desc *client.ScheduleDescription) string {
	var newest client.ScheduleActionResult
	for _, a := range desc.Info.RecentActions {
		if a.StartWorkflowResult != nil && !a.ActualTime.Before(newest.ActualTime) {
			newest = a
		}
	}
	if newest.StartWorkflowResult == nil {
		return ""
	}
	return newest.StartWorkflowResult.WorkflowID
}

func skipKey(schedule uuid.UUID, n int) string {
	return "skip-" + schedule.String() + "-" + strconv.Itoa(n)
}

// ensureRun records the run keyed key as running unless it is recorded.
func (s *Service) ensureRun(ctx context.Context, row dbgen.ChatSchedule, key string) (Run, error) {
	q := dbgen.New(s.pool)
	r, err := q.InsertChatScheduleRun(ctx, dbgen.InsertChatScheduleRunParams{ScheduleID: row.ID, UserID: row.UserID, RunKey: key,
		TracerID: row.TracerID, ProjectID: row.ProjectID, Title: row.Title, Status: RunRunning})
	if db.IsNotFound(err) {
		return s.runByKey(ctx, key)
	}
	if err != nil {
		return Run{}, err
	}
	return runFrom(r), nil
}

func (s *Service) runByKey(ctx context.Context, key string) (Run, error) {
	r, err := dbgen.New(s.pool).GetChatScheduleRunByKey(ctx, key)
	if err != nil {
		return Run{}, fmt.Errorf("get run %s: %w", key, err)
	}
	return runFrom(r), nil
}

// RecordSkips records a skipped run for each action Temporal skipped for
// overlap that has none yet. The ChatRunWorkflow calls it as it ends, since
// skips happen only while a run runs; a trigger that was skipped records
// its own at once. A schedule gone from Temporal has nothing to record.
func (s *Service) RecordSkips(ctx context.Context, id uuid.UUID) error {
	desc, err := s.temporal.ScheduleClient().GetHandle(ctx, temporalID(id)).Describe(ctx)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe %s: %w", temporalID(id), err)
	}
	_, err = s.recordSkips(ctx, id, desc.Info.NumActionsSkippedOverlap)
	return err
}

// recordSkips brings the schedule's recorded skips up to Temporal's count
// total, one skipped run per skip, keyed by its number: idempotent.
func (s *Service) recordSkips(ctx context.Context, id uuid.UUID, total int) (int, error) {
	added := 0
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		row, err := q.GetChatScheduleByID(ctx, id)
		if db.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		recorded, err := q.GetChatScheduleSkipsForUpdate(ctx, id)
		if err != nil {
			return err
		}
		from := max(int(recorded), total-MaxSkipsRecorded)
		now := time.Now()
		for n := from + 1; n <= total; n++ {
			reason := SkippedOverlap
			_, err := q.InsertChatScheduleRun(ctx, dbgen.InsertChatScheduleRunParams{ScheduleID: id, UserID: row.UserID,
				RunKey: skipKey(id, n), TracerID: row.TracerID, ProjectID: row.ProjectID, Title: row.Title, Status: RunSkipped,
				Error: &reason, FinishedAt: &now})
			if err != nil && !db.IsNotFound(err) {
				return err
			}
			added++
		}
		if int(recorded) != total {
			return q.SetChatScheduleSkips(ctx, dbgen.SetChatScheduleSkipsParams{ID: id, SkipsRecorded: int32(total)})
		}
		return nil
	})
	return added, err
}

// StartRun records the run keyed key (the workflow id) of a schedule:
// running, or skipped when its user is suspended. A repeat returns the run
// as recorded. ErrGone when the schedule was deleted before the run began.
func (s *Service) StartRun(ctx context.Context, id uuid.UUID, key string) (Run, error) {
	q := dbgen.New(s.pool)
	if r, err := q.GetChatScheduleRunByKey(ctx, key); err == nil {
		return runFrom(r), nil
	} else if !db.IsNotFound(err) {
		return Run{}, err
	}
	row, err := q.GetChatScheduleByID(ctx, id)
	if db.IsNotFound(err) || (err == nil && row.DeletedAt != nil) {
		return Run{}, ErrGone
	}
	if err != nil {
		return Run{}, err
	}
	user, err := q.GetUser(ctx, row.UserID)
	if err != nil {
		return Run{}, fmt.Errorf("get user: %w", err)
	}
	p := dbgen.InsertChatScheduleRunParams{ScheduleID: id, UserID: row.UserID, RunKey: key, TracerID: row.TracerID,
		ProjectID: row.ProjectID, Title: row.Title, Status: RunRunning}
	if user.Status == "suspended" {
		reason, now := SkippedSuspended, time.Now()
		p.Status, p.Error, p.FinishedAt = RunSkipped, &reason, &now
	}
	r, err := q.InsertChatScheduleRun(ctx, p)
	if db.IsNotFound(err) {
		return s.runByKey(ctx, key)
	}
	if err != nil {
		return Run{}, err
	}
	return runFrom(r), nil
}

func (s *Service) getRun(ctx context.Context, id uuid.UUID) (dbgen.ChatScheduleRun, error) {
	r, err := dbgen.New(s.pool).GetChatScheduleRun(ctx, id)
	if db.IsNotFound(err) {
		return r, ErrGone
	}
	return r, err
}

// RunThread returns the run's thread, creating it (with the run's tracer and
// project) the first time: one thread per run, however often it is asked.
func (s *Service) RunThread(ctx context.Context, runID uuid.UUID) (uuid.UUID, error) {
	run, err := s.getRun(ctx, runID)
	if err != nil {
		return uuid.Nil, err
	}
	if run.ThreadID.Valid {
		return run.ThreadID.UUID, nil
	}
	t, err := s.chats.CreateThread(ctx, run.UserID, chat.NewThread{Title: run.Title, ProjectID: run.ProjectID, TracerID: &run.TracerID})
	if err != nil {
		return uuid.Nil, err
	}
	set, err := dbgen.New(s.pool).SetChatScheduleRunThread(ctx, dbgen.SetChatScheduleRunThreadParams{ID: runID, ThreadID: uuid.NullUUID{UUID: t.ID, Valid: true}})
	if db.IsNotFound(err) { // another attempt set one first: keep that one
		_ = s.chats.DeleteThread(ctx, run.UserID, t.ID)
		run, err = s.getRun(ctx, runID)
		if err != nil {
			return uuid.Nil, err
		}
		if !run.ThreadID.Valid {
			return uuid.Nil, ErrGone
		}
		return run.ThreadID.UUID, nil
	}
	if err != nil {
		return uuid.Nil, err
	}
	return set.UUID, nil
}

// Reply is the agent's recorded answer of a run.
type Reply struct {
	MessageID    uuid.UUID
	Excerpt      string // the first MaxInboxTextLen characters
	FinishReason string
	Usage        chat.Usage
}

// PrepareTurn is the agent's turn of a run, read from the schedule now, in
// the run's thread emptied of what an earlier attempt left. When the answer
// was already saved by an earlier attempt, it returns that instead.
func (s *Service) PrepareTurn(ctx context.Context, runID uuid.UUID) (chat.Turn, *Reply, error) {
	run, err := s.getRun(ctx, runID)
	if err != nil {
		return chat.Turn{}, nil, err
	}
	if run.ReplyMessageID.Valid {
		r := &Reply{MessageID: run.ReplyMessageID.UUID, Usage: chat.Usage{InputTokens: run.InputTokens, OutputTokens: run.OutputTokens}}
		if run.ReplyExcerpt != nil {
			r.Excerpt = *run.ReplyExcerpt
		}
		if run.FinishReason != nil {
			r.FinishReason = *run.FinishReason
		}
		return chat.Turn{}, r, nil
	}
	if !run.ThreadID.Valid {
		return chat.Turn{}, nil, ErrGone
	}
	q := dbgen.New(s.pool)
	row, err := q.GetChatScheduleByID(ctx, run.ScheduleID)
	if db.IsNotFound(err) || (err == nil && row.DeletedAt != nil) {
		return chat.Turn{}, nil, ErrGone
	}
	if err != nil {
		return chat.Turn{}, nil, err
	}
	if err := q.ResetChatThreadMessages(ctx, run.ThreadID.UUID); err != nil {
		return chat.Turn{}, nil, fmt.Errorf("empty the run's thread: %w", err)
	}
	turn := chat.Turn{UserID: run.UserID, ThreadID: run.ThreadID.UUID, Prompt: row.Prompt, IncludeApps: row.IncludeApps}
	if row.SystemPrompt != nil {
		turn.SystemPrompt = *row.SystemPrompt
	}
	return turn, nil, nil
}

// SaveReply records the agent's answer on the run, so a retry returns it.
func (s *Service) SaveReply(ctx context.Context, runID uuid.UUID, res chat.TurnResult) (Reply, error) {
	r := Reply{MessageID: res.MessageID, Excerpt: excerpt(res.Text, MaxInboxTextLen), FinishReason: res.FinishReason, Usage: res.Usage}
	err := dbgen.New(s.pool).SaveChatScheduleRunReply(ctx, dbgen.SaveChatScheduleRunReplyParams{ID: runID,
		ReplyMessageID: uuid.NullUUID{UUID: res.MessageID, Valid: true}, ReplyExcerpt: &r.Excerpt, FinishReason: &r.FinishReason,
		InputTokens: res.Usage.InputTokens, OutputTokens: res.Usage.OutputTokens})
	return r, err
}

func excerpt(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// ThreadPath is the API path of a thread.
func ThreadPath(thread uuid.UUID) string { return "/v1/users/me/chats/" + thread.String() }

// noTextAnswer stands in the inbox for an answer that had no text.
const noTextAnswer = "The scheduled run finished without a text answer; the thread has the details."

// PostInbox tells the run's user about its answer: once per run, however
// often it is called.
func (s *Service) PostInbox(ctx context.Context, runID uuid.UUID, text string) error {
	run, err := s.getRun(ctx, runID)
	if err != nil {
		return err
	}
	var url *string
	if run.ThreadID.Valid {
		u := s.opt.PublicURL + ThreadPath(run.ThreadID.UUID)
		url = &u
	}
	text = excerpt(text, MaxInboxTextLen)
	if text == "" {
		text = noTextAnswer
	}
	return dbgen.New(s.pool).InsertPlatformInboxMessage(ctx, dbgen.InsertPlatformInboxMessageParams{UserID: run.UserID,
		ExternalID: "chat-run-" + run.ID.String(), Title: run.Title, Body: text, Url: url})
}

// FinishRun closes a running run as completed or failed; a closed one is
// left as it is.
func (s *Service) FinishRun(ctx context.Context, runID uuid.UUID, status, reason string) error {
	var errText *string
	if reason != "" {
		errText = &reason
	}
	_, err := dbgen.New(s.pool).FinishChatScheduleRun(ctx, dbgen.FinishChatScheduleRunParams{ID: runID, Status: status, Error: errText})
	if db.IsNotFound(err) {
		return nil
	}
	return err
}
