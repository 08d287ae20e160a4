package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

// Client calls the API for one test. Its creation registers the cleanup that
// checks the ledger invariants after the test.
type Client struct {
	t       testing.TB
	baseURL string
	// offTest: the client of Concurrent, used off the test's goroutine.
	offTest bool
}

// Concurrent is this client for goroutines other than the test's: t.Fatal
// must not run there, so a request that cannot be made or answers no JSON
// is reported with t.Errorf and answers a zero Response (status 0), which
// the test's own checks then refuse after the goroutines end.
func (c *Client) Concurrent() *Client {
	cc := *c
	cc.offTest = true
	return &cc
}

// fail reports a request that could not be made or read.
func (c *Client) fail(format string, args ...any) {
	c.t.Helper()
	if c.offTest {
		c.t.Errorf(format, args...)
		return
	}
	c.t.Fatalf(format, args...)
}

// Client returns a client of the package's API for t.
func (e *Env) Client(t testing.TB) *Client {
	t.Helper()
	t.Cleanup(func() { e.CheckInvariants(t) })
	return &Client{t: t, baseURL: e.BaseURL}
}

// ClientFor is Client against another server (see Env.NewHandler).
func (e *Env) ClientFor(t testing.TB, serverURL string) *Client {
	c := e.Client(t)
	c.baseURL = serverURL + "/v1"
	return c
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// Headers are request headers; AsUser/AsAdmin build the usual ones.
type Headers map[string]string

// Do sends method path with body (a Go value marshalled to JSON, a string or
// []byte sent as is, or nil) and decodes the JSON answer. The exchange is
// checked against api/openapi.yaml (openapi.go): the answer always, the
// request when the API accepted it.
func (c *Client) Do(method, path string, body any, h Headers) Response {
	c.t.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	case []byte:
		sent = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.fail("marshal body: %v", err)
			return Response{}
		}
		sent = raw
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, c.baseURL+path, rd)
	if err != nil {
		c.fail("new request: %v", err)
		return Response{}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.fail("%s %s: %v", method, path, err)
		return Response{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	c.checkContract(req, sent, resp, raw)
	out := Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			c.fail("%s %s: answer is not a JSON object (%d): %s", method, path, resp.StatusCode, raw)
			return Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
		}
	}
	return out
}

// Post is Do with POST.
func (c *Client) Post(path string, body any, h Headers) Response {
	c.t.Helper()
	return c.Do(http.MethodPost, path, body, h)
}

// Get is Do with GET.
func (c *Client) Get(path string, h Headers) Response {
	c.t.Helper()
	return c.Do(http.MethodGet, path, nil, h)
}

// Expect fails the test unless the answer has status and, for an error, code.
func (r Response) Expect(t testing.TB, status int, code string) Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if code != "" && r.Code() != code {
		t.Fatalf("error code %q, want %q: %s", r.Code(), code, r.Raw)
	}
	if status < 300 && r.Body["success"] != true {
		t.Fatalf("success is not true: %s", r.Raw)
	}
	if status >= 400 && r.Body["success"] != false {
		t.Fatalf("error answer without success:false: %s", r.Raw)
	}
	return r
}

// Code is the error code of an error answer.
func (r Response) Code() string {
	e, _ := r.Body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// String returns a top-level string field.
func (r Response) String(field string) string {
	s, _ := r.Body[field].(string)
	return s
}

// Object returns a top-level object field.
func (r Response) Object(field string) map[string]any {
	o, _ := r.Body[field].(map[string]any)
	return o
}

// User is a signed-up account with its master key.
type User struct {
	ID, Email, Key, WalletID string
}

// Headers authenticates as u with the master key.
func (u User) Headers() Headers {
	return Headers{"x-officex-user-id": u.ID, "x-officex-master-key": u.Key}
}

// AdminHeaders authenticates as superadmin.
func AdminHeaders() Headers { return Headers{"x-officex-admin-secret": AdminSecret} }

var userSeq atomic.Int64

// UniqueEmail returns an address no other test uses.
func UniqueEmail(tag string) string {
	return fmt.Sprintf("%s-%d-%s@example.com", tag, userSeq.Add(1), randHex(4))
}

// NewUser signs up through the reference's flow (register, verify-otp 0000).
func (c *Client) NewUser() User {
	c.t.Helper()
	email := UniqueEmail("user")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(c.t, http.StatusOK, "")
	r := c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(c.t, http.StatusOK, "")
	return User{ID: r.String("user_id"), Email: email, Key: r.String("api_key"), WalletID: r.String("wallet_id")}
}

// Fund credits amount to wallet through an admin adjustment.
func (c *Client) Fund(wallet, amount string) {
	c.t.Helper()
	c.Post("/admin/wallets/"+wallet+"/adjust", map[string]any{"amount": amount, "reason": "test funding"}, AdminHeaders()).
		Expect(c.t, http.StatusOK, "")
}

// Balance returns a user's available and reserved credits as the API shows them.
func (c *Client) Balance(u User) (available, reserved float64) {
	c.t.Helper()
	r := c.Get("/balance", u.Headers()).Expect(c.t, http.StatusOK, "")
	return r.Body["available"].(float64), r.Body["reserved"].(float64)
}
