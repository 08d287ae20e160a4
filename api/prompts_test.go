package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/officex/officex/internal/prompts"
	"github.com/officex/officex/internal/testenv"
)

func countPrompts(t *testing.T, userID string) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM prompts WHERE user_id = $1", userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func createPrompt(t *testing.T, c *testenv.Client, u testenv.User, body map[string]any) map[string]any {
	t.Helper()
	return c.Post("/users/me/prompts", body, u.Headers()).Expect(t, 201, "").Object("prompt")
}

func TestPrompts_CreateGetPatchDeleteRoundTrip(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	p := createPrompt(t, c, u, map[string]any{"title": "Weekly report", "content": "Summarize my week.", "tags": []string{"work", "weekly", "work"}})
	id := p["prompt_id"].(string)
	if p["title"] != "Weekly report" || p["content"] != "Summarize my week." || fmt.Sprint(p["tags"]) != "[work weekly]" ||
		p["created_at"] == nil || p["updated_at"] == nil {
		t.Fatalf("created prompt %v", p)
	}
	got := c.Get("/users/me/prompts/"+id, u.Headers()).Expect(t, 200, "").Object("prompt")
	if got["prompt_id"] != id || got["content"] != "Summarize my week." {
		t.Fatalf("got prompt %v", got)
	}
	untagged := createPrompt(t, c, u, map[string]any{"title": "t", "content": "c"})
	if tags, ok := untagged["tags"].([]any); !ok || len(tags) != 0 {
		t.Fatalf("a prompt without tags shows tags %v; want []", untagged["tags"])
	}

	patched := c.Do(http.MethodPatch, "/users/me/prompts/"+id, map[string]any{"title": "Weekly summary"}, u.Headers()).
		Expect(t, 200, "").Object("prompt")
	if patched["title"] != "Weekly summary" || patched["content"] != "Summarize my week." || fmt.Sprint(patched["tags"]) != "[work weekly]" {
		t.Fatalf("a title-only patch changed more: %v", patched)
	}
	if patched["updated_at"].(string) < p["updated_at"].(string) || patched["created_at"] != p["created_at"] {
		t.Fatalf("timestamps after patch %v, before %v", patched, p)
	}
	patched = c.Do(http.MethodPatch, "/users/me/prompts/"+id, map[string]any{"content": "New text", "tags": nil}, u.Headers()).
		Expect(t, 200, "").Object("prompt")
	if patched["content"] != "New text" || len(patched["tags"].([]any)) != 0 {
		t.Fatalf("patch of content and tags:null %v", patched)
	}
	patched = c.Do(http.MethodPatch, "/users/me/prompts/"+id, map[string]any{"tags": []string{"a"}}, u.Headers()).
		Expect(t, 200, "").Object("prompt")
	if fmt.Sprint(patched["tags"]) != "[a]" || patched["title"] != "Weekly summary" {
		t.Fatalf("patch of tags %v", patched)
	}

	list := c.Get("/users/me/prompts", u.Headers()).Expect(t, 200, "")
	items := list.Body["prompts"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["prompt_id"] != untagged["prompt_id"] || items[1].(map[string]any)["content"] != "New text" {
		t.Fatalf("list (newest first) %s", list.Raw)
	}
	if pg := list.Object("pagination"); pg["has_more"] != false || pg["next_cursor"] != nil {
		t.Fatalf("pagination %v", pg)
	}

	c.Do(http.MethodDelete, "/users/me/prompts/"+id, nil, u.Headers()).Expect(t, 200, "")
	c.Get("/users/me/prompts/"+id, u.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodDelete, "/users/me/prompts/"+id, nil, u.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodPatch, "/users/me/prompts/"+id, map[string]any{"title": "x"}, u.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Get("/users/me/prompts/not-a-uuid", u.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Get("/users/me/prompts", nil).Expect(t, 401, "UNAUTHORIZED")
	c.Post("/users/me/prompts", map[string]any{"title": "t", "content": "c"}, nil).Expect(t, 401, "UNAUTHORIZED")
	if n := countPrompts(t, u.ID); n != 1 {
		t.Fatalf("%d prompts left, want 1", n)
	}
}

func TestPrompts_EveryLimitAtAndOver(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	tags := func(n, size int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%0*d", size, i)
		}
		return out
	}
	// At every limit, counting characters, not bytes.
	at := createPrompt(t, c, u, map[string]any{"title": strings.Repeat("é", prompts.MaxTitleLen),
		"content": strings.Repeat("ü", prompts.MaxContentLen), "tags": tags(prompts.MaxTags, prompts.MaxTagLen)})
	id := at["prompt_id"].(string)
	if len(at["tags"].([]any)) != prompts.MaxTags {
		t.Fatalf("tags at the limit %v", at["tags"])
	}

	ok := map[string]any{"title": "t", "content": "c"}
	with := func(k string, v any) map[string]any {
		b := map[string]any{"title": "t", "content": "c"}
		b[k] = v
		return b
	}
	bad := map[string]any{
		"title over":       with("title", strings.Repeat("é", prompts.MaxTitleLen+1)),
		"title empty":      with("title", ""),
		"title blank":      with("title", "   "),
		"title missing":    map[string]any{"content": "c"},
		"title null":       with("title", nil),
		"content over":     with("content", strings.Repeat("ü", prompts.MaxContentLen+1)),
		"content empty":    with("content", ""),
		"content missing":  map[string]any{"title": "t"},
		"content with NUL": with("content", "a\x00b"),
		"too many tags":    with("tags", tags(prompts.MaxTags+1, 3)),
		"tag over":         with("tags", []string{strings.Repeat("x", prompts.MaxTagLen+1)}),
		"tag empty":        with("tags", []string{""}),
		"tag wrong type":   with("tags", []int{1}),
		"unknown field":    with("folder", "x"),
		"server-owned id":  with("prompt_id", "00000000-0000-0000-0000-000000000001"),
		"not an object":    `["t"]`,
		"malformed":        `{"title": "t"`,
	}
	for name, body := range bad {
		t.Run("create "+name, func(t *testing.T) {
			c.Post("/users/me/prompts", body, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
		})
	}
	badPatch := map[string]any{
		"title over":    map[string]any{"title": strings.Repeat("é", prompts.MaxTitleLen+1)},
		"title null":    map[string]any{"title": nil},
		"title empty":   map[string]any{"title": ""},
		"content over":  map[string]any{"content": strings.Repeat("ü", prompts.MaxContentLen+1)},
		"content null":  map[string]any{"content": nil},
		"too many tags": map[string]any{"tags": tags(prompts.MaxTags+1, 3)},
		"tag over":      map[string]any{"tags": []string{strings.Repeat("x", prompts.MaxTagLen+1)}},
		"unknown field": map[string]any{"created_at": "2020-01-01T00:00:00Z"},
	}
	for name, body := range badPatch {
		t.Run("patch "+name, func(t *testing.T) {
			c.Do(http.MethodPatch, "/users/me/prompts/"+id, body, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
		})
	}
	got := c.Get("/users/me/prompts/"+id, u.Headers()).Expect(t, 200, "").Object("prompt")
	if got["title"] != at["title"] || got["content"] != at["content"] || got["updated_at"] != at["updated_at"] {
		t.Fatal("a refused patch changed the prompt")
	}
	if n := countPrompts(t, u.ID); n != 1 {
		t.Fatalf("%d prompts after refused creations, want 1", n)
	}
	createPrompt(t, c, u, ok)
}

func TestPrompts_ListPagesNewestFirst(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	var made []string
	for i := range 5 {
		made = append(made, createPrompt(t, c, u, map[string]any{"title": fmt.Sprint("p", i), "content": "c"})["prompt_id"].(string))
	}
	c.NewUser() // another user's prompts never show up: checked by the exact list below
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		r := c.Get("/users/me/prompts?limit=2"+cursor, u.Headers()).Expect(t, 200, "")
		for _, it := range r.Body["prompts"].([]any) {
			seen = append(seen, it.(map[string]any)["prompt_id"].(string))
		}
		pg := r.Object("pagination")
		if pg["has_more"] != true {
			if pg["next_cursor"] != nil || page != 2 {
				t.Fatalf("last page %d: %v", page, pg)
			}
			break
		}
		cursor = "&cursor=" + pg["next_cursor"].(string)
	}
	want := []string{made[4], made[3], made[2], made[1], made[0]}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("pages %v, want newest first %v", seen, want)
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?cursor=garbage"} {
		c.Get("/users/me/prompts"+q, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	if n := len(c.Get("/users/me/prompts?limit=100", u.Headers()).Expect(t, 200, "").Body["prompts"].([]any)); n != 5 {
		t.Fatalf("limit=100 lists %d", n)
	}
}

func TestPrompts_CapOf500PerUser(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	// All but one inserted directly, to reach the cap quickly.
	if _, err := env.Pool.Exec(context.Background(), `INSERT INTO prompts (user_id, title, content)
		SELECT $1, 'p' || g, 'c' FROM generate_series(1, $2::int) g`, u.ID, prompts.MaxPerUser-1); err != nil {
		t.Fatal(err)
	}
	last := createPrompt(t, c, u, map[string]any{"title": "the 500th", "content": "c"})
	r := c.Post("/users/me/prompts", map[string]any{"title": "the 501st", "content": "c"}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	if !strings.Contains(string(r.Raw), "500") {
		t.Fatalf("the refusal does not say the cap: %s", r.Raw)
	}
	if n := countPrompts(t, u.ID); n != prompts.MaxPerUser {
		t.Fatalf("%d prompts, want %d", n, prompts.MaxPerUser)
	}
	createPrompt(t, c, c.NewUser(), map[string]any{"title": "t", "content": "c"}) // the cap is per user
	c.Do(http.MethodDelete, "/users/me/prompts/"+last["prompt_id"].(string), nil, u.Headers()).Expect(t, 200, "")
	createPrompt(t, c, u, map[string]any{"title": "room again", "content": "c"})
}

func TestPrompts_ConcurrentCreatesNeverPassTheCap(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	if _, err := env.Pool.Exec(context.Background(), `INSERT INTO prompts (user_id, title, content)
		SELECT $1, 'p' || g, 'c' FROM generate_series(1, $2::int) g`, u.ID, prompts.MaxPerUser-2); err != nil {
		t.Fatal(err)
	}
	const racers = 8
	statuses := make(chan int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			statuses <- c.Post("/users/me/prompts", map[string]any{"title": fmt.Sprint("racer ", i), "content": "c"}, u.Headers()).Status
		})
	}
	wg.Wait()
	close(statuses)
	created := 0
	for s := range statuses {
		switch s {
		case 201:
			created++
		case 400:
		default:
			t.Errorf("status %d", s)
		}
	}
	if created != 2 || countPrompts(t, u.ID) != prompts.MaxPerUser {
		t.Fatalf("%d of %d racers created a prompt with room for 2; the user has %d", created, racers, countPrompts(t, u.ID))
	}
}

func TestPrompts_AnotherUsersPromptIsNotFoundAndUnchanged(t *testing.T) {
	c := env.Client(t)
	owner, other := c.NewUser(), c.NewUser()
	p := createPrompt(t, c, owner, map[string]any{"title": "mine", "content": "private text", "tags": []string{"x"}})
	path := "/users/me/prompts/" + p["prompt_id"].(string)
	c.Get(path, other.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodPatch, path, map[string]any{"title": "stolen"}, other.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Do(http.MethodDelete, path, nil, other.Headers()).Expect(t, 404, "NOT_FOUND")
	if list := c.Get("/users/me/prompts", other.Headers()).Expect(t, 200, ""); len(list.Body["prompts"].([]any)) != 0 {
		t.Fatalf("another user's list %s", list.Raw)
	}
	got := c.Get(path, owner.Headers()).Expect(t, 200, "").Object("prompt")
	if fmt.Sprint(got) != fmt.Sprint(p) {
		t.Fatalf("prompt after another user's attempts %v, want %v", got, p)
	}
}
