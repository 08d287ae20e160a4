package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/metrics"
)

type ctxRouteKey struct{}

// withMetrics times every request and counts it by the route template mux
// matched (never the raw path: ids would make a series per request), method
// and status. The template is learnt from inside the router (withRouteTemplate)
// through a slot this middleware puts in the context.
func withMetrics(m *metrics.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if m == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			route := metrics.RouteUnmatched
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), ctxRouteKey{}, &route)))
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			m.ObserveHTTP(route, r.Method, status, time.Since(start))
		})
	}
}

// withRouteTemplate runs inside the router, after matching, and tells
// withMetrics which route answered.
func withRouteTemplate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slot, ok := r.Context().Value(ctxRouteKey{}).(*string); ok {
			if tpl, err := mux.CurrentRoute(r).GetPathTemplate(); err == nil {
				*slot = tpl
			}
		}
		next.ServeHTTP(w, r)
	})
}

// countBilling records the outcome of a reserve, settle or cancel: ok, or
// the error code the caller is answered (INSUFFICIENT_FUNDS, RATE_LIMITED, ...).
func (s *Server) countBilling(op string, next handlerFunc) handlerFunc {
	if s.metrics == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		err := next(w, r)
		if err == nil {
			s.metrics.ObserveBilling(op, metrics.OutcomeOK)
			return nil
		}
		// Mapped once here (an internal error is logged once) and passed on
		// as the answer itself.
		apiErr := toAPIError(r, err)
		s.metrics.ObserveBilling(op, apiErr.Code)
		return apiErr
	}
}
