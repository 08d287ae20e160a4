package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/officex/officex/internal/testenv"
)

func reservationCount(t *testing.T, installID string) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM reservations WHERE install_id = $1", installID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNULBytes_AreRefusedWith400Everywhere: PostgreSQL refuses a NUL byte in
// text and jsonb, so a NUL that reached a query used to answer 500. The
// decoder and the path/query check refuse it before any handler runs.
func TestNULBytes_AreRefusedWith400Everywhere(t *testing.T) {
	c := env.Client(t)
	vendor, a, in := billingSetup(t, c, "20", nil)
	c.Post("/reserve", map[string]any{"amount": 5, "job_id": "open-1"}, in.Headers()).Expect(t, 200, "")
	const nul = "\x00"

	bodies := []struct {
		method, path string
		body         any
		h            testenv.Headers
	}{
		{"POST", "/reserve", map[string]any{"amount": 1, "job_id": "a" + nul + "b"}, in.Headers()},
		{"POST", "/reserve", map[string]any{"amount": 1, "job_id": "meta-1", "metadata": map[string]any{"k": "v" + nul}}, in.Headers()},
		{"POST", "/reserve", map[string]any{"amount": 1, "job_id": "meta-2", "metadata": map[string]any{"k" + nul: 1}}, in.Headers()},
		{"POST", "/reserve", `{"amount": 1, "job_id": "meta-3", "metadata": {"deep": [{"x": "\u0000"}]}}`, in.Headers()},
		{"POST", "/settle", map[string]any{"reservation_id": "RESV#open-1" + nul, "amount": 1}, in.Headers()},
		{"POST", "/installs/" + in.ID + "/inbox", map[string]any{"id": "m" + nul, "title": "t", "text": "x"}, in.Headers()},
		{"POST", "/installs/" + in.ID + "/inbox", map[string]any{"id": "m", "title": "t" + nul, "text": "x"}, in.Headers()},
		{"POST", "/installs/" + in.ID + "/inbox", map[string]any{"id": "m", "title": "t", "text": "x" + nul}, in.Headers()},
		{"PATCH", "/installs/" + in.ID + "/context", map[string]any{"key": "v" + nul}, in.Headers()},
		{"POST", "/register-app", map[string]any{"name": "NUL" + nul + "App"}, vendor.Headers()},
		{"PATCH", "/users/me/apps/" + a.ID, map[string]any{"description": "x" + nul}, vendor.Headers()},
		{"PATCH", "/users/me/apps/" + a.ID, map[string]any{"tags": []string{"ok", "bad" + nul}}, vendor.Headers()},
		{"POST", "/users/me/prompts", map[string]any{"title": "t", "content": "c" + nul}, vendor.Headers()},
		{"POST", "/auth/register", map[string]any{"email": "a" + nul + "@example.com"}, nil},
	}
	for _, b := range bodies {
		c.Do(b.method, b.path, b.body, b.h).Expect(t, 400, "INVALID_REQUEST")
	}
	paths := []struct {
		method, path string
		h            testenv.Headers
	}{
		{"GET", "/reservations/RESV%23open-1%00", in.Headers()},
		{"POST", "/reservations/RESV%23op%00en-1/settle", in.Headers()},
		{"POST", "/reservations/%00/cancel", in.Headers()},
		{"GET", "/apps?q=%00", nil},
		{"GET", "/apps?category=a%00b", nil},
		{"GET", "/apps?tag=x%00", nil},
		{"GET", "/apps?%00=1", nil},
		{"GET", "/apps/%00" + a.Slug, nil},
		{"GET", "/vouchers/OFX-%00", nil},
		{"GET", "/refs/a%00b", nil},
		{"GET", "/users/me/apps/" + a.ID + "%00", vendor.Headers()},
		{"GET", "/users/me/inbox?unread=%00", in.User.Headers()},
	}
	for _, p := range paths {
		var body any
		if p.method == "POST" {
			body = map[string]any{"amount": 1}
		}
		c.Do(p.method, p.path, body, p.h).Expect(t, 400, "INVALID_REQUEST")
	}

	// Nothing changed.
	if av, res := c.Balance(in.User); av != 15 || res != 5 {
		t.Fatalf("user wallet %v/%v, want 15/5", av, res)
	}
	if n := reservationCount(t, in.ID); n != 1 {
		t.Fatalf("%d reservations, want the one open", n)
	}
	if n := inboxCount(t, in.User.ID); n != 0 {
		t.Fatalf("%d inbox messages", n)
	}
	got := c.Get("/users/me/apps/"+a.ID, vendor.Headers()).Expect(t, 200, "").Object("app")
	if got["description"] != nil && got["description"] != "" || len(c.Get("/users/me/apps", vendor.Headers()).Expect(t, 200, "").Body["apps"].([]any)) != 1 {
		t.Fatalf("app changed: %v", got)
	}
	c.Post("/reservations/RESV%23open-1/cancel", nil, in.Headers()).Expect(t, 200, "")
}

// TestDuplicateJSONKeys_AreRefusedAtAnyDepth: with encoding/json the last of
// two equal keys silently wins, so a proxy or a log that reads the first one
// sees another request than the one executed.
func TestDuplicateJSONKeys_AreRefusedAtAnyDepth(t *testing.T) {
	c := env.Client(t)
	_, a, in := billingSetup(t, c, "20", nil)
	vendor := c.NewUser()
	for _, b := range []struct {
		path, body string
		h          testenv.Headers
	}{
		{"/reserve", `{"amount": 1, "job_id": "d-1", "amount": 15}`, in.Headers()},
		{"/reserve", `{"amount": 1, "job_id": "d-2", "metadata": {"a": 1, "a": 2}}`, in.Headers()},
		{"/reserve", `{"amount": 1, "job_id": "d-3", "metadata": {"list": [{"x": 1}, {"y": 1, "y": 2}]}}`, in.Headers()},
		{"/installs/" + in.ID + "/inbox", `{"id": "m", "title": "t", "text": "x", "title": "other"}`, in.Headers()},
		{"/register-app", `{"name": "Dup", "name": "Dup 2"}`, vendor.Headers()},
		{"/auth/register", `{"email": "a@example.com", "email": "b@example.com"}`, nil},
	} {
		c.Post(b.path, b.body, b.h).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Do(http.MethodPatch, "/users/me/apps/"+a.ID, `{"description": "x", "description": "y"}`, c.NewUser().Headers()).Expect(t, 400, "INVALID_REQUEST")
	if av, res := c.Balance(in.User); av != 20 || res != 0 {
		t.Fatalf("user wallet %v/%v, want 20/0", av, res)
	}
	if n := reservationCount(t, in.ID); n != 0 {
		t.Fatalf("%d reservations, want none", n)
	}
	// Equal keys in different objects are fine.
	c.Post("/reserve", `{"amount": 1, "job_id": "d-ok", "metadata": {"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}}`, in.Headers()).Expect(t, 200, "")
	c.Post("/reservations/RESV%23d-ok/cancel", nil, in.Headers()).Expect(t, 200, "")
}
