package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/schedules"
)

// scheduleBody is a schedule as the API shows it. next_run_source says where
// next_run_at came from: "temporal" (the Temporal Schedule's next action) or
// "computed" (from the spec); temporal_sync is "pending" while the Temporal
// Schedule lags the row (the worker's reconciler catches it up).
func scheduleBody(s schedules.Schedule) map[string]any {
	var last any
	if s.LastRun != nil {
		last = map[string]any{"run_id": s.LastRun.ID, "status": s.LastRun.Status, "started_at": s.LastRun.StartedAt}
	}
	sync := "synced"
	if !s.Synced {
		sync = "pending"
	}
	return map[string]any{"schedule_id": s.ID, "title": s.Title, "prompt": s.Prompt, "system_prompt": s.SystemPrompt,
		"cron": s.Cron, "interval_seconds": s.IntervalSeconds, "timezone": s.Timezone, "tracer_id": s.TracerID,
		"project_id": s.ProjectID, "include_apps": s.IncludeApps, "paused": s.Paused, "next_run_at": s.NextRunAt,
		"next_run_source": s.NextRunFrom, "last_run": last, "temporal_sync": sync, "created_at": s.CreatedAt, "updated_at": s.UpdatedAt}
}

func runBody(r schedules.Run) map[string]any {
	b := map[string]any{"run_id": r.ID, "schedule_id": r.ScheduleID, "tracer_id": r.TracerID, "thread_id": r.ThreadID,
		"status": r.Status, "started_at": r.StartedAt, "finished_at": r.FinishedAt, "usage": r.Usage}
	if r.Error != nil {
		b["error"] = *r.Error
	}
	return b
}

// scheduleInput is the body of POST and PATCH /users/me/schedules.
type scheduleInput struct {
	Title           *string   `json:"title"`
	Prompt          *string   `json:"prompt"`
	Cron            *string   `json:"cron"`
	IntervalSeconds *int      `json:"interval_seconds"`
	Timezone        *string   `json:"timezone"`
	ProjectID       *string   `json:"project_id"`
	TracerID        *string   `json:"tracer_id"`
	IncludeApps     *[]string `json:"include_apps"`
	SystemPrompt    *string   `json:"system_prompt"`
	Paused          *bool     `json:"paused"`
}

// decodeWithPresence decodes strictly into dst and also says which fields
// the body named (null included), for patches that clear fields with null.
func decodeWithPresence(r *http.Request, dst any) (map[string]bool, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err := decode(r, dst); err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, invalid("request body must be a JSON object")
	}
	present := make(map[string]bool, len(fields))
	for k := range fields {
		present[k] = true
	}
	return present, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) error {
	var in scheduleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Prompt == nil {
		return invalid("prompt is required")
	}
	if in.TracerID != nil && *in.TracerID == "" {
		return invalid("tracer_id: leave it out to get a new one, or give 1-100 letters, digits, _ or -")
	}
	if in.Timezone != nil && *in.Timezone == "" {
		return invalid("timezone: an IANA name like Europe/Paris, or leave it out for UTC")
	}
	sch, err := s.schedules.Create(r.Context(), currentUser(r).ID, schedules.Fields{Title: deref(in.Title), Prompt: *in.Prompt,
		SystemPrompt: in.SystemPrompt, Cron: in.Cron, IntervalSeconds: in.IntervalSeconds, Timezone: deref(in.Timezone),
		TracerID: deref(in.TracerID), ProjectID: in.ProjectID, IncludeApps: deref(in.IncludeApps), Paused: deref(in.Paused)})
	if err != nil {
		return err
	}
	okStatus(w, http.StatusCreated, map[string]any{"schedule": scheduleBody(sch)})
	return nil
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.schedules.List(r.Context(), currentUser(r).ID, limit, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "schedules", list, limit, noErr(scheduleBody),
		func(x schedules.Schedule) keysetCursor { return keysetCursor{Created: x.CreatedAt, ID: x.ID} })
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", schedules.ErrNotFound)
	if err != nil {
		return err
	}
	sch, err := s.schedules.Get(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"schedule": scheduleBody(sch)})
	return nil
}

func change[T any](present map[string]bool, name string, v *T) schedules.Change[T] {
	return schedules.Change[T]{Set: present[name], Value: v}
}

func (s *Server) patchSchedule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", schedules.ErrNotFound)
	if err != nil {
		return err
	}
	var in scheduleInput
	present, err := decodeWithPresence(r, &in)
	if err != nil {
		return err
	}
	p := schedules.Patch{Title: change(present, "title", in.Title), Prompt: change(present, "prompt", in.Prompt),
		SystemPrompt: change(present, "system_prompt", in.SystemPrompt), Cron: change(present, "cron", in.Cron),
		Timezone: change(present, "timezone", in.Timezone), TracerID: change(present, "tracer_id", in.TracerID),
		ProjectID: change(present, "project_id", in.ProjectID), IntervalSeconds: change(present, "interval_seconds", in.IntervalSeconds),
		IncludeApps: change(present, "include_apps", in.IncludeApps), Paused: change(present, "paused", in.Paused)}
	sch, err := s.schedules.Update(r.Context(), currentUser(r).ID, id, p)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"schedule": scheduleBody(sch)})
	return nil
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", schedules.ErrNotFound)
	if err != nil {
		return err
	}
	if err := s.schedules.Delete(r.Context(), currentUser(r).ID, id); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}

// triggerSchedule runs the schedule once now: 202 with the run (running, or
// skipped when the previous run still runs).
func (s *Server) triggerSchedule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", schedules.ErrNotFound)
	if err != nil {
		return err
	}
	run, err := s.schedules.Trigger(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	okStatus(w, http.StatusAccepted, map[string]any{"run": runBody(run)})
	return nil
}

func (s *Server) scheduleRuns(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", schedules.ErrNotFound)
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	runs, err := s.schedules.Runs(r.Context(), currentUser(r).ID, id, limit, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "runs", runs, limit, noErr(runBody),
		func(x schedules.Run) keysetCursor { return keysetCursor{Created: x.StartedAt, ID: x.ID} })
}

// tracer is one tracer's timeline: its threads and scheduled runs, oldest first.
func (s *Server) tracer(w http.ResponseWriter, r *http.Request) error {
	tracerID := mux.Vars(r)["tracer_id"]
	threads, runs, err := s.schedules.Tracer(r.Context(), currentUser(r).ID, tracerID)
	if err != nil {
		return err
	}
	tb := make([]map[string]any, len(threads))
	for i, t := range threads {
		tb[i] = threadBody(t)
	}
	rb := make([]map[string]any, len(runs))
	for i, run := range runs {
		rb[i] = runBody(run)
	}
	ok(w, map[string]any{"tracer_id": tracerID, "threads": tb, "runs": rb})
	return nil
}
