package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/officex/officex/api"
	"github.com/officex/officex/workflows"
)

func getRoot(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Request-Id")
}

func TestHealthAndReadiness(t *testing.T) {
	env.Client(t)
	if status, reqID := getRoot(t, env.Server.URL+"/healthz"); status != 200 || reqID == "" {
		t.Fatalf("healthz: %d, request id %q", status, reqID)
	}
	if status, _ := getRoot(t, env.Server.URL+"/readyz"); status != 200 {
		t.Fatalf("readyz with PostgreSQL and Temporal up: %d", status)
	}
	// With Temporal unreachable the API stays ready (nothing that moves
	// money waits on it) and says so; billing goes on.
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	srv := httptest.NewServer(env.NewHandler(func(d *api.Deps) { d.Temporal = dead }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 ||
		body.Checks["temporal"] != "unreachable" || body.Checks["postgres"] != "ok" {
		t.Fatalf("readyz with Temporal down: %d %v (%v), want 200 with temporal unreachable", resp.StatusCode, body.Checks, err)
	}
	c := env.ClientFor(t, srv.URL)
	_, _, in := billingSetup(t, c, "5", nil)
	c.Post("/reserve", map[string]any{"amount": 2, "job_id": "no-temporal"}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#no-temporal", "amount": 1, "final": true}, in.Headers()).Expect(t, 200, "")
	if av, res := c.Balance(in.User); av != 4 || res != 0 {
		t.Fatalf("balance %v/%v after billing with Temporal down, want 4/0", av, res)
	}
}

func TestPingWorkflow_RunsOnTheWorkerAgainstTheDatabase(t *testing.T) {
	env.Client(t)
	ctx := t.Context()
	run, err := env.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "ping-" + t.Name(), TaskQueue: env.Config.TaskQueue, WorkflowExecutionTimeout: time.Minute,
	}, workflows.PingWorkflow, workflows.PingInput{Note: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.PingResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Note != "hello" || time.Since(time.UnixMilli(res.DatabaseTimeMs)).Abs() > time.Minute {
		t.Fatalf("ping result %+v", res)
	}
}
