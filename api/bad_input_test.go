package api_test

import (
	"context"
	"strings"
	"testing"
)

func countUsers(t *testing.T) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBadBodies_AreRefusedAndWriteNothing(t *testing.T) {
	c := env.Client(t)
	before := countUsers(t)
	cases := map[string]any{
		"malformed json":     `{"email": "a@example.com"`,
		"not an object":      `["a@example.com"]`,
		"empty body":         ``,
		"trailing data":      `{"email": "a@example.com"} {"email": "b@example.com"}`,
		"unknown field":      map[string]any{"email": "a@example.com", "user_id": "x"},
		"wrong type":         map[string]any{"email": 42},
		"null email":         map[string]any{"email": nil},
		"invalid email":      map[string]any{"email": "not-an-email"},
		"display name":       map[string]any{"email": "Bob <bob@example.com>"},
		"no domain dot":      map[string]any{"email": "bob@localhost"},
		"over-long email":    map[string]any{"email": strings.Repeat("a", 243) + "@example.com"},
		"missing email":      map[string]any{},
		"server-owned field": map[string]any{"email": "a@example.com", "status": "active"},
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/auth/register", "/register-user"} {
				c.Post(path, body, nil).Expect(t, 400, "INVALID_REQUEST")
			}
		})
	}
	// 254 characters is the longest address accepted.
	at254 := strings.Repeat("a", 242) + "@example.com"
	c.Post("/auth/register", map[string]any{"email": at254}, nil).Expect(t, 200, "")
	if got := countUsers(t); got != before+1 {
		t.Fatalf("users went from %d to %d; only the valid registration may write", before, got)
	}
}

func TestHugeBody_IsRefusedWith413(t *testing.T) {
	c := env.Client(t)
	before := countUsers(t)
	huge := `{"email": "` + strings.Repeat("a", 300<<10) + `@example.com"}`
	c.Post("/auth/register", huge, nil).Expect(t, 413, "INVALID_REQUEST")
	if countUsers(t) != before {
		t.Fatal("a refused body wrote a user")
	}
}

func TestUnknownRouteAndMethod_AnswerInTheErrorFormat(t *testing.T) {
	c := env.Client(t)
	c.Get("/no/such/route", nil).Expect(t, 404, "NOT_FOUND")
	c.Get("/auth/register", nil).Expect(t, 405, "METHOD_NOT_ALLOWED")
}

func TestSecrets_AreNeverStoredInPlaintext(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	password := "plaintext-canary-password"
	c.Post("/auth/set-password", map[string]any{"password": password}, u.Headers()).Expect(t, 200, "")
	c.Post("/auth/forgot-password", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	var dump string
	err := env.Pool.QueryRow(context.Background(), `SELECT
		(SELECT string_agg(u::text, '|') FROM users u) ||
		(SELECT string_agg(encode(key_hash, 'escape') || key_prefix, '|') FROM master_keys) ||
		(SELECT string_agg(o::text, '|') FROM otp_codes o)`).Scan(&dump)
	if err != nil {
		t.Fatal(err)
	}
	keyBody := strings.TrimPrefix(u.Key, "ofx_mk_")
	for name, secret := range map[string]string{"master key": keyBody[8:], "password": password} {
		if strings.Contains(dump, secret) {
			t.Errorf("the %s is stored in plaintext", name)
		}
	}
}
