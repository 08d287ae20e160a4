package api_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/fake/openaiserver"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

// schedStack is one test's scheduled-run stack: a fake model, a worker of
// its own whose agent asks it, and an API whose schedules run there.
type schedStack struct {
	t      *testing.T
	c      *testenv.Client
	model  *openaiserver.Server
	queue  string
	worker func() // stops the worker
	user   testenv.User
}

func newSchedStack(t *testing.T, replies ...openaiserver.Reply) *schedStack {
	t.Helper()
	model := openaiserver.New(replies...)
	t.Cleanup(model.Close)
	queue, stop := env.StartChatWorker(t, model.URL)
	url := newServer(t, func(d *api.Deps) { d.Schedules = env.Schedules(queue) })
	c := env.ClientFor(t, url)
	return &schedStack{t: t, c: c, model: model, queue: queue, worker: stop, user: c.NewUser()}
}

// forgetTemporalSchedule deletes a test's Temporal Schedule at cleanup: the
// shared dev server outlives the test database.
func forgetTemporalSchedule(t *testing.T, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = env.Temporal.ScheduleClient().GetHandle(ctx, workflows.ChatScheduleID(id)).Delete(ctx)
	})
}

// createSchedule creates a schedule over HTTP and returns it.
func createSchedule(t *testing.T, c *testenv.Client, u testenv.User, body map[string]any) map[string]any {
	t.Helper()
	sch := c.Post("/users/me/schedules", body, u.Headers()).Expect(t, 201, "").Object("schedule")
	forgetTemporalSchedule(t, sch["schedule_id"].(string))
	return sch
}

func (s *schedStack) create(body map[string]any) map[string]any {
	s.t.Helper()
	return createSchedule(s.t, s.c, s.user, body)
}

func describeSchedule(id string) (*client.ScheduleDescription, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return env.Temporal.ScheduleClient().GetHandle(ctx, workflows.ChatScheduleID(id)).Describe(ctx)
}

func mustDescribe(t *testing.T, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := describeSchedule(id)
	if err != nil {
		t.Fatalf("describe %s: %v", workflows.ChatScheduleID(id), err)
	}
	return d
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// runs lists a schedule's runs, newest first.
func (s *schedStack) runs(id string) []map[string]any {
	s.t.Helper()
	r := s.c.Get("/users/me/schedules/"+id+"/runs", s.user.Headers()).Expect(s.t, 200, "")
	var out []map[string]any
	for _, x := range r.Body["runs"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func (s *schedStack) run(scheduleID, runID string) map[string]any {
	for _, r := range s.runs(scheduleID) {
		if r["run_id"] == runID {
			return r
		}
	}
	return nil
}

// waitRun waits until the run has left running and returns it.
func (s *schedStack) waitRun(scheduleID, runID string, within time.Duration) map[string]any {
	s.t.Helper()
	var got map[string]any
	testenv.Eventually(s.t, within, "run "+runID+" finished", func() bool {
		got = s.run(scheduleID, runID)
		return got != nil && got["status"] != "running"
	})
	return got
}

func (s *schedStack) trigger(id string) map[string]any {
	s.t.Helper()
	return s.c.Post("/users/me/schedules/"+id+"/trigger", nil, s.user.Headers()).Expect(s.t, 202, "").Object("run")
}

func (s *schedStack) inbox() []map[string]any {
	s.t.Helper()
	var out []map[string]any
	for _, m := range s.c.Get("/users/me/inbox", s.user.Headers()).Expect(s.t, 200, "").Body["messages"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

func (s *schedStack) thread(id string) (map[string]any, []any) {
	s.t.Helper()
	r := s.c.Get("/users/me/chats/"+id, s.user.Headers()).Expect(s.t, 200, "")
	return r.Object("thread"), r.Body["messages"].([]any)
}

var runIDPattern = regexp.MustCompile(`^chat-run-[0-9a-f-]{36}-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func TestSchedules_TriggerRunsTheAgentIntoATracedThreadAndTheInbox(t *testing.T) {
	s := newSchedStack(t, openaiserver.Say("Three new leads today: Acme, Globex and Initech.", 7))
	sch := s.create(map[string]any{"title": "Morning leads", "prompt": "List today's new leads", "interval_seconds": 3600,
		"project_id": "proj-sales", "timezone": "Europe/Paris"})
	id, tracer := sch["schedule_id"].(string), sch["tracer_id"].(string)
	if !strings.HasPrefix(tracer, "trc_") || sch["temporal_sync"] != "synced" || sch["last_run"] != nil || sch["paused"] != false ||
		sch["interval_seconds"] != 3600.0 || sch["cron"] != nil || sch["next_run_at"] == nil {
		t.Fatalf("created %v", sch)
	}

	d := mustDescribe(t, id)
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || act.ID != "chat-run-"+id || act.Workflow != workflows.ChatRunWorkflowName || act.TaskQueue != s.queue {
		t.Fatalf("schedule action %+v", d.Schedule.Action)
	}
	if d.Schedule.Policy.Overlap.String() != "Skip" || d.Schedule.Policy.CatchupWindow != schedules.CatchupWindow || d.Schedule.State.Paused {
		t.Fatalf("schedule policy %+v state %+v", d.Schedule.Policy, d.Schedule.State)
	}
	got := s.c.Get("/users/me/schedules/"+id, s.user.Headers()).Expect(t, 200, "").Object("schedule")
	if got["next_run_source"] != "temporal" || got["next_run_at"] == nil {
		t.Fatalf("next run %v", got)
	}

	run := s.trigger(id)
	if run["status"] != "running" || run["schedule_id"] != id || run["tracer_id"] != tracer {
		t.Fatalf("triggered %v", run)
	}
	done := s.waitRun(id, run["run_id"].(string), 30*time.Second)
	usage := done["usage"].(map[string]any)
	if done["status"] != "completed" || usage["input_tokens"] != 100.0 || usage["output_tokens"] != 20.0 ||
		done["thread_id"] == nil || done["finished_at"] == nil || done["error"] != nil {
		t.Fatalf("run %v", done)
	}
	threadID := done["thread_id"].(string)
	th, msgs := s.thread(threadID)
	if th["tracer_id"] != tracer || th["project_id"] != "proj-sales" || len(msgs) != 2 ||
		msgs[1].(map[string]any)["content"] != "Three new leads today: Acme, Globex and Initech." {
		t.Fatalf("thread %v messages %v", th, msgs)
	}
	if req := s.model.Requests(); len(req) != 1 || req[0].Messages[len(req[0].Messages)-1].Text() != "List today's new leads" {
		t.Fatalf("model saw %+v", req)
	}

	list := s.c.Get("/users/me/chats?tracer_id="+tracer, s.user.Headers()).Expect(t, 200, "").Body["threads"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["thread_id"] != threadID {
		t.Fatalf("threads of the tracer %v", list)
	}
	// A thread the stream made with the same tracer joins the timeline.
	s.c.Post("/users/me/chats", map[string]any{"title": "Follow-up", "tracer_id": tracer}, s.user.Headers()).Expect(t, 201, "")
	tl := s.c.Get("/users/me/tracers/"+tracer, s.user.Headers()).Expect(t, 200, "")
	threads, runs := tl.Body["threads"].([]any), tl.Body["runs"].([]any)
	if tl.String("tracer_id") != tracer || len(threads) != 2 || len(runs) != 1 ||
		threads[0].(map[string]any)["thread_id"] != threadID || threads[1].(map[string]any)["title"] != "Follow-up" ||
		runs[0].(map[string]any)["run_id"] != run["run_id"] {
		t.Fatalf("tracer timeline %s", tl.Raw)
	}

	box := s.inbox()
	if len(box) != 1 || box[0]["title"] != "Morning leads" || box[0]["text"] != "Three new leads today: Acme, Globex and Initech." ||
		box[0]["url"] != "/v1/users/me/chats/"+threadID || box[0]["app"] != nil {
		t.Fatalf("inbox %v", box)
	}
	last := s.c.Get("/users/me/schedules/"+id, s.user.Headers()).Expect(t, 200, "").Object("schedule")["last_run"].(map[string]any)
	if last["run_id"] != run["run_id"] || last["status"] != "completed" {
		t.Fatalf("last_run %v", last)
	}

	// The run is a ChatRunWorkflow named after the schedule and the time,
	// carrying the user's and the tracer's search attributes.
	d = mustDescribe(t, id)
	if len(d.Info.RecentActions) != 1 {
		t.Fatalf("recent actions %+v", d.Info.RecentActions)
	}
	wfID := d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
	if !runIDPattern.MatchString(wfID) || !strings.HasPrefix(wfID, "chat-run-"+id+"-") {
		t.Fatalf("run workflow id %q", wfID)
	}
	desc, err := env.Temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	sa := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()
	if !strings.Contains(string(sa["OfficexUserId"].GetData()), s.user.ID) || !strings.Contains(string(sa["OfficexTracerId"].GetData()), tracer) {
		t.Fatalf("search attributes %v", sa)
	}
	if desc.WorkflowExecutionInfo.Type.GetName() != workflows.ChatRunWorkflowName {
		t.Fatalf("workflow type %v", desc.WorkflowExecutionInfo.Type)
	}
}

func TestSchedules_RunsOnItsOwnInterval(t *testing.T) {
	s := newSchedStack(t)
	s.model.Always(openaiserver.Say("Tick.", 5))
	sch := s.create(map[string]any{"prompt": "Say tick", "interval_seconds": 2})
	id := sch["schedule_id"].(string)
	if sch["title"] != "Say tick" {
		t.Fatalf("default title %v", sch["title"])
	}
	var first map[string]any
	testenv.Eventually(t, 30*time.Second, "a run started by the schedule itself completed", func() bool {
		for _, r := range s.runs(id) {
			if r["status"] == "completed" {
				first = r
				return true
			}
		}
		return false
	})
	s.c.Do("PATCH", "/users/me/schedules/"+id, map[string]any{"paused": true}, s.user.Headers()).Expect(t, 200, "")
	th, _ := s.thread(first["thread_id"].(string))
	if th["tracer_id"] != sch["tracer_id"] {
		t.Fatalf("thread %v", th)
	}
}

func TestSchedules_PauseAndResumeReachTemporal(t *testing.T) {
	s := newSchedStack(t)
	sch := s.create(map[string]any{"prompt": "p", "cron": "0 9 * * MON", "timezone": "America/New_York", "paused": true})
	id := sch["schedule_id"].(string)
	if sch["paused"] != true || sch["next_run_at"] != nil {
		t.Fatalf("created paused %v", sch)
	}
	d := mustDescribe(t, id)
	// Temporal keeps a cron as the calendar it means.
	cal := d.Schedule.Spec.Calendars
	if !d.Schedule.State.Paused || len(cal) != 1 || cal[0].Hour[0].Start != 9 || cal[0].Minute[0].Start != 0 ||
		cal[0].DayOfWeek[0].Start != 1 || cal[0].DayOfWeek[0].End != 1 || d.Schedule.Spec.TimeZoneName != "America/New_York" {
		t.Fatalf("paused schedule %+v %+v", d.Schedule.State, d.Schedule.Spec)
	}
	got := s.c.Do("PATCH", "/users/me/schedules/"+id, map[string]any{"paused": false}, s.user.Headers()).Expect(t, 200, "").Object("schedule")
	if got["paused"] != false || got["next_run_at"] == nil {
		t.Fatalf("resumed %v", got)
	}
	// Temporal applies a change to a Schedule shortly after accepting it.
	testenv.Eventually(t, 10*time.Second, "Temporal resumed the schedule", func() bool { return !mustDescribe(t, id).Schedule.State.Paused })
	// A monday 9:00 in New York.
	next := s.c.Get("/users/me/schedules/"+id, s.user.Headers()).Expect(t, 200, "").Object("schedule")
	at, _ := time.Parse(time.RFC3339, next["next_run_at"].(string))
	ny, _ := time.LoadLocation("America/New_York")
	if at = at.In(ny); at.Weekday() != time.Monday || at.Hour() != 9 || at.Minute() != 0 || next["next_run_source"] != "temporal" {
		t.Fatalf("next run %v (%s)", next["next_run_at"], at)
	}
	s.c.Do("PATCH", "/users/me/schedules/"+id, map[string]any{"paused": true}, s.user.Headers()).Expect(t, 200, "")
	testenv.Eventually(t, 10*time.Second, "Temporal paused the schedule again", func() bool { return mustDescribe(t, id).Schedule.State.Paused })

	// Switching to an interval replaces the cron, in the row and in Temporal.
	got = s.c.Do("PATCH", "/users/me/schedules/"+id, map[string]any{"interval_seconds": 7200, "title": "Every two hours"},
		s.user.Headers()).Expect(t, 200, "").Object("schedule")
	if got["cron"] != nil || got["interval_seconds"] != 7200.0 || got["title"] != "Every two hours" || got["paused"] != true {
		t.Fatalf("patched %v", got)
	}
	testenv.Eventually(t, 10*time.Second, "Temporal has the interval", func() bool {
		d = mustDescribe(t, id)
		return len(d.Schedule.Spec.Calendars) == 0 && len(d.Schedule.Spec.Intervals) == 1 && d.Schedule.Spec.Intervals[0].Every == 2*time.Hour
	})
	if !d.Schedule.State.Paused {
		t.Fatal("the patch of the spec resumed the schedule")
	}
}

func TestSchedules_DeleteRemovesTheTemporalScheduleAndTheRow(t *testing.T) {
	s := newSchedStack(t)
	id := s.create(map[string]any{"prompt": "p", "interval_seconds": 3600})["schedule_id"].(string)
	mustDescribe(t, id)
	s.c.Do("DELETE", "/users/me/schedules/"+id, nil, s.user.Headers()).Expect(t, 200, "")
	if _, err := describeSchedule(id); !isNotFound(err) {
		t.Fatalf("describe after delete: %v", err)
	}
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM chat_schedules WHERE id = $1", id).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows left %d (%v)", n, err)
	}
	s.c.Get("/users/me/schedules/"+id, s.user.Headers()).Expect(t, 404, "NOT_FOUND")
	s.c.Do("DELETE", "/users/me/schedules/"+id, nil, s.user.Headers()).Expect(t, 404, "NOT_FOUND")
	if n := len(s.c.Get("/users/me/schedules", s.user.Headers()).Expect(t, 200, "").Body["schedules"].([]any)); n != 0 {
		t.Fatalf("%d schedules listed after delete", n)
	}
}

func TestSchedules_TriggerWhileARunRunsIsRecordedSkipped(t *testing.T) {
	slow := openaiserver.Reply{Text: []string{"Still ", "working ", "on ", "it, ", "done."}, Delay: 400 * time.Millisecond,
		InputTokens: 10, OutputTokens: 5}
	s := newSchedStack(t, slow)
	id := s.create(map[string]any{"title": "Slow", "prompt": "Take your time", "interval_seconds": 3600})["schedule_id"].(string)
	first := s.trigger(id)
	second := s.trigger(id)
	if first["status"] != "running" || second["status"] != "skipped" || second["run_id"] == first["run_id"] ||
		!strings.Contains(fmt.Sprint(second["error"]), "still running") || second["thread_id"] != nil {
		t.Fatalf("first %v second %v", first, second)
	}
	done := s.waitRun(id, first["run_id"].(string), 30*time.Second)
	if done["status"] != "completed" {
		t.Fatalf("first run %v", done)
	}
	runs := s.runs(id)
	if len(runs) != 2 || runs[0]["run_id"] != second["run_id"] || runs[1]["run_id"] != first["run_id"] {
		t.Fatalf("runs %v", runs)
	}
	if d := mustDescribe(t, id); d.Info.NumActionsSkippedOverlap != 1 || d.Info.NumActions != 1 {
		t.Fatalf("Temporal counted %d actions, %d skipped", d.Info.NumActions, d.Info.NumActionsSkippedOverlap)
	}
	if n := len(s.model.Requests()); n != 1 {
		t.Fatalf("the model was asked %d times", n)
	}
}

func TestSchedules_ModelErrorsAreRetriedIntoOneCleanThread(t *testing.T) {
	s := newSchedStack(t,
		openaiserver.Reply{Status: 500},
		openaiserver.Reply{Text: []string{"Half an ", "answer that breaks"}, BreakAfter: 1},
		openaiserver.Say("The whole answer.", 6))
	id := s.create(map[string]any{"title": "Flaky", "prompt": "Answer once", "interval_seconds": 3600})["schedule_id"].(string)
	run := s.waitRun(id, s.trigger(id)["run_id"].(string), 30*time.Second)
	if run["status"] != "completed" {
		t.Fatalf("run %v", run)
	}
	_, msgs := s.thread(run["thread_id"].(string))
	if len(msgs) != 2 || msgs[0].(map[string]any)["content"] != "Answer once" || msgs[1].(map[string]any)["content"] != "The whole answer." {
		t.Fatalf("thread messages %v", msgs)
	}
	if n := len(s.model.Requests()); n != 3 {
		t.Fatalf("model asked %d times, want 3", n)
	}
	if box := s.inbox(); len(box) != 1 || box[0]["text"] != "The whole answer." {
		t.Fatalf("inbox %v", box)
	}
	threads := s.c.Get("/users/me/chats", s.user.Headers()).Expect(t, 200, "").Body["threads"].([]any)
	if len(threads) != 1 {
		t.Fatalf("%d threads, want the run's one", len(threads))
	}
}

func TestSchedules_ModelDownFailsTheRunAndTheScheduleKeepsGoing(t *testing.T) {
	s := newSchedStack(t)
	s.model.Always(openaiserver.Reply{Status: 503})
	id := s.create(map[string]any{"prompt": "Anyone there?", "interval_seconds": 3600})["schedule_id"].(string)
	run := s.waitRun(id, s.trigger(id)["run_id"].(string), 60*time.Second)
	if run["status"] != "failed" || !strings.Contains(fmt.Sprint(run["error"]), "the model server answered 503") {
		t.Fatalf("run %v", run)
	}
	if n := len(s.model.Requests()); n != workflows.ChatAgentAttempts {
		t.Fatalf("model asked %d times, want %d", n, workflows.ChatAgentAttempts)
	}
	if box := s.inbox(); len(box) != 0 {
		t.Fatalf("inbox after a failed run %v", box)
	}
	s.c.Get("/users/me/schedules/"+id, s.user.Headers()).Expect(t, 200, "")
	if d := mustDescribe(t, id); d.Schedule.State.Paused {
		t.Fatal("a failed run paused the schedule")
	}
	s.model.Always(openaiserver.Say("Back again.", 4))
	// The run record says failed a moment before its workflow closes; a
	// trigger meanwhile is skipped by the overlap policy (CI saw it).
	testenv.Eventually(t, 30*time.Second, "the failed run's workflow has closed", func() bool {
		return len(mustDescribe(t, id).Info.RunningWorkflows) == 0
	})
	again := s.waitRun(id, s.trigger(id)["run_id"].(string), 30*time.Second)
	if again["status"] != "completed" || again["run_id"] == run["run_id"] {
		t.Fatalf("next run %v", again)
	}
}

func TestSchedules_WorkerStoppedMidRunCompletesOnceAfterRestart(t *testing.T) {
	slow := openaiserver.Reply{Text: []string{"This ", "takes ", "a ", "while ", "to ", "say."}, Delay: time.Second,
		InputTokens: 10, OutputTokens: 5}
	s := newSchedStack(t, slow, openaiserver.Say("Said after the restart.", 5))
	id := s.create(map[string]any{"title": "Long", "prompt": "Say it slowly", "interval_seconds": 3600})["schedule_id"].(string)
	run := s.trigger(id)
	testenv.Eventually(t, 30*time.Second, "the model is streaming", func() bool { return len(s.model.Requests()) == 1 })
	s.worker()
	select {
	case <-s.model.Closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the stopped worker kept the model stream open")
	}
	if got := s.run(id, run["run_id"].(string)); got["status"] != "running" {
		t.Fatalf("run with its worker stopped %v", got)
	}
	env.RestartChatWorker(t, s.queue, s.model.URL)
	done := s.waitRun(id, run["run_id"].(string), 90*time.Second)
	if done["status"] != "completed" {
		t.Fatalf("run %v", done)
	}
	tracer := done["tracer_id"].(string)
	threads := s.c.Get("/users/me/chats?tracer_id="+tracer, s.user.Headers()).Expect(t, 200, "").Body["threads"].([]any)
	if len(threads) != 1 {
		t.Fatalf("%d threads for one run", len(threads))
	}
	_, msgs := s.thread(done["thread_id"].(string))
	if len(msgs) != 2 || msgs[1].(map[string]any)["content"] != "Said after the restart." {
		t.Fatalf("thread messages %v", msgs)
	}
	if box := s.inbox(); len(box) != 1 {
		t.Fatalf("inbox %v", box)
	}
	if n := len(s.model.Requests()); n != 2 {
		t.Fatalf("model asked %d times, want the interrupted attempt and the retry", n)
	}
}

func TestSchedules_TemporalUnreachableRowsAndSchedulesConverge(t *testing.T) {
	// A client of a port nothing listens on: every call fails as when the
	// Temporal server is down (the shared dev server keeps running).
	lazy, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	brokenURL := newServer(t, func(d *api.Deps) {
		d.Schedules = env.SchedulesWith(lazy, schedules.Options{SyncTimeout: time.Second, TriggerWait: time.Second})
	})
	broken := env.ClientFor(t, brokenURL)
	c := env.Client(t)
	u := c.NewUser()

	sch := broken.Post("/users/me/schedules", map[string]any{"title": "Offline", "prompt": "p", "interval_seconds": 3600},
		u.Headers()).Expect(t, 201, "").Object("schedule")
	id := sch["schedule_id"].(string)
	forgetTemporalSchedule(t, id)
	if sch["temporal_sync"] != "pending" || sch["next_run_source"] != "computed" || sch["next_run_at"] == nil {
		t.Fatalf("created while Temporal is down %v", sch)
	}
	broken.Post("/users/me/schedules/"+id+"/trigger", nil, u.Headers()).Expect(t, 503, "SERVICE_UNAVAILABLE")
	// The worker's reconciler creates the Temporal Schedule.
	testenv.Eventually(t, 30*time.Second, "the reconciler created the Temporal Schedule", func() bool {
		_, err := describeSchedule(id)
		return err == nil
	})
	testenv.Eventually(t, 30*time.Second, "the row is in step", func() bool {
		return c.Get("/users/me/schedules/"+id, u.Headers()).Expect(t, 200, "").Object("schedule")["temporal_sync"] == "synced"
	})

	// A pause while Temporal is down reaches it later too.
	p := broken.Do("PATCH", "/users/me/schedules/"+id, map[string]any{"paused": true}, u.Headers()).Expect(t, 200, "").Object("schedule")
	if p["paused"] != true || p["temporal_sync"] != "pending" {
		t.Fatalf("paused while down %v", p)
	}
	testenv.Eventually(t, 30*time.Second, "the pause reached Temporal", func() bool { return mustDescribe(t, id).Schedule.State.Paused })

	// Deleting while Temporal is down hides the schedule at once; the
	// reconciler then removes the Temporal Schedule and the row.
	broken.Do("DELETE", "/users/me/schedules/"+id, nil, u.Headers()).Expect(t, 200, "")
	c.Get("/users/me/schedules/"+id, u.Headers()).Expect(t, 404, "NOT_FOUND")
	testenv.Eventually(t, 30*time.Second, "the Temporal Schedule is gone", func() bool {
		_, err := describeSchedule(id)
		return isNotFound(err)
	})
	testenv.Eventually(t, 10*time.Second, "the row is gone", func() bool {
		var n int
		_ = env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM chat_schedules WHERE id = $1", id).Scan(&n)
		return n == 0
	})
}

func TestSchedules_AnotherUsersScheduleIsNotFoundEverywhere(t *testing.T) {
	s := newSchedStack(t)
	id := s.create(map[string]any{"prompt": "mine", "interval_seconds": 3600})["schedule_id"].(string)
	other := s.c.NewUser().Headers()
	for _, r := range []testenv.Response{
		s.c.Get("/users/me/schedules/"+id, other),
		s.c.Do("PATCH", "/users/me/schedules/"+id, map[string]any{"paused": true}, other),
		s.c.Do("DELETE", "/users/me/schedules/"+id, nil, other),
		s.c.Post("/users/me/schedules/"+id+"/trigger", nil, other),
		s.c.Get("/users/me/schedules/"+id+"/runs", other),
		s.c.Get("/users/me/schedules/not-a-uuid", other),
	} {
		r.Expect(t, 404, "NOT_FOUND")
	}
	if n := len(s.c.Get("/users/me/schedules", other).Expect(t, 200, "").Body["schedules"].([]any)); n != 0 {
		t.Fatalf("another user lists %d schedules", n)
	}
	got := s.c.Get("/users/me/schedules/"+id, s.user.Headers()).Expect(t, 200, "").Object("schedule")
	if got["paused"] != false || mustDescribe(t, id).Schedule.State.Paused {
		t.Fatalf("another user's patch changed %v", got)
	}
	tl := s.c.Get("/users/me/tracers/"+got["tracer_id"].(string), other).Expect(t, 200, "")
	if len(tl.Body["threads"].([]any)) != 0 || len(tl.Body["runs"].([]any)) != 0 {
		t.Fatalf("another user's tracer view %s", tl.Raw)
	}
	s.c.Get("/users/me/tracers/bad%20tracer", s.user.Headers()).Expect(t, 400, "INVALID_REQUEST")
}

func TestSchedules_LimitsAtAndOver(t *testing.T) {
	c := env.Client(t)
	// The production bounds (the package's API allows runs a second apart).
	url := newServer(t, func(d *api.Deps) {
		d.Schedules = env.SchedulesWith(env.Temporal, schedules.Options{MinInterval: schedules.MinInterval})
	})
	pc := env.ClientFor(t, url)
	u := c.NewUser()
	h := u.Headers()
	base := func(extra map[string]any) map[string]any {
		b := map[string]any{"prompt": "p", "interval_seconds": 3600, "paused": true}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	apps := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("app-%d", i)
		}
		return out
	}
	for name, body := range map[string]map[string]any{
		"title over":          base(map[string]any{"title": strings.Repeat("t", schedules.MaxTitleLen+1)}),
		"prompt over":         base(map[string]any{"prompt": strings.Repeat("p", schedules.MaxPromptLen+1)}),
		"prompt blank":        base(map[string]any{"prompt": "   "}),
		"system_prompt over":  base(map[string]any{"system_prompt": strings.Repeat("s", schedules.MaxSystemPromptLen+1)}),
		"include_apps over":   base(map[string]any{"include_apps": apps(schedules.MaxIncludeApps + 1)}),
		"interval under":      base(map[string]any{"interval_seconds": 299}),
		"interval fraction":   base(map[string]any{"interval_seconds": 300.5}),
		"cron and interval":   base(map[string]any{"cron": "0 9 * * *"}),
		"neither":             {"prompt": "p"},
		"cron every minute":   {"prompt": "p", "cron": "* * * * *"},
		"cron two minutes":    {"prompt": "p", "cron": "0,2 9 * * *"},
		"cron descriptor":     {"prompt": "p", "cron": "@hourly"},
		"cron six fields":     {"prompt": "p", "cron": "0 0 9 * * *"},
		"cron tz prefix":      {"prompt": "p", "cron": "TZ=UTC 0 9 * * *"},
		"cron garbage":        {"prompt": "p", "cron": "0 25 * * *"},
		"timezone unknown":    base(map[string]any{"timezone": "Mars/Olympus"}),
		"timezone empty":      base(map[string]any{"timezone": ""}),
		"tracer bad":          base(map[string]any{"tracer_id": "bad tracer!"}),
		"tracer empty":        base(map[string]any{"tracer_id": ""}),
		"project empty":       base(map[string]any{"project_id": ""}),
		"include_apps blank":  base(map[string]any{"include_apps": []string{" "}}),
		"unknown field":       base(map[string]any{"schedule_id": "x"}),
		"no prompt":           {"interval_seconds": 3600},
		"paused not a bool":   base(map[string]any{"paused": "yes"}),
		"interval not number": base(map[string]any{"interval_seconds": "3600"}),
	} {
		r := pc.Post("/users/me/schedules", body, h)
		if r.Status != 400 || r.Code() != "INVALID_REQUEST" {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	if n := len(c.Get("/users/me/schedules", h).Expect(t, 200, "").Body["schedules"].([]any)); n != 0 {
		t.Fatalf("refused bodies made %d schedules", n)
	}

	at := createSchedule(t, pc, u, base(map[string]any{"title": strings.Repeat("t", schedules.MaxTitleLen),
		"prompt": strings.Repeat("p", schedules.MaxPromptLen), "system_prompt": strings.Repeat("s", schedules.MaxSystemPromptLen),
		"include_apps": apps(schedules.MaxIncludeApps), "interval_seconds": 300, "tracer_id": "trc_mine-1", "project_id": "p1"}))
	if at["tracer_id"] != "trc_mine-1" || len(at["include_apps"].([]any)) != schedules.MaxIncludeApps || at["interval_seconds"] != 300.0 {
		t.Fatalf("at the limits %v", at)
	}
	id := at["schedule_id"].(string)
	createSchedule(t, pc, u, map[string]any{"prompt": "p", "cron": "*/5 * * * *", "paused": true})
	createSchedule(t, pc, u, map[string]any{"prompt": "p", "cron": "0 9 * * MON", "timezone": "Europe/Paris", "paused": true})

	// Patches: bad ones change nothing; null clears optional fields only.
	for name, body := range map[string]map[string]any{
		"title over":        {"title": strings.Repeat("t", schedules.MaxTitleLen+1)},
		"title null":        {"title": nil},
		"prompt null":       {"prompt": nil},
		"tracer null":       {"tracer_id": nil},
		"paused null":       {"paused": nil},
		"cron and interval": {"cron": "0 9 * * *", "interval_seconds": 3600},
		"no timing":         {"interval_seconds": nil},
		"interval under":    {"interval_seconds": 299},
		"include over":      {"include_apps": apps(schedules.MaxIncludeApps + 1)},
		"unknown":           {"status": "x"},
	} {
		r := pc.Do("PATCH", "/users/me/schedules/"+id, body, h)
		if r.Status != 400 || r.Code() != "INVALID_REQUEST" {
			t.Errorf("patch %s: %d %s", name, r.Status, r.Raw)
		}
	}
	same := c.Get("/users/me/schedules/"+id, h).Expect(t, 200, "").Object("schedule")
	if same["title"] != at["title"] || same["interval_seconds"] != 300.0 || same["tracer_id"] != "trc_mine-1" {
		t.Fatalf("refused patches changed %v", same)
	}
	cleared := pc.Do("PATCH", "/users/me/schedules/"+id, map[string]any{"system_prompt": nil, "project_id": nil, "include_apps": nil,
		"cron": "30 8 * * *"}, h).Expect(t, 200, "").Object("schedule")
	if cleared["system_prompt"] != nil || cleared["project_id"] != nil || len(cleared["include_apps"].([]any)) != 0 ||
		cleared["cron"] != "30 8 * * *" || cleared["interval_seconds"] != nil {
		t.Fatalf("cleared %v", cleared)
	}

	for i := 3; i < schedules.MaxSchedulesPerUser; i++ {
		createSchedule(t, pc, u, base(nil))
	}
	pc.Post("/users/me/schedules", base(nil), h).Expect(t, 400, "INVALID_REQUEST")
	page := c.Get("/users/me/schedules?limit=15", h).Expect(t, 200, "")
	more := c.Get("/users/me/schedules?limit=15&cursor="+page.Object("pagination")["next_cursor"].(string), h).Expect(t, 200, "")
	if len(page.Body["schedules"].([]any)) != 15 || len(more.Body["schedules"].([]any)) != 5 || more.Object("pagination")["has_more"] != false {
		t.Fatalf("pages %s / %s", page.Raw, more.Raw)
	}
	// Deleting one makes room again.
	c.Do("DELETE", "/users/me/schedules/"+id, nil, h).Expect(t, 200, "")
	createSchedule(t, pc, u, base(nil))
}

func TestSchedules_SuspendedUsersRunsAreRecordedSkipped(t *testing.T) {
	s := newSchedStack(t)
	s.model.Always(openaiserver.Say("Should not be asked.", 5))
	id := s.create(map[string]any{"prompt": "p", "interval_seconds": 2})["schedule_id"].(string)
	s.c.Do("PATCH", "/admin/users/"+s.user.ID, map[string]any{"status": "suspended", "reason": "test"}, testenv.AdminHeaders()).Expect(t, 200, "")
	var skipped int
	testenv.Eventually(t, 30*time.Second, "a run of the suspended user recorded skipped", func() bool {
		var reason *string
		err := env.Pool.QueryRow(context.Background(),
			"SELECT count(*), max(error) FROM chat_schedule_runs WHERE schedule_id = $1 AND status = 'skipped'", id).Scan(&skipped, &reason)
		return err == nil && skipped > 0 && reason != nil && strings.Contains(*reason, "suspended")
	})
	if n := len(s.model.Requests()); n != 0 {
		t.Fatalf("the model was asked %d times for a suspended user", n)
	}
	var threads int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM chat_threads WHERE user_id = $1", s.user.ID).Scan(&threads); err != nil || threads != 0 {
		t.Fatalf("%d threads (%v)", threads, err)
	}
}

func TestSchedules_WithoutAModelRunsFailSayingSo(t *testing.T) {
	// The package's worker has no agent, as a worker without OPENAI_API_KEY.
	url := newServer(t, nil)
	c := env.ClientFor(t, url)
	u := c.NewUser()
	id := createSchedule(t, c, u, map[string]any{"prompt": "p", "interval_seconds": 3600})["schedule_id"].(string)
	run := c.Post("/users/me/schedules/"+id+"/trigger", nil, u.Headers()).Expect(t, 202, "").Object("run")
	var got map[string]any
	testenv.Eventually(t, 30*time.Second, "the run failed", func() bool {
		runs := c.Get("/users/me/schedules/"+id+"/runs", u.Headers()).Expect(t, 200, "").Body["runs"].([]any)
		got = runs[0].(map[string]any)
		return got["run_id"] == run["run_id"] && got["status"] != "running"
	})
	if got["status"] != "failed" || !strings.Contains(fmt.Sprint(got["error"]), "OPENAI_API_KEY") {
		t.Fatalf("run %v", got)
	}
}

func TestSchedules_APausedScheduleCanStillBeTriggered(t *testing.T) {
	s := newSchedStack(t, openaiserver.Say("On demand.", 4))
	id := s.create(map[string]any{"prompt": "p", "interval_seconds": 3600, "paused": true})["schedule_id"].(string)
	run := s.trigger(id)
	if done := s.waitRun(id, run["run_id"].(string), 30*time.Second); done["status"] != "completed" {
		t.Fatalf("run %v", done)
	}
	if !mustDescribe(t, id).Schedule.State.Paused {
		t.Fatal("the trigger resumed the schedule")
	}
}
