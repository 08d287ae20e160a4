package schedules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/workflows"
)

// How a schedule row reaches Temporal.
//
// The row is the truth. Every change (create, patch, pause, delete) commits
// the row with version+1 first; then the API applies the row to Temporal
// right away (Sync) and answers. If Temporal does not answer, the row stays
// pending (synced_version < version), the answer still carries it, and the
// worker's Reconciler retries with backoff until Temporal has it. Applying is
// idempotent (describe, then create or update, pause or unpause, or delete),
// so a retry after a half-done attempt converges. Appliers take a lease on
// the row (a timestamp, not a lock) for longer than their Temporal calls may
// last, so two appliers never race on one schedule, and no transaction is
// open while Temporal is called.
const (
	// DefaultSyncTimeout bounds one application of a row to Temporal.
	DefaultSyncTimeout = 10 * time.Second
	// SyncLease outlasts any application (SyncTimeout plus the database writes).
	SyncLease = time.Minute
	// SyncGrace: the reconciler leaves a fresh change this long to the
	// request that made it (which applies it at once), and takes it after
	// that when the request's process died in between.
	SyncGrace = 15 * time.Second
	// MaxSyncRounds bounds how often Sync re-applies a row changed meanwhile.
	MaxSyncRounds = 3
	// MaxSyncBackoff bounds the reconciler's wait between attempts on one row.
	MaxSyncBackoff = 5 * time.Minute
	// ReconcileBatch rows are claimed per round; ReconcileIdle is the pause
	// when none is due.
	ReconcileBatch = 50
	ReconcileIdle  = time.Second
	// CatchupWindow: after an outage a schedule runs what it missed in the
	// last minute at most, never a burst.
	CatchupWindow = time.Minute
	// DescribeTimeout bounds the Temporal call behind a GET's next_run_at.
	DescribeTimeout = 2 * time.Second
	// DefaultTriggerWait bounds how long a trigger waits to see its action.
	DefaultTriggerWait = 10 * time.Second
	triggerPoll        = 100 * time.Millisecond
	maxSyncErrorLen    = 500
)

func temporalID(id uuid.UUID) string { return workflows.ChatScheduleID(id.String()) }

// Sync applies a pending schedule to Temporal unless another applier holds
// it; a failure is recorded on the row for the reconciler.
func (s *Service) Sync(ctx context.Context, id uuid.UUID) {
	ctx = context.WithoutCancel(ctx) // a caller gone mid-way must not leave a lease held
	q := dbgen.New(s.pool)
	for range MaxSyncRounds {
		row, err := q.ClaimChatScheduleSync(ctx, dbgen.ClaimChatScheduleSyncParams{ID: id, LeaseSeconds: int32(SyncLease / time.Second)})
		if err != nil {
			if !db.IsNotFound(err) {
				s.log.Warn("claim schedule sync", "schedule", id, "error", err.Error())
			}
			return // in step, or someone else is on it
		}
		if !s.applyLeased(ctx, row) {
			return
		}
	}
}

// applyLeased applies a leased row and records the outcome.
func (s *Service) applyLeased(ctx context.Context, row dbgen.ChatSchedule) bool {
	actx, cancel := context.WithTimeout(ctx, s.opt.SyncTimeout)
	err := s.apply(actx, row)
	cancel()
	q := dbgen.New(s.pool)
	if err != nil {
		msg := err.Error()
		if utf8.RuneCountInString(msg) > maxSyncErrorLen {
			msg = string([]rune(msg)[:maxSyncErrorLen])
		}
		s.log.Warn("Temporal Schedule not in step with its row yet; the reconciler retries", "schedule", row.ID, "error", msg)
		if ferr := q.FailChatScheduleSync(ctx, dbgen.FailChatScheduleSyncParams{ID: row.ID,
			RetrySeconds: int32(syncBackoff(int(row.SyncAttempts)) / time.Second), Error: msg}); ferr != nil {
			s.log.Warn("record schedule sync failure", "schedule", row.ID, "error", ferr.Error())
		}
		return false
	}
	if row.DeletedAt != nil {
		if _, err := q.DeleteSyncedChatSchedule(ctx, dbgen.DeleteSyncedChatScheduleParams{ID: row.ID, Applied: row.Version}); err != nil {
			s.log.Warn("delete schedule row", "schedule", row.ID, "error", err.Error())
			return false
		}
		return false
	}
	if err := q.MarkChatScheduleSynced(ctx, dbgen.MarkChatScheduleSyncedParams{ID: row.ID, Applied: row.Version}); err != nil {
		s.log.Warn("mark schedule synced", "schedule", row.ID, "error", err.Error())
		return false
	}
	return true
}

// syncBackoff is the wait after attempts failures: 1 s doubling, at most MaxSyncBackoff.
func syncBackoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 10)
	return min(d, MaxSyncBackoff)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// action is the Temporal Schedule's action for row: a ChatRunWorkflow named
// after the schedule, with the user's and the tracer's search attributes.
func (s *Service) action(row dbgen.ChatSchedule) *client.ScheduleWorkflowAction {
	id := row.ID.String()
	return &client.ScheduleWorkflowAction{
		ID: workflows.ChatRunWorkflowIDBase(id), Workflow: workflows.ChatRunWorkflowName, TaskQueue: s.opt.TaskQueue,
		Args: []any{workflows.ChatRunInput{ScheduleID: id, RetryInitial: s.opt.RunRetryInitial}},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAttrUserID.ValueSet(row.UserID.String()),
			workflows.SearchAttrTracerID.ValueSet(row.TracerID)),
	}
}

// apply makes the Temporal Schedule match row, whatever state a previous
// attempt left it in.
func (s *Service) apply(ctx context.Context, row dbgen.ChatSchedule) error {
	h := s.temporal.ScheduleClient().GetHandle(ctx, temporalID(row.ID))
	if row.DeletedAt != nil {
		if err := h.Delete(ctx); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete Temporal Schedule: %w", err)
		}
		return nil
	}
	f := scheduleFrom(row).Fields
	desc, err := h.Describe(ctx)
	if isNotFound(err) {
		_, err = s.temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: temporalID(row.ID), Spec: temporalSpec(f), Action: s.action(row),
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: CatchupWindow, Paused: row.Paused,
			Note: "OfficeX chat schedule " + row.ID.String(),
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return fmt.Errorf("create Temporal Schedule: %w", err)
		}
		if desc, err = h.Describe(ctx); err != nil {
			return fmt.Errorf("describe Temporal Schedule: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("describe Temporal Schedule: %w", err)
	}
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		sch := in.Description.Schedule
		spec := temporalSpec(f)
		sch.Spec = &spec
		sch.Action = s.action(row)
		sch.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
		sch.Policy.CatchupWindow = CatchupWindow
		// The update carries the paused state too: Temporal may apply a
		// pause sent next before this update, which must not undo it.
		sch.State.Paused = row.Paused
		return &client.ScheduleUpdate{Schedule: &sch}, nil
	}})
	if err != nil {
		return fmt.Errorf("update Temporal Schedule: %w", err)
	}
	switch {
	case row.Paused && !desc.Schedule.State.Paused:
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: "paused by its owner"})
	case !row.Paused && desc.Schedule.State.Paused:
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "resumed by its owner"})
	}
	if err != nil {
		return fmt.Errorf("pause or resume Temporal Schedule: %w", err)
	}
	return nil
}

// Reconciler applies pending schedule rows to Temporal until they are in
// step: rows whose immediate application failed (Temporal down, a crash
// between commit and call). Every worker runs one; they share rows through
// the lease.
type Reconciler struct {
	Schedules *Service
	Log       *slog.Logger
}

// Run reconciles until ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := r.Once(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("schedule reconciler failed; retrying", "error", err.Error())
		}
		pause := time.Duration(0)
		if err != nil || n < ReconcileBatch {
			pause = ReconcileIdle
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// Once applies one batch of due rows and returns how many it took.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	s := r.Schedules
	rows, err := dbgen.New(s.pool).ClaimDueChatScheduleSyncs(ctx, dbgen.ClaimDueChatScheduleSyncsParams{
		LeaseSeconds: int32(SyncLease / time.Second), RowLimit: ReconcileBatch})
	if err != nil {
		return 0, fmt.Errorf("claim pending schedules: %w", err)
	}
	for _, row := range rows {
		if s.applyLeased(ctx, row) {
			s.Sync(ctx, row.ID) // changed while applied: again, now
		}
	}
	return len(rows), nil
}
