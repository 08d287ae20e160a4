package testenv

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that keeps the errors the contract check reports.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The contract check is strict: a fake API answering what the spec does not
// list (an extra field, an unlisted status or error code, a wrong type) is
// reported, and answers that match are not. No database is needed.
func TestContractCheckReportsAnswersTheSpecDoesNotList(t *testing.T) {
	const user = `{"user_id":"6f1c1b7e-4f0a-4c39-9a55-0d7b1f9e2a10","email":"a@example.com",` +
		`"wallet_id":"0b0f4a3c-6a5e-4b8e-9a3f-2f8f0f6d2c11","status":"active","email_verified":true,` +
		`"has_password":false,"created_at":"2026-01-02T03:04:05Z"}`
	cases := []struct {
		name, method, path string
		status             int
		answer             string
		want               string // "" when the exchange matches the spec
	}{
		{"matching answer", "GET", "/v1/users/me", 200, `{"success":true,"user":` + user + `}`, ""},
		{"extra field", "GET", "/v1/users/me", 200, `{"success":true,"user":` + user + `,"debug":1}`, "debug"},
		{"field of the wrong type", "GET", "/v1/balance", 200,
			`{"success":true,"wallet_id":"0b0f4a3c-6a5e-4b8e-9a3f-2f8f0f6d2c11","available":"10","reserved":0,"total":10}`, "available"},
		{"unlisted status", "GET", "/v1/users/me", 418, `{"success":false,"error":{"code":"FORBIDDEN","message":"x"}}`, "418"},
		{"error code not listed for the status", "GET", "/v1/users/me", 401,
			`{"success":false,"error":{"code":"FORBIDDEN","message":"x"}}`, "FORBIDDEN"},
		{"listed error", "GET", "/v1/users/me", 401, `{"success":false,"error":{"code":"UNAUTHORIZED","message":"x"}}`, ""},
		{"unknown error code", "GET", "/v1/users/me", 404, `{"success":false,"error":{"code":"GONE","message":"x"}}`, "GONE"},
		{"route not in the spec", "GET", "/v1/nowhere", 200, `{"success":true}`, "not in api/openapi.yaml"},
		{"the router's own 404", "GET", "/v1/nowhere", 404, `{"success":false,"error":{"code":"NOT_FOUND","message":"no such route"}}`, ""},
		{"accepted request with an unknown field", "POST", "/v1/auth/register", 200, `{"success":true,"message":"sent"}`, "request POST /v1/auth/register"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.answer))
			}))
			defer srv.Close()
			rec := &recorder{TB: t}
			c := &Client{t: rec, baseURL: srv.URL}
			var body any
			if tc.method == "POST" {
				body = map[string]any{"email": "a@example.com", "nickname": "x"}
			}
			c.Do(tc.method, strings.TrimPrefix(tc.path, ""), body, nil)
			got := strings.Join(rec.errs, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Fatalf("reported a matching exchange:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Fatalf("want a report mentioning %q, got:\n%s", tc.want, got)
			}
		})
	}
}
