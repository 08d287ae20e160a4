package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/chat"
	"github.com/officex/officex/internal/refs"
	"github.com/officex/officex/internal/testenv"
)

func countRefs(t *testing.T, userID string) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM refs WHERE user_id = $1", userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func createRef(t *testing.T, c *testenv.Client, u testenv.User, body map[string]any) map[string]any {
	t.Helper()
	return c.Post("/users/me/refs", body, u.Headers()).Expect(t, 201, "").Object("ref")
}

// newThread makes a thread of u through the chat service, with messages
// saved as the agent saves them.
func newThread(t *testing.T, u testenv.User, title string, msgs ...chat.Message) chat.Thread {
	t.Helper()
	ctx := context.Background()
	th, err := env.Chats().CreateThread(ctx, uuid.MustParse(u.ID), chat.NewThread{Title: title})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		m.ThreadID = th.ID
		if _, err := env.Chats().SaveMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	return th
}

func TestRefs_TextRoundTripPublicLinkAndDelete(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	ref := createRef(t, c, u, map[string]any{"slug": "my-notes-1", "title": "Notes", "content": "Hello, world."})
	if ref["slug"] != "my-notes-1" || ref["title"] != "Notes" || ref["content"] != "Hello, world." || ref["kind"] != "text" ||
		ref["created_at"] == nil || ref["messages"] != nil {
		t.Fatalf("created ref %v", ref)
	}
	got := c.Get("/users/me/refs/my-notes-1", u.Headers()).Expect(t, 200, "").Object("ref")
	if fmt.Sprint(got) != fmt.Sprint(ref) {
		t.Fatalf("owner's ref %v, want %v", got, ref)
	}
	pub := c.Get("/refs/my-notes-1", nil).Expect(t, 200, "")
	want := map[string]any{"slug": "my-notes-1", "title": "Notes", "content": "Hello, world.", "created_at": ref["created_at"]}
	if fmt.Sprint(pub.Object("ref")) != fmt.Sprint(want) {
		t.Fatalf("public ref %s, want exactly %v", pub.Raw, want)
	}
	untitled := createRef(t, c, u, map[string]any{"content": "no title"})
	if untitled["title"] != refs.DefaultTextTitle || !regexp.MustCompile(`^[a-z0-9]{10}$`).MatchString(untitled["slug"].(string)) {
		t.Fatalf("a ref without slug or title %v", untitled)
	}

	list := c.Get("/users/me/refs", u.Headers()).Expect(t, 200, "")
	items := list.Body["refs"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["slug"] != untitled["slug"] || items[1].(map[string]any)["slug"] != "my-notes-1" {
		t.Fatalf("list (newest first) %s", list.Raw)
	}
	if items[1].(map[string]any)["content"] != nil || items[1].(map[string]any)["kind"] != "text" {
		t.Fatalf("a list item carries the content or no kind: %v", items[1])
	}

	c.Do(http.MethodDelete, "/users/me/refs/my-notes-1", nil, u.Headers()).Expect(t, 200, "")
	c.Get("/refs/my-notes-1", nil).Expect(t, 404, "NOT_FOUND")
	c.Get("/users/me/refs/my-notes-1", u.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodDelete, "/users/me/refs/my-notes-1", nil, u.Headers()).Expect(t, 404, "NOT_FOUND")
	if n := len(c.Get("/users/me/refs", u.Headers()).Expect(t, 200, "").Body["refs"].([]any)); n != 1 {
		t.Fatalf("%d refs listed after delete, want 1", n)
	}
	// The deleted ref's text is gone, and its slug is never handed out again.
	var content *string
	if err := env.Pool.QueryRow(context.Background(), "SELECT content FROM refs WHERE slug = 'my-notes-1'").Scan(&content); err != nil || content != nil {
		t.Fatalf("deleted ref content %v (%v)", content, err)
	}
	c.Post("/users/me/refs", map[string]any{"slug": "my-notes-1", "content": "someone else's"}, c.NewUser().Headers()).
		Expect(t, 409, "DUPLICATE_REQUEST")
	c.Get("/refs/no-such-ref", nil).Expect(t, 404, "NOT_FOUND")
	c.Get("/refs/NOT_A_SLUG", nil).Expect(t, 404, "NOT_FOUND")
	c.Get("/users/me/refs", nil).Expect(t, 401, "UNAUTHORIZED")
	c.Post("/users/me/refs", map[string]any{"content": "x"}, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestRefs_ThreadIsASnapshotThatLeaksNothingPrivate(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	const secret = "agentctx-canary-7f3a9c"
	th := newThread(t, u, "Trip to Lisbon",
		chat.Message{Role: chat.RoleUser, Content: "Plan my trip to Lisbon."},
		chat.Message{Role: chat.RoleAssistant, Content: "", ToolCalls: []chat.ToolCall{{ID: "call_1", Name: "http_request",
			Arguments: `{"url":"https://api.example.com/trips","headers":{"Authorization":"Bearer ` + secret + `"}}`}}},
		chat.Message{Role: chat.RoleTool, ToolCallID: "call_1", Content: `{"status":200,"body":"token ` + secret + `"}`},
		chat.Message{Role: chat.RoleAssistant, Content: "Day 1: Alfama. Day 2: Belém."},
	)
	ref := createRef(t, c, u, map[string]any{"thread_id": th.ID.String()})
	slug := ref["slug"].(string)
	if ref["title"] != "Trip to Lisbon" || ref["kind"] != "thread" || ref["thread_id"] != th.ID.String() || ref["content"] != nil {
		t.Fatalf("thread ref %v", ref)
	}
	// A message after the ref is not shared.
	if _, err := env.Chats().SaveMessage(context.Background(), chat.Message{ThreadID: th.ID, Role: chat.RoleUser, Content: "later message"}); err != nil {
		t.Fatal(err)
	}

	pub := c.Get("/refs/"+slug, nil).Expect(t, 200, "")
	got := pub.Object("ref")
	msgs, _ := got["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("public messages %s; want the user's question and the final answer", pub.Raw)
	}
	first, last := msgs[0].(map[string]any), msgs[1].(map[string]any)
	if first["role"] != "user" || first["content"] != "Plan my trip to Lisbon." || first["created_at"] == nil || len(first) != 3 ||
		last["role"] != "assistant" || last["content"] != "Day 1: Alfama. Day 2: Belém." || len(last) != 3 {
		t.Fatalf("public messages %v", msgs)
	}
	if len(got) != 4 || got["slug"] != slug || got["title"] != "Trip to Lisbon" || got["created_at"] == nil {
		t.Fatalf("public ref has other fields than slug, title, messages, created_at: %v", got)
	}
	raw := string(pub.Raw)
	for name, private := range map[string]string{"user id": u.ID, "email": u.Email, "thread id": th.ID.String(),
		"agent_context value": secret, "later message": "later message", "tool call": "call_1", "tool name": "http_request"} {
		if strings.Contains(raw, private) {
			t.Errorf("the public ref shows the %s: %s", name, raw)
		}
	}
	// The owner's copy is the same snapshot.
	owner := c.Get("/users/me/refs/"+slug, u.Headers()).Expect(t, 200, "").Object("ref")
	if fmt.Sprint(owner["messages"]) != fmt.Sprint(got["messages"]) || strings.Contains(fmt.Sprint(owner), secret) {
		t.Fatalf("owner's ref %v", owner)
	}
	// Deleting the thread leaves the shared copy.
	if err := env.Chats().DeleteThread(context.Background(), uuid.MustParse(u.ID), th.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Get("/refs/"+slug, nil).Expect(t, 200, "").Object("ref")["messages"].([]any)); n != 2 {
		t.Fatalf("%d messages after the thread was deleted", n)
	}
	c.Do(http.MethodDelete, "/users/me/refs/"+slug, nil, u.Headers()).Expect(t, 200, "")
	c.Get("/refs/"+slug, nil).Expect(t, 404, "NOT_FOUND")

	empty := newThread(t, u, "Empty")
	if m := createRef(t, c, u, map[string]any{"thread_id": empty.ID.String(), "title": "Nothing yet"})["messages"].([]any); len(m) != 0 {
		t.Fatalf("an empty thread's ref %v", m)
	}
	// Another user's thread, or none, can't be shared.
	other := c.NewUser()
	c.Post("/users/me/refs", map[string]any{"thread_id": empty.ID.String()}, other.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Post("/users/me/refs", map[string]any{"thread_id": uuid.NewString()}, u.Headers()).Expect(t, 404, "NOT_FOUND")
	if n := countRefs(t, other.ID); n != 0 {
		t.Fatalf("another user's refused ref wrote %d rows", n)
	}
}

func TestRefs_EveryLimitAtAndOver(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	th := newThread(t, u, "t", chat.Message{Role: chat.RoleUser, Content: "hi"})
	slug64 := strings.Repeat("a-9", 21) + "z"
	createRef(t, c, u, map[string]any{"slug": "abc", "content": "x"})
	createRef(t, c, u, map[string]any{"slug": slug64, "title": strings.Repeat("é", refs.MaxTitleLen),
		"content": strings.Repeat("c", refs.MaxContentLen)})
	before := countRefs(t, u.ID)

	with := func(kv ...any) map[string]any {
		b := map[string]any{"content": "x"}
		for i := 0; i < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return b
	}
	bad := map[string]any{
		"slug too short":       with("slug", "ab"),
		"slug too long":        with("slug", slug64+"a"),
		"slug upper case":      with("slug", "My-Notes"),
		"slug underscore":      with("slug", "my_notes"),
		"slug slash":           with("slug", "a/b/c"),
		"slug empty":           with("slug", ""),
		"title over":           with("title", strings.Repeat("é", refs.MaxTitleLen+1)),
		"content over":         with("content", strings.Repeat("c", refs.MaxContentLen+1)),
		"content empty":        with("content", ""),
		"content blank":        with("content", " \n "),
		"content with NUL":     with("content", "a\x00b"),
		"thread and content":   with("thread_id", th.ID.String()),
		"neither":              map[string]any{"title": "t"},
		"thread_id not a uuid": map[string]any{"thread_id": "abc"},
		"unknown field":        with("user_id", u.ID),
		"messages set":         with("messages", []any{}),
		"wrong type":           with("title", 5),
		"malformed":            `{"content": "x"`,
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			c.Post("/users/me/refs", body, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
		})
	}
	c.Post("/users/me/refs", with("slug", "abc"), u.Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	c.Post("/users/me/refs", with("slug", "abc"), c.NewUser().Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	if n := countRefs(t, u.ID); n != before {
		t.Fatalf("refused refs wrote rows: %d, want %d", n, before)
	}
	if pub := c.Get("/refs/abc", nil).Expect(t, 200, ""); pub.Object("ref")["content"] != "x" {
		t.Fatalf("a refused duplicate changed the ref: %s", pub.Raw)
	}
}

func TestRefs_ThreadSnapshotLimitsAtAndOver(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	ctx := context.Background()
	addMessages := func(thread uuid.UUID, n, size int) {
		t.Helper()
		if _, err := env.Pool.Exec(ctx, `INSERT INTO chat_messages (thread_id, role, content)
			SELECT $1, 'assistant', repeat('m', $3::int) FROM generate_series(1, $2::int)`, thread, n, size); err != nil {
			t.Fatal(err)
		}
	}
	// Tool messages don't count towards the limits: they are never copied.
	long := newThread(t, u, "long")
	addMessages(long.ID, refs.MaxMessages, 1)
	if _, err := env.Pool.Exec(ctx, `INSERT INTO chat_messages (thread_id, role, content, tool_call_id) VALUES ($1, 'tool', 'r', 'c1')`, long.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(createRef(t, c, u, map[string]any{"thread_id": long.ID.String()})["messages"].([]any)); n != refs.MaxMessages {
		t.Fatalf("copied %d messages, want %d", n, refs.MaxMessages)
	}
	addMessages(long.ID, 1, 1)
	c.Post("/users/me/refs", map[string]any{"thread_id": long.ID.String()}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")

	big := newThread(t, u, "big")
	addMessages(big.ID, 10, refs.MaxSnapshotChars/10)
	createRef(t, c, u, map[string]any{"thread_id": big.ID.String()})
	addMessages(big.ID, 1, 1)
	c.Post("/users/me/refs", map[string]any{"thread_id": big.ID.String()}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	if n := countRefs(t, u.ID); n != 2 {
		t.Fatalf("%d refs, want the 2 at the limits", n)
	}
}

func TestRefs_ListPagesNewestFirst(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	var made []string
	for i := range 5 {
		made = append(made, createRef(t, c, u, map[string]any{"content": fmt.Sprint("text ", i)})["slug"].(string))
	}
	var seen []string
	cursor := ""
	for pages := 1; ; pages++ {
		r := c.Get("/users/me/refs?limit=2"+cursor, u.Headers()).Expect(t, 200, "")
		for _, it := range r.Body["refs"].([]any) {
			seen = append(seen, it.(map[string]any)["slug"].(string))
		}
		pg := r.Object("pagination")
		if pg["has_more"] != true {
			if pg["next_cursor"] != nil || pages != 3 {
				t.Fatalf("last page %d: %v", pages, pg)
			}
			break
		}
		cursor = "&cursor=" + pg["next_cursor"].(string)
	}
	if want := []string{made[4], made[3], made[2], made[1], made[0]}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("pages %v, want newest first %v", seen, want)
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?cursor=garbage"} {
		c.Get("/users/me/refs"+q, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
}

func TestRefs_CapOf1000PerUserCountsLiveRefs(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	// All but one inserted directly, to reach the cap quickly.
	if _, err := env.Pool.Exec(context.Background(), `INSERT INTO refs (slug, user_id, title, content)
		SELECT 'cap-' || $1::uuid::text || '-' || g, $1::uuid, 't', 'c' FROM generate_series(1, $2::int) g`, u.ID, refs.MaxPerUser-1); err != nil {
		t.Fatal(err)
	}
	last := createRef(t, c, u, map[string]any{"content": "the 1000th"})
	r := c.Post("/users/me/refs", map[string]any{"content": "the 1001st"}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	if !strings.Contains(string(r.Raw), "1000") {
		t.Fatalf("the refusal does not say the cap: %s", r.Raw)
	}
	c.Do(http.MethodDelete, "/users/me/refs/"+last["slug"].(string), nil, u.Headers()).Expect(t, 200, "")
	createRef(t, c, u, map[string]any{"content": "room again"})
	c.Post("/users/me/refs", map[string]any{"content": "over again"}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
}

func TestRefs_AnotherUsersRefIsNotFoundAndUnchanged(t *testing.T) {
	c := env.Client(t)
	owner, other := c.NewUser(), c.NewUser()
	ref := createRef(t, c, owner, map[string]any{"content": "mine"})
	path := "/users/me/refs/" + ref["slug"].(string)
	c.Get(path, other.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodDelete, path, nil, other.Headers()).Expect(t, 404, "NOT_FOUND")
	if list := c.Get("/users/me/refs", other.Headers()).Expect(t, 200, ""); len(list.Body["refs"].([]any)) != 0 {
		t.Fatalf("another user's list %s", list.Raw)
	}
	if got := c.Get(path, owner.Headers()).Expect(t, 200, "").Object("ref"); fmt.Sprint(got) != fmt.Sprint(ref) {
		t.Fatalf("ref after another user's attempts %v, want %v", got, ref)
	}
	c.Get("/refs/"+ref["slug"].(string), nil).Expect(t, 200, "")
}

func TestRefs_SuspendedUsersRefsAreHiddenUntilReactivated(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	slug := createRef(t, c, u, map[string]any{"content": "shared", "title": "  "})["slug"].(string)
	if got := c.Get("/refs/"+slug, nil).Expect(t, 200, "").Object("ref"); got["title"] != refs.DefaultTextTitle {
		t.Fatalf("a blank title is not the default: %v", got)
	}
	c.Do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"status": "suspended"}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Get("/refs/"+slug, nil).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"status": "active"}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Get("/refs/"+slug, nil).Expect(t, 200, "")
}
