package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecovery_PanicBecomes500WithoutLeakingInternals(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret internal detail")
	}), withRequestID, withLogging(log), withRecovery(log))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/x", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "secret internal detail") {
		t.Fatal("panic text leaked to the caller")
	}
	var body struct {
		Success bool
		Error   struct{ Code string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Success || body.Error.Code != "INTERNAL_ERROR" {
		t.Fatalf("body %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), `"status":500`) {
		t.Fatalf("the panic and the request line must be logged: %s", logs.String())
	}
}

func TestRequestID_EchoesSaneIDsAndReplacesOthers(t *testing.T) {
	h := withRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for in, keep := range map[string]bool{"abc-123": true, "": false, "has space": false, strings.Repeat("a", 65): false} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-Request-Id", in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if (got == in) != keep || got == "" {
			t.Errorf("request id %q -> %q", in, got)
		}
	}
}

func TestLogging_NeverWritesCredentialHeaders(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := withLogging(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/v1/users/me", nil)
	req.Header.Set(hdrMasterKey, "ofx_mk_canary")
	req.Header.Set(hdrAdminSecret, "admin-canary")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if strings.Contains(logs.String(), "canary") {
		t.Fatalf("credentials in the log: %s", logs.String())
	}
}

func TestLogging_RedactsVoucherCodesInPaths(t *testing.T) {
	var logs bytes.Buffer
	h := withLogging(slog.New(slog.NewJSONHandler(&logs, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, path := range []string{"/v1/vouchers/OFX-CANARY-CODE", "/v1/vouchers/OFX-CANARY-CODE/redeem", "/v1/admin/vouchers/OFX-CANARY-CODE"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	if strings.Contains(logs.String(), "CANARY") || !strings.Contains(logs.String(), `/v1/vouchers/[redacted]/redeem`) {
		t.Fatalf("voucher code in the log: %s", logs.String())
	}
}
