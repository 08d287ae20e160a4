package officex

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officex/officex/sdk/openapi"
)

// recorder is an API stand-in: it answers each request with the next of
// statuses (the last one repeats) and records what it was sent.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	bodies   []map[string]any
	headers  []http.Header
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	rc.mu.Lock()
	n := len(rc.bodies)
	rc.bodies, rc.headers = append(rc.bodies, body), append(rc.headers, r.Header.Clone())
	status := rc.statuses[min(n, len(rc.statuses)-1)]
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "req-1")
	w.WriteHeader(status)
	switch {
	case status >= 400:
		code := map[int]string{400: CodeInvalidRequest, 503: CodeServiceUnavailable, 500: CodeInternalError}[status]
		_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error": map[string]any{"code": code, "message": "no"}})
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "credits_added": 20, "new_balance": 20,
			"transaction_id": "9f3c2a4e-8a55-4c0e-9a59-6c1f0e0f4f11", "status": "succeeded",
			"reservation_id": "RESV#j", "settled_amount": 1, "remaining_reserved": 0, "refunded_amount": 0})
	}
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func testClient(t *testing.T, rc *recorder, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	opts = append([]Option{WithMasterKey("u", "k"), WithRetries(3, time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := NewClient(srv.URL+"/v1", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func purchase(c *Client, key *string) (*openapi.PurchaseCreditsResponse, error) {
	body := openapi.PurchaseCreditsJSONRequestBody{Amount: 20 * Credit, IdempotencyKey: key}
	body.PaymentMethod.Type, body.PaymentMethod.Token = "stripe", "tok_visa"
	return Check(c.PurchaseCreditsWithResponse(context.Background(), body))
}

func TestRetry_503ThenSuccessKeepsTheIdempotencyKey(t *testing.T) {
	rc := &recorder{statuses: []int{503, 502, 200}}
	res, err := purchase(testClient(t, rc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil || res.JSON200.NewBalance != 20*Credit {
		t.Fatalf("answer %s", res.Body)
	}
	if rc.count() != 3 {
		t.Fatalf("%d attempts, want 3", rc.count())
	}
	key, _ := rc.bodies[0]["idempotency_key"].(string)
	if key == "" {
		t.Fatalf("no idempotency key added: %v", rc.bodies[0])
	}
	for i, b := range rc.bodies {
		if b["idempotency_key"] != key || b["amount"] != float64(20) {
			t.Fatalf("attempt %d sent %v, want the first body (key %s)", i, b, key)
		}
		if rc.headers[i].Get("x-officex-master-key") != "k" || rc.headers[i].Get("x-officex-user-id") != "u" {
			t.Fatalf("attempt %d headers %v", i, rc.headers[i])
		}
	}
	// The caller's own key is kept; a second call gets a new generated key.
	own := "mine-1"
	if _, err := purchase(testClient(t, rc), &own); err != nil || rc.bodies[3]["idempotency_key"] != own {
		t.Fatalf("own key: %v, sent %v", err, rc.bodies[3])
	}
}

func TestRetry_4xxIsNeverRetried(t *testing.T) {
	rc := &recorder{statuses: []int{400, 200}}
	_, err := purchase(testClient(t, rc), nil)
	var e *Error
	if !IsCode(err, CodeInvalidRequest) || !errorsAs(err, &e) || e.StatusCode != 400 || e.Message != "no" {
		t.Fatalf("err = %#v", err)
	}
	if rc.count() != 1 {
		t.Fatalf("%d attempts after a 400, want 1", rc.count())
	}
}

func TestRetry_GivesUpAfterTheLimitWithTheLastError(t *testing.T) {
	rc := &recorder{statuses: []int{503}}
	_, err := purchase(testClient(t, rc, WithRetries(2, time.Millisecond, time.Millisecond)), nil)
	if !IsCode(err, CodeServiceUnavailable) || rc.count() != 3 {
		t.Fatalf("err %v after %d attempts, want SERVICE_UNAVAILABLE after 3", err, rc.count())
	}
}

// A sip has no idempotency key: a 5xx may come after the money moved, so
// it is not sent again; a final settle is (the second finds it closed).
func TestRetry_SipIsNotRetriedOn5xxButAFinalSettleIs(t *testing.T) {
	rc := &recorder{statuses: []int{503, 200}}
	c := testClient(t, rc)
	if _, err := c.Sip(context.Background(), "RESV#j", Credit); !IsCode(err, CodeServiceUnavailable) || rc.count() != 1 {
		t.Fatalf("sip: %v after %d attempts, want one attempt", err, rc.count())
	}
	rc2 := &recorder{statuses: []int{503, 200}}
	s, err := testClient(t, rc2).Settle(context.Background(), "RESV#j", Credit)
	if err != nil || rc2.count() != 2 || s.Settled != Credit {
		t.Fatalf("settle: %+v, %v after %d attempts, want success after 2", s, err, rc2.count())
	}
}

// A refused connection never reached the server: even a sip is tried again.
func TestRetry_RefusedConnectionIsRetriedEvenForASip(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	c, err := NewClient("http://"+addr, WithRetries(2, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, attempts := withAttempts(context.Background())
	if _, err := c.Sip(ctx, "RESV#j", Credit); err == nil || *attempts != 3 {
		t.Fatalf("sip to a closed port: %v after %d attempts, want an error after 3", err, *attempts)
	}
}

func TestRetry_ContextCancelStopsTheBackoff(t *testing.T) {
	rc := &recorder{statuses: []int{503}}
	c := testClient(t, rc, WithRetries(5, time.Hour, time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	body := openapi.PurchaseCreditsJSONRequestBody{Amount: Credit}
	if _, err := c.PurchaseCreditsWithResponse(ctx, body); err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
	if rc.count() != 1 {
		t.Fatalf("%d attempts", rc.count())
	}
}

func TestRoute_MatchesPathPatterns(t *testing.T) {
	r := route{http.MethodPost, "/v1/reservations/{id}/settle"}
	for path, want := range map[string]bool{
		"/v1/reservations/RESV#a/settle": true, "/api/v1/reservations/x/settle": true,
		"/v1/reservations//settle": false, "/v1/reservations/x/cancel": false, "/v1/settle": false,
	} {
		if got := r.matches(http.MethodPost, path); got != want {
			t.Errorf("%s matches %v, want %v", path, got, want)
		}
	}
	if r.matches(http.MethodGet, "/v1/reservations/x/settle") {
		t.Error("GET matched a POST route")
	}
}

func TestNewClient_BaseURLWithOrWithoutV1(t *testing.T) {
	for _, base := range []string{"https://x.test/v1", "https://x.test/v1/", "https://x.test", "https://x.test/"} {
		if got := serverURL(base); got != "https://x.test" {
			t.Errorf("serverURL(%q) = %q", base, got)
		}
	}
}

// The credentials go in the reference's headers, each form on its own.
func TestNewClient_CredentialHeaders(t *testing.T) {
	for _, c := range []struct {
		opt  Option
		want map[string]string
	}{
		{WithMasterKey("u1", "mk"), map[string]string{"x-officex-user-id": "u1", "x-officex-master-key": "mk"}},
		{WithInstallSecret("i1", "is"), map[string]string{"x-officex-install-id": "i1", "x-officex-install-secret": "is"}},
		{WithAppInstallSecret("u1", "a1", "is"), map[string]string{"x-officex-user-id": "u1", "x-officex-app-id": "a1", "x-officex-install-secret": "is"}},
		{WithAdminSecret("as"), map[string]string{"x-officex-admin-secret": "as"}},
	} {
		rc := &recorder{statuses: []int{200}}
		srv := httptest.NewServer(rc)
		cl, err := NewClient(srv.URL, c.opt, WithUserAgent("leads/1"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = cl.BalanceWithResponse(context.Background())
		srv.Close()
		h := rc.headers[0]
		for k, v := range c.want {
			if h.Get(k) != v {
				t.Errorf("%s = %q, want %q (sent %v)", k, h.Get(k), v, h)
			}
		}
		for k := range h {
			if _, wanted := c.want[strings.ToLower(k)]; strings.HasPrefix(strings.ToLower(k), "x-officex-") && !wanted {
				t.Errorf("%s sent too: %v", k, h)
			}
		}
		if h.Get("User-Agent") != "leads/1" {
			t.Errorf("User-Agent %q", h.Get("User-Agent"))
		}
	}
}
