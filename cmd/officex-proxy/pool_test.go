package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
)

// fakeAPI is an officex serve stand-in: /readyz answers ready's status, every
// other path answers its name and the X-Forwarded-For it was given.
type fakeAPI struct {
	name  string
	ready atomic.Int32
	srv   *httptest.Server
}

func newFakeAPI(t *testing.T, name string) *fakeAPI {
	f := &fakeAPI{name: name}
	f.ready.Store(http.StatusOK)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == readyPath {
			w.WriteHeader(int(f.ready.Load()))
			return
		}
		io.WriteString(w, f.name+" "+r.Header.Get("X-Forwarded-For")+" "+r.URL.Path)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) url(t *testing.T) *url.URL {
	u, err := url.Parse(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func startPool(t *testing.T, apis ...*fakeAPI) (*pool, *httptest.Server) {
	var urls []*url.URL
	for _, a := range apis {
		urls = append(urls, a.url(t))
	}
	p := newPool(urls, slog.New(slog.DiscardHandler))
	p.checkAll(t.Context())
	front := httptest.NewServer(p.handler())
	t.Cleanup(front.Close)
	return p, front
}

func get(t *testing.T, url string, header http.Header) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestPool_RoundRobinsOverReadyBackendsOnly(t *testing.T) {
	a, b, c := newFakeAPI(t, "a"), newFakeAPI(t, "b"), newFakeAPI(t, "c")
	c.ready.Store(http.StatusServiceUnavailable) // e.g. its Temporal is unreachable
	p, front := startPool(t, a, b, c)
	seen := map[string]int{}
	for range 10 {
		status, body := get(t, front.URL+"/v1/me", nil)
		if status != http.StatusOK {
			t.Fatalf("status %d (%s), want 200", status, body)
		}
		seen[body[:1]]++
	}
	if seen["a"] != 5 || seen["b"] != 5 || seen["c"] != 0 {
		t.Errorf("requests per backend %v, want 5 each on a and b and none on the unready c", seen)
	}

	a.ready.Store(http.StatusServiceUnavailable)
	c.ready.Store(http.StatusOK)
	p.checkAll(t.Context())
	for range 4 {
		if _, body := get(t, front.URL+"/v1/me", nil); body[:1] == "a" {
			t.Fatalf("request went to a after it stopped being ready")
		}
	}
}

func TestPool_NoReadyBackendAnswersTheErrorEnvelope(t *testing.T) {
	a := newFakeAPI(t, "a")
	a.ready.Store(http.StatusServiceUnavailable)
	_, front := startPool(t, a)
	status, body := get(t, front.URL+"/v1/me", nil)
	var env struct {
		Success bool              `json:"success"`
		Error   map[string]string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || status != http.StatusServiceUnavailable ||
		env.Success || env.Error["code"] != "INTERNAL_ERROR" || env.Error["message"] == "" {
		t.Errorf("got %d %s, want 503 with the error envelope", status, body)
	}
}

func TestPool_DeadBackendLeavesRotationAfterOneFailure(t *testing.T) {
	a, b := newFakeAPI(t, "a"), newFakeAPI(t, "b")
	_, front := startPool(t, a, b)
	a.srv.Close() // dies between two checks
	failures := 0
	for range 6 {
		if status, _ := get(t, front.URL+"/v1/me", nil); status == http.StatusBadGateway {
			failures++
		} else if status != http.StatusOK {
			t.Fatalf("status %d, want 200 or one 502", status)
		}
	}
	if failures != 1 {
		t.Errorf("%d requests failed, want exactly one (then a is out of rotation)", failures)
	}
}

func TestPool_ForwardedForComesFromTheConnectionNotTheClient(t *testing.T) {
	a := newFakeAPI(t, "a")
	_, front := startPool(t, a)
	_, body := get(t, front.URL+"/v1/me", http.Header{"X-Forwarded-For": {"203.0.113.9"}})
	if body != "a 127.0.0.1 /v1/me" {
		t.Errorf("backend saw %q, want the path and X-Forwarded-For 127.0.0.1 only (the spoofed address dropped)", body)
	}
}
