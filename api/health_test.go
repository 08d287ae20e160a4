package api_test

import (
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
	// A Temporal client pointed at nothing makes readiness fail.
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	srv := httptest.NewServer(env.NewHandler(func(d *api.Deps) { d.Temporal = dead }))
	defer srv.Close()
	if status, _ := getRoot(t, srv.URL+"/readyz"); status != 503 {
		t.Fatalf("readyz with Temporal down: %d, want 503", status)
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
