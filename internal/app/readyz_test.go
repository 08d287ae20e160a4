package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/app"
)

func metricsReadyz(t *testing.T, a *app.App) (int, map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body struct{ Checks map[string]string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("readyz body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, body.Checks
}

func TestMetricsReadyz_ReportsEachDependency(t *testing.T) {
	if code, checks := metricsReadyz(t, &app.App{Pool: env.Pool, Temporal: env.Temporal}); code != http.StatusOK ||
		checks["postgres"] != "ok" || checks["temporal"] != "ok" {
		t.Errorf("with both dependencies up: %d %v, want 200 and both ok", code, checks)
	}
	closed, err := db.Open(context.Background(), env.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if code, checks := metricsReadyz(t, &app.App{Pool: closed, Temporal: env.Temporal}); code != http.StatusServiceUnavailable ||
		checks["postgres"] != "unreachable" || checks["temporal"] != "ok" {
		t.Errorf("with PostgreSQL unreachable: %d %v, want 503 naming postgres only", code, checks)
	}
}
