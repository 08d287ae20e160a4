// Package schedules owns scheduled chat runs: the schedule rows, their
// Temporal Schedules (chat-schedule-<id>, kept equal to the rows by sync.go
// and the worker's reconciler), and the run records the ChatRunWorkflow
// writes through its activities.
//
// What it must not do: hold a database transaction or lock across a call to
// Temporal; answer a schedule as changed before its row is committed; run the
// agent itself (activities/chat.go does, with this package's records).
package schedules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/chat"
)

// Limits of a schedule (the numbers; the rest are chat's).
const (
	MaxTitleLen         = 200
	MaxPromptLen        = 20_000
	MaxSystemPromptLen  = chat.MaxSystemPromptLen
	MaxIncludeApps      = chat.MaxIncludeApps
	MaxIncludeAppLen    = 100 // an app id (36) or slug (80)
	MaxSchedulesPerUser = 20
	MaxTimezoneLen      = 64
	MaxCronLen          = 100
	// MinInterval is the shortest time between two runs, for intervals and
	// crons alike (Options.MinInterval lowers it in tests).
	MinInterval = 5 * time.Minute
	// MaxInterval is the longest interval_seconds.
	MaxInterval = 366 * 24 * time.Hour
	// MaxTracerItems bounds each list of the tracer timeline (the latest).
	MaxTracerItems = 100
	// MaxInboxTextLen is how much of the answer the inbox message carries.
	MaxInboxTextLen = 2000
)

// Errors of schedule operations; api/ maps them to the reference's codes.
var (
	ErrNotFound = errors.New("schedule not found")
	ErrInvalid  = errors.New("invalid schedule")
	// ErrTemporal is Temporal not answering a call the request needs now
	// (trigger); row changes never wait for it (see sync.go).
	ErrTemporal = errors.New("the workflow engine is not reachable; try again shortly")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Options configure a Service.
type Options struct {
	// TaskQueue is where the schedules' runs go.
	TaskQueue string
	// MinInterval overrides MinInterval (tests only; zero: MinInterval).
	MinInterval time.Duration
	// RunRetryInitial overrides workflows.DefaultChatAgentRetry (tests).
	RunRetryInitial time.Duration
	// PublicURL prefixes the thread link of inbox messages (empty: a path).
	PublicURL string
	// SyncTimeout bounds one application of a row to Temporal (zero: DefaultSyncTimeout).
	SyncTimeout time.Duration
	// TriggerWait bounds how long a trigger waits for Temporal to act (zero: DefaultTriggerWait).
	TriggerWait time.Duration
}

// Service keeps schedules and their runs.
type Service struct {
	pool     *pgxpool.Pool
	temporal client.Client
	chats    *chat.Service
	opt      Options
	log      *slog.Logger
}

// New makes a Service; temporal is the client its Temporal Schedules are
// managed with.
func New(pool *pgxpool.Pool, temporal client.Client, chats *chat.Service, opt Options, log *slog.Logger) *Service {
	if opt.MinInterval <= 0 {
		opt.MinInterval = MinInterval
	}
	if opt.SyncTimeout <= 0 {
		opt.SyncTimeout = DefaultSyncTimeout
	}
	if opt.TriggerWait <= 0 {
		opt.TriggerWait = DefaultTriggerWait
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{pool: pool, temporal: temporal, chats: chats, opt: opt, log: log}
}

// Run is one run of a schedule.
type Run struct {
	ID         uuid.UUID
	ScheduleID uuid.UUID
	UserID     uuid.UUID
	Key        string // the workflow id (skip-... for an action Temporal skipped)
	TracerID   string
	ThreadID   *uuid.UUID
	Status     string // running, completed, failed, skipped
	Error      *string
	Usage      chat.Usage
	StartedAt  time.Time
	FinishedAt *time.Time
}

func runFrom(r dbgen.ChatScheduleRun) Run {
	out := Run{ID: r.ID, ScheduleID: r.ScheduleID, UserID: r.UserID, Key: r.RunKey, TracerID: r.TracerID, Status: r.Status,
		Error: r.Error, Usage: chat.Usage{InputTokens: r.InputTokens, OutputTokens: r.OutputTokens},
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if r.ThreadID.Valid {
		out.ThreadID = &r.ThreadID.UUID
	}
	return out
}

// Schedule is a schedule as the API shows it.
type Schedule struct {
	Fields
	ID        uuid.UUID
	UserID    uuid.UUID
	LastRun   *Run
	NextRunAt *time.Time
	// NextRunFrom says where NextRunAt came from: "temporal" (the Schedule's
	// own next action time) or "computed" (from the spec, here).
	NextRunFrom string
	// Synced is false while the Temporal Schedule lags the row (see sync.go).
	Synced    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Fields are a schedule's editable fields, complete.
type Fields struct {
	Title           string
	Prompt          string
	SystemPrompt    *string
	Cron            *string
	IntervalSeconds *int
	Timezone        string
	TracerID        string
	ProjectID       *string
	IncludeApps     []string
	Paused          bool
}

func scheduleFrom(r dbgen.ChatSchedule) Schedule {
	s := Schedule{ID: r.ID, UserID: r.UserID, Synced: r.SyncedVersion >= r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Fields: Fields{Title: r.Title, Prompt: r.Prompt, SystemPrompt: r.SystemPrompt, Cron: r.Cron, Timezone: r.Timezone,
			TracerID: r.TracerID, ProjectID: r.ProjectID, IncludeApps: r.IncludeApps, Paused: r.Paused}}
	if r.IntervalSeconds != nil {
		n := int(*r.IntervalSeconds)
		s.IntervalSeconds = &n
	}
	if s.IncludeApps == nil {
		s.IncludeApps = []string{}
	}
	return s
}

// validate checks every field; minInterval is the service's.
func (f *Fields) validate(minInterval time.Duration) error {
	if n := utf8.RuneCountInString(f.Title); n == 0 || n > MaxTitleLen {
		return invalidf("title: 1-%d characters", MaxTitleLen)
	}
	if strings.TrimSpace(f.Prompt) == "" || utf8.RuneCountInString(f.Prompt) > MaxPromptLen {
		return invalidf("prompt: 1-%d characters, not blank", MaxPromptLen)
	}
	if f.SystemPrompt != nil && utf8.RuneCountInString(*f.SystemPrompt) > MaxSystemPromptLen {
		return invalidf("system_prompt: at most %d characters", MaxSystemPromptLen)
	}
	if err := checkTiming(f.Cron, f.IntervalSeconds, f.Timezone, minInterval); err != nil {
		return err
	}
	if err := chat.ValidTracerID(f.TracerID); err != nil {
		return invalidf("%s", strings.TrimPrefix(err.Error(), chat.ErrInvalid.Error()+": "))
	}
	if f.ProjectID != nil && (*f.ProjectID == "" || utf8.RuneCountInString(*f.ProjectID) > chat.MaxProjectIDLen) {
		return invalidf("project_id: 1-%d characters", chat.MaxProjectIDLen)
	}
	if len(f.IncludeApps) > MaxIncludeApps {
		return invalidf("include_apps: at most %d entries", MaxIncludeApps)
	}
	for i, a := range f.IncludeApps {
		if strings.TrimSpace(a) == "" || utf8.RuneCountInString(a) > MaxIncludeAppLen {
			return invalidf("include_apps[%d]: an app id or slug of 1-%d characters", i, MaxIncludeAppLen)
		}
	}
	return nil
}

// Create stores a schedule and applies it to Temporal; when Temporal does not
// answer, the schedule is returned anyway, pending, and the worker's
// reconciler creates its Temporal Schedule later. Empty Title, Timezone and
// TracerID get their defaults (the prompt's first line, UTC, a new tracer id).
func (s *Service) Create(ctx context.Context, user uuid.UUID, f Fields) (Schedule, error) {
	if f.Title == "" {
		f.Title = chat.TitleFrom(f.Prompt)
	}
	if f.Timezone == "" {
		f.Timezone = "UTC"
	}
	if f.TracerID == "" {
		f.TracerID = chat.NewTracerID(time.Now())
	}
	if err := f.validate(s.opt.MinInterval); err != nil {
		return Schedule{}, err
	}
	var row dbgen.ChatSchedule
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		if _, err := q.LockUserSchedules(ctx, user); err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		n, err := q.CountUserSchedules(ctx, user)
		if err != nil {
			return err
		}
		if n >= MaxSchedulesPerUser {
			return invalidf("a user may have at most %d schedules; delete one first", MaxSchedulesPerUser)
		}
		row, err = q.InsertChatSchedule(ctx, insertParams(user, f))
		return err
	})
	if err != nil {
		return Schedule{}, err
	}
	return s.afterChange(ctx, row), nil
}

func insertParams(user uuid.UUID, f Fields) dbgen.InsertChatScheduleParams {
	return dbgen.InsertChatScheduleParams{UserID: user, Title: f.Title, Prompt: f.Prompt, SystemPrompt: f.SystemPrompt,
		Cron: f.Cron, IntervalSeconds: int32Ptr(f.IntervalSeconds), Timezone: f.Timezone, TracerID: f.TracerID,
		ProjectID: f.ProjectID, IncludeApps: nonNil(f.IncludeApps), Paused: f.Paused, GraceSeconds: graceSeconds}
}

var graceSeconds = int32(SyncGrace / time.Second)

func int32Ptr(p *int) *int32 {
	if p == nil {
		return nil
	}
	n := int32(*p)
	return &n
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// afterChange applies a committed row to Temporal at once (the usual case)
// and answers the schedule as it is then.
func (s *Service) afterChange(ctx context.Context, row dbgen.ChatSchedule) Schedule {
	s.Sync(ctx, row.ID)
	if cur, err := dbgen.New(s.pool).GetChatScheduleByID(ctx, row.ID); err == nil {
		row = cur
	}
	sch := scheduleFrom(row)
	s.computeNext(&sch, time.Now())
	return sch
}

// Get returns user's schedule with its last run; next_run_at comes from the
// Temporal Schedule when Temporal answers within a moment.
func (s *Service) Get(ctx context.Context, user, id uuid.UUID) (Schedule, error) {
	r, err := dbgen.New(s.pool).GetChatSchedule(ctx, dbgen.GetChatScheduleParams{ID: id, UserID: user})
	if db.IsNotFound(err) {
		return Schedule{}, ErrNotFound
	}
	if err != nil {
		return Schedule{}, err
	}
	sch := scheduleFrom(r)
	if err := s.attachLastRuns(ctx, []*Schedule{&sch}); err != nil {
		return Schedule{}, err
	}
	s.describeNext(ctx, &sch)
	return sch, nil
}

// List lists user's schedules newest first, limit+1 rows after the cursor;
// next_run_at is computed from each spec (no Temporal call per row).
func (s *Service) List(ctx context.Context, user uuid.UUID, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Schedule, error) {
	rows, err := dbgen.New(s.pool).ListChatSchedules(ctx, dbgen.ListChatSchedulesParams{UserID: user, AfterCreated: afterCreated,
		AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}, RowLimit: int32(limit + 1)})
	if err != nil {
		return nil, err
	}
	out := make([]Schedule, len(rows))
	ptrs := make([]*Schedule, len(rows))
	now := time.Now()
	for i, r := range rows {
		out[i] = scheduleFrom(r)
		s.computeNext(&out[i], now)
		ptrs[i] = &out[i]
	}
	return out, s.attachLastRuns(ctx, ptrs)
}

func (s *Service) attachLastRuns(ctx context.Context, list []*Schedule) error {
	if len(list) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(list))
	for i, sch := range list {
		ids[i] = sch.ID
	}
	rows, err := dbgen.New(s.pool).ListLastChatScheduleRuns(ctx, ids)
	if err != nil {
		return err
	}
	last := map[uuid.UUID]Run{}
	for _, r := range rows {
		last[r.ScheduleID] = runFrom(r)
	}
	for _, sch := range list {
		if r, ok := last[sch.ID]; ok {
			sch.LastRun = &r
		}
	}
	return nil
}

// Change is a patch of one nullable field: Set when the field was given,
// Value nil when it was given as null.
type Change[T any] struct {
	Set   bool
	Value *T
}

// Patch changes a schedule; fields not Set are left alone.
type Patch struct {
	Title, Prompt, SystemPrompt, Cron, Timezone, TracerID, ProjectID Change[string]
	IntervalSeconds                                                  Change[int]
	IncludeApps                                                      Change[[]string]
	Paused                                                           Change[bool]
}

// apply merges p into f. Setting cron clears interval_seconds and the other
// way round, unless both are given (then exactly one may be non-null).
func (p Patch) apply(f *Fields) error {
	required := func(name string, c Change[string], dst *string) error {
		if !c.Set {
			return nil
		}
		if c.Value == nil {
			return invalidf("%s cannot be null", name)
		}
		*dst = *c.Value
		return nil
	}
	for _, r := range []struct {
		name string
		c    Change[string]
		dst  *string
	}{{"title", p.Title, &f.Title}, {"prompt", p.Prompt, &f.Prompt}, {"timezone", p.Timezone, &f.Timezone}, {"tracer_id", p.TracerID, &f.TracerID}} {
		if err := required(r.name, r.c, r.dst); err != nil {
			return err
		}
	}
	if p.SystemPrompt.Set {
		f.SystemPrompt = p.SystemPrompt.Value
	}
	if p.ProjectID.Set {
		f.ProjectID = p.ProjectID.Value
	}
	if p.IncludeApps.Set {
		f.IncludeApps = nil
		if p.IncludeApps.Value != nil {
			f.IncludeApps = *p.IncludeApps.Value
		}
	}
	if p.Paused.Set {
		if p.Paused.Value == nil {
			return invalidf("paused cannot be null")
		}
		f.Paused = *p.Paused.Value
	}
	if p.Cron.Set {
		f.Cron = p.Cron.Value
		if f.Cron != nil && !p.IntervalSeconds.Set {
			f.IntervalSeconds = nil
		}
	}
	if p.IntervalSeconds.Set {
		f.IntervalSeconds = p.IntervalSeconds.Value
		if f.IntervalSeconds != nil && !p.Cron.Set {
			f.Cron = nil
		}
	}
	return nil
}

// Update applies p to user's schedule and then to its Temporal Schedule (or
// leaves that to the reconciler when Temporal does not answer).
func (s *Service) Update(ctx context.Context, user, id uuid.UUID, p Patch) (Schedule, error) {
	var row dbgen.ChatSchedule
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		cur, err := q.GetChatScheduleForUpdate(ctx, dbgen.GetChatScheduleForUpdateParams{ID: id, UserID: user})
		if db.IsNotFound(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		f := scheduleFrom(cur).Fields
		if err := p.apply(&f); err != nil {
			return err
		}
		if err := f.validate(s.opt.MinInterval); err != nil {
			return err
		}
		row, err = q.UpdateChatSchedule(ctx, dbgen.UpdateChatScheduleParams{ID: id, UserID: user, Title: f.Title, Prompt: f.Prompt,
			SystemPrompt: f.SystemPrompt, Cron: f.Cron, IntervalSeconds: int32Ptr(f.IntervalSeconds), Timezone: f.Timezone,
			TracerID: f.TracerID, ProjectID: f.ProjectID, IncludeApps: nonNil(f.IncludeApps), Paused: f.Paused,
			GraceSeconds: graceSeconds})
		return err
	})
	if err != nil {
		return Schedule{}, err
	}
	sch := s.afterChange(ctx, row)
	if err := s.attachLastRuns(ctx, []*Schedule{&sch}); err != nil {
		return Schedule{}, err
	}
	return sch, nil
}

// Delete hides user's schedule at once and removes its Temporal Schedule,
// then the row; when Temporal does not answer, the reconciler finishes it.
// Runs already going finish; the runs stay in the tracer's timeline.
func (s *Service) Delete(ctx context.Context, user, id uuid.UUID) error {
	row, err := dbgen.New(s.pool).MarkChatScheduleDeleted(ctx, dbgen.MarkChatScheduleDeletedParams{ID: id, UserID: user,
		GraceSeconds: graceSeconds})
	if db.IsNotFound(err) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	s.Sync(ctx, row.ID)
	return nil
}

// Runs lists a schedule's runs newest first, limit+1 rows after the cursor.
func (s *Service) Runs(ctx context.Context, user, id uuid.UUID, limit int, afterStarted *time.Time, afterID uuid.UUID) ([]Run, error) {
	if _, err := dbgen.New(s.pool).GetChatSchedule(ctx, dbgen.GetChatScheduleParams{ID: id, UserID: user}); db.IsNotFound(err) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	rows, err := dbgen.New(s.pool).ListChatScheduleRuns(ctx, dbgen.ListChatScheduleRunsParams{ScheduleID: id, UserID: user,
		AfterStarted: afterStarted, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterStarted != nil}, RowLimit: int32(limit + 1)})
	if err != nil {
		return nil, err
	}
	out := make([]Run, len(rows))
	for i, r := range rows {
		out[i] = runFrom(r)
	}
	return out, nil
}

// Tracer is everything one tracer id links, oldest first: the threads
// (scheduled runs' and the chat stream's alike) and the runs.
func (s *Service) Tracer(ctx context.Context, user uuid.UUID, tracerID string) ([]chat.Thread, []Run, error) {
	if err := chat.ValidTracerID(tracerID); err != nil {
		return nil, nil, err
	}
	threads, err := s.chats.ListThreads(ctx, user, chat.ThreadFilter{TracerID: &tracerID}, MaxTracerItems-1, nil, uuid.Nil)
	if err != nil {
		return nil, nil, err
	}
	rows, err := dbgen.New(s.pool).ListChatScheduleRunsByTracer(ctx, dbgen.ListChatScheduleRunsByTracerParams{UserID: user,
		TracerID: tracerID, RowLimit: MaxTracerItems})
	if err != nil {
		return nil, nil, err
	}
	runs := make([]Run, len(rows))
	for i, r := range rows {
		runs[len(rows)-1-i] = runFrom(r)
	}
	for i, j := 0, len(threads)-1; i < j; i, j = i+1, j-1 {
		threads[i], threads[j] = threads[j], threads[i]
	}
	return threads, runs, nil
}
