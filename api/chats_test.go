package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestChats_ThreadCRUDWithFiltersAndPagination(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	h := u.Headers()
	empty := c.Post("/users/me/chats", nil, h).Expect(t, 201, "").Object("thread")
	if empty["title"] != "New chat" || empty["tracer_id"] != nil || empty["message_count"] != float64(0) {
		t.Fatalf("default thread %v", empty)
	}
	for i := 0; i < 3; i++ {
		c.Post("/users/me/chats", map[string]any{"title": fmt.Sprintf("Lead run %d", i), "project_id": "proj-1",
			"tracer_id": "trc_mfx1a2b-abc123"}, h).Expect(t, 201, "")
	}
	page := c.Get("/users/me/chats?limit=2", h).Expect(t, 200, "")
	threads := page.Body["threads"].([]any)
	if len(threads) != 2 || threads[0].(map[string]any)["title"] != "Lead run 2" {
		t.Fatalf("first page %s", page.Raw)
	}
	next := page.Object("pagination")["next_cursor"].(string)
	rest := c.Get("/users/me/chats?limit=2&cursor="+next, h).Expect(t, 200, "")
	if n := len(rest.Body["threads"].([]any)); n != 2 || rest.Object("pagination")["has_more"] != false {
		t.Fatalf("second page %s", rest.Raw)
	}
	if n := len(c.Get("/users/me/chats?tracer_id=trc_mfx1a2b-abc123", h).Expect(t, 200, "").Body["threads"].([]any)); n != 3 {
		t.Fatalf("%d threads by tracer, want 3", n)
	}
	if n := len(c.Get("/users/me/chats?project_id=proj-1&tracer_id=other", h).Expect(t, 200, "").Body["threads"].([]any)); n != 0 {
		t.Fatalf("%d threads for a tracer nobody used", n)
	}

	id := threads[0].(map[string]any)["thread_id"].(string)
	got := c.Get("/users/me/chats/"+id, h).Expect(t, 200, "")
	if got.Object("thread")["project_id"] != "proj-1" || len(got.Body["messages"].([]any)) != 0 {
		t.Fatalf("get %s", got.Raw)
	}
	patched := c.Do(http.MethodPatch, "/users/me/chats/"+id, map[string]any{"title": "Renamed", "tracer_id": nil}, h).Expect(t, 200, "").Object("thread")
	if patched["title"] != "Renamed" || patched["tracer_id"] != nil || patched["project_id"] != "proj-1" {
		t.Fatalf("patched %v", patched)
	}
	kept := c.Do(http.MethodPatch, "/users/me/chats/"+id, map[string]any{"tracer_id": "trc_x-1"}, h).Expect(t, 200, "").Object("thread")
	if kept["title"] != "Renamed" || kept["tracer_id"] != "trc_x-1" {
		t.Fatalf("tracer patch %v", kept)
	}
	c.Do(http.MethodDelete, "/users/me/chats/"+id, nil, h).Expect(t, 200, "")
	c.Get("/users/me/chats/"+id, h).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodDelete, "/users/me/chats/"+id, nil, h).Expect(t, 404, "NOT_FOUND")
}

func TestChats_AnotherUsersThreadIsNotFoundEverywhere(t *testing.T) {
	c := env.Client(t)
	owner, other := c.NewUser(), c.NewUser()
	id := c.Post("/users/me/chats", map[string]any{"title": "Private"}, owner.Headers()).Expect(t, 201, "").Object("thread")["thread_id"].(string)
	h := other.Headers()
	c.Get("/users/me/chats/"+id, h).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodPatch, "/users/me/chats/"+id, map[string]any{"title": "Mine now"}, h).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodDelete, "/users/me/chats/"+id, nil, h).Expect(t, 404, "NOT_FOUND")
	if n := len(c.Get("/users/me/chats", h).Expect(t, 200, "").Body["threads"].([]any)); n != 0 {
		t.Fatalf("another user lists %d threads", n)
	}
	if title := c.Get("/users/me/chats/"+id, owner.Headers()).Expect(t, 200, "").Object("thread")["title"]; title != "Private" {
		t.Fatalf("title changed to %v", title)
	}
	c.Get("/users/me/chats/not-a-uuid", owner.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Get("/users/me/chats", nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestChats_LimitsAtAndOver(t *testing.T) {
	c := env.Client(t)
	h := c.NewUser().Headers()
	c.Post("/users/me/chats", map[string]any{"title": strings.Repeat("é", 200), "project_id": strings.Repeat("p", 100),
		"tracer_id": "trc_" + strings.Repeat("a", 96)}, h).Expect(t, 201, "")
	for _, bad := range []map[string]any{
		{"title": strings.Repeat("t", 201)},
		{"project_id": strings.Repeat("p", 101)},
		{"project_id": ""},
		{"tracer_id": "trc_" + strings.Repeat("a", 97)},
		{"tracer_id": "trc_bad id"},
		{"tracer_id": "trc_<script>"},
		{"title": "x", "owner": "me"},
		{"message_count": 3},
	} {
		c.Post("/users/me/chats", bad, h).Expect(t, 400, "INVALID_REQUEST")
	}
	id := c.Post("/users/me/chats", nil, h).Expect(t, 201, "").Object("thread")["thread_id"].(string)
	c.Do(http.MethodPatch, "/users/me/chats/"+id, map[string]any{"title": ""}, h).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, "/users/me/chats/"+id, map[string]any{"tracer_id": "no spaces allowed"}, h).Expect(t, 400, "INVALID_REQUEST")
	c.Get("/users/me/chats?limit=101", h).Expect(t, 400, "INVALID_REQUEST")
	if n := len(c.Get("/users/me/chats", h).Expect(t, 200, "").Body["threads"].([]any)); n != 2 {
		t.Fatalf("%d threads after refusals, want 2", n)
	}
}
