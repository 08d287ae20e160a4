package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxUser
)

// requestIDPattern keeps a caller-chosen request id short and log-safe.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID takes the caller's X-Request-Id when it is sane, else makes one,
// and echoes it so a caller can quote it to support.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequestID, id)))
	})
}

// RequestID returns the id of the request ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Flush lets streaming handlers flush through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// withLogging writes one structured line per request. It logs the path, never
// headers or bodies, which carry keys, secrets and codes.
func withLogging(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("request_id", RequestID(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", loggedPath(r.URL.Path)),
				slog.Int("status", rec.status),
				slog.Int("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}

// secretPathPrefixes are paths whose next segment is a bearer secret: a
// voucher code is money to whoever reads it.
var secretPathPrefixes = []string{"/v1/vouchers/", "/v1/admin/vouchers/"}

// loggedPath is path with any bearer secret in it replaced.
func loggedPath(path string) string {
	for _, p := range secretPathPrefixes {
		if rest, ok := strings.CutPrefix(path, p); ok && rest != "" {
			_, tail, _ := strings.Cut(rest, "/")
			if tail != "" {
				tail = "/" + tail
			}
			return p + "[redacted]" + tail
		}
	}
	return path
}

// withRecovery turns a panic into 500 INTERNAL_ERROR; the stack goes to the
// log, never to the caller.
func withRecovery(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "panic in handler",
						"request_id", RequestID(r.Context()), "panic", p, "stack", string(debug.Stack()))
					writeError(w, r, errInternal)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// Unwrap lets http.ResponseController reach the connection (an upload PUT
// extends its read deadline).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withBodyLimit caps a request body at MaxBodyBytes. router.go applies it to
// every route but the signed upload files, whose store sets its own cap.
func withBodyLimit(next http.Handler) http.Handler { return withBodyLimitOf(MaxBodyBytes)(next) }

// withBodyLimitOf caps every request body at n bytes.
func withBodyLimitOf(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// withoutNUL refuses a NUL byte in the path or the query (decoded, or as
// %00) before any route runs: PostgreSQL refuses NUL in text, so a NUL that
// reached a query (a reservation id, a slug, a catalog search) was a 500.
// Bodies get the same check in the decoder (json.go).
func withoutNUL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasNUL(r.URL.Path) || hasNUL(r.URL.RawPath) || hasNUL(r.URL.RawQuery) {
			writeError(w, r, invalid("the request path or query contains a NUL character (%%00)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hasNUL reports a NUL byte in s, or its percent-encoding %00 (the only
// escape that decodes to NUL).
func hasNUL(s string) bool {
	return strings.IndexByte(s, 0) >= 0 || strings.Contains(s, "%00")
}
