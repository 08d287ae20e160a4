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

// readyz answers 200 while PostgreSQL answers: it is the API's readiness,
// and no request that moves money waits on Temporal (workflows start from
// the outbox), so a Temporal outage must not take the API out of its load
// balancer (make chaos TOPOLOGY=1 saw a 20 s Temporal outage become a 23.5 s
// API outage behind the proxy when it did). Temporal is still checked and
// reported; the few routes that call it answer their own errors meanwhile.
// The worker's readiness (internal/app.Readyz) needs both.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	if _, err := s.temporal.CheckHealth(ctx, nil); err != nil {
		checks["temporal"] = "unreachable"
	}
	if err := s.pool.Ping(ctx); err != nil {
		checks["postgres"] = "unreachable"
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "checks": checks,
			"error": map[string]string{"code": "INTERNAL_ERROR", "message": "PostgreSQL is unreachable"}})
		return nil
	}
	ok(w, map[string]any{"checks": checks})
	return nil
}
