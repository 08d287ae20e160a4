package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// readyTimeout bounds each dependency check of the metrics listener's /readyz.
const readyTimeout = 2 * time.Second

// Readyz answers on the metrics listener of every long-running process, so
// a worker, which serves no API, has a readiness check too (deploy/k8s probes
// it): 200 while PostgreSQL and Temporal answer, else 503. The API's own
// /readyz (api package) checks the same two.
func (a *App) Readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	checks, status := map[string]string{"postgres": "ok", "temporal": "ok"}, http.StatusOK
	if err := a.Pool.Ping(ctx); err != nil {
		checks["postgres"], status = "unreachable", http.StatusServiceUnavailable
	}
	if _, err := a.Temporal.CheckHealth(ctx, nil); err != nil {
		checks["temporal"], status = "unreachable", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": status == http.StatusOK, "checks": checks})
}
