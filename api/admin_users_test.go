package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/testenv"
)

func TestAdminAuth_RefusesMissingOrWrongSecret(t *testing.T) {
	c := env.Client(t)
	c.Get("/admin/users", nil).Expect(t, 401, "UNAUTHORIZED")
	c.Get("/admin/users", testenv.Headers{"x-officex-admin-secret": "wrong"}).Expect(t, 401, "UNAUTHORIZED")
	u := c.NewUser()
	c.Get("/admin/users", u.Headers()).Expect(t, 401, "UNAUTHORIZED") // a master key is not admin
	c.Get("/admin/users", testenv.Headers{"X-OFFICEX-ADMIN-SECRET": testenv.AdminSecret}).Expect(t, 200, "")
}

func TestAdminRoutes_OffWithoutConfiguredSecret(t *testing.T) {
	srv := httptest.NewServer(env.NewHandler(func(d *api.Deps) { d.Config.AdminSecret = "" }))
	defer srv.Close()
	c := env.ClientFor(t, srv.URL)
	c.Get("/admin/users", testenv.Headers{"x-officex-admin-secret": ""}).Expect(t, 404, "NOT_FOUND")
	c.Get("/admin/users", testenv.AdminHeaders()).Expect(t, 404, "NOT_FOUND")
}

func TestAdminUsers_ListPagesNewestFirst(t *testing.T) {
	c := env.Client(t)
	var made []testenv.User
	for i := 0; i < 5; i++ {
		made = append(made, c.NewUser())
	}
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 100; page++ {
		path := "/admin/users?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := c.Get(path, testenv.AdminHeaders()).Expect(t, 200, "")
		users := r.Body["users"].([]any)
		if len(users) > 2 {
			t.Fatalf("page larger than limit: %d", len(users))
		}
		for _, u := range users {
			id := u.(map[string]any)["user_id"].(string)
			if seen[id] {
				t.Fatalf("user %s on two pages", id)
			}
			seen[id] = true
		}
		p := r.Object("pagination")
		if p["has_more"] != true {
			break
		}
		cursor = p["next_cursor"].(string)
	}
	for _, u := range made {
		if !seen[u.ID] {
			t.Errorf("user %s missing from the pages", u.ID)
		}
	}
	// The newest user comes first.
	first := c.Get("/admin/users?limit=1", testenv.AdminHeaders()).Expect(t, 200, "").Body["users"].([]any)[0]
	if first.(map[string]any)["user_id"] != made[4].ID {
		t.Errorf("first user %v, want the newest %s", first, made[4].ID)
	}
	filtered := c.Get("/admin/users?email="+made[2].Email, testenv.AdminHeaders()).Expect(t, 200, "").Body["users"].([]any)
	if len(filtered) != 1 || filtered[0].(map[string]any)["user_id"] != made[2].ID {
		t.Errorf("email filter: %v", filtered)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=garbage", "status=deleted"} {
		c.Get("/admin/users?"+q, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Get("/admin/users?limit=100", testenv.AdminHeaders()).Expect(t, 200, "")
}

func TestAdminSuspend_StopsKeysAtOnceAndReactivateRestores(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	r := c.Do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"status": "suspended", "reason": "fraud review"}, testenv.AdminHeaders()).Expect(t, 200, "")
	if r.Object("user")["status"] != "suspended" {
		t.Fatalf("not suspended: %s", r.Raw)
	}
	c.Get("/users/me", u.Headers()).Expect(t, 403, "FORBIDDEN")
	// A suspended account gets no sign-in either.
	c.Post("/auth/login", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	c.Post("/auth/verify-otp", map[string]any{"email": u.Email, "code": "0000"}, nil).Expect(t, 401, "UNAUTHORIZED")

	c.Do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"status": "active"}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Get("/users/me", u.Headers()).Expect(t, 200, "")
	got := c.Get("/admin/users/"+u.ID, testenv.AdminHeaders()).Expect(t, 200, "").Object("user")
	if got["status"] != "active" || got["email"] != u.Email {
		t.Fatalf("admin view: %v", got)
	}
	var audits int
	if err := env.Pool.QueryRow(context.Background(),
		"SELECT count(*) FROM audit_log WHERE action = 'user.set_status' AND target_id = $1 AND actor = 'admin'", u.ID).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 2 {
		t.Fatalf("audit rows = %d, want 2", audits)
	}
}

func TestAdminUsers_BadInputChangesNothing(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	c.Do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"status": "deleted"}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"status": "suspended", "email": "x@y.z"}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	long := make([]byte, 501)
	for i := range long {
		long[i] = 'r'
	}
	c.Do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"status": "suspended", "reason": string(long)}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	c.Get("/users/me", u.Headers()).Expect(t, 200, "") // still active
	c.Get("/admin/users/00000000-0000-0000-0000-000000000000", testenv.AdminHeaders()).Expect(t, 404, "USER_NOT_FOUND")
	c.Get("/admin/users/not-a-uuid", testenv.AdminHeaders()).Expect(t, 404, "USER_NOT_FOUND")
	c.Get("/admin/users/00000000-0000-0000-0000-000000000000/wallets", testenv.AdminHeaders()).Expect(t, 404, "USER_NOT_FOUND")
	c.Do(http.MethodPatch, "/admin/users/00000000-0000-0000-0000-000000000000", map[string]any{"status": "active"}, testenv.AdminHeaders()).Expect(t, 404, "USER_NOT_FOUND")
}
