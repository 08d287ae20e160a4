package api

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds each dependency check of /readyz.
const readyTimeout = 2 * time.Second

// healthz answers while the process is up.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	ok(w, map[string]any{"status": "ok"})
	return nil
}

// readyz answers 200 only when PostgreSQL and Temporal both answer.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	ready := true
	if err := s.pool.Ping(ctx); err != nil {
		checks["postgres"], ready = "unreachable", false
	}
	if _, err := s.temporal.CheckHealth(ctx, nil); err != nil {
		checks["temporal"], ready = "unreachable", false
	}
	if !ready {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "checks": checks,
			"error": map[string]string{"code": "INTERNAL_ERROR", "message": "a dependency is unreachable"}})
		return nil
	}
	ok(w, map[string]any{"checks": checks})
	return nil
}
