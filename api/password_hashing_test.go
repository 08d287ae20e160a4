package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/officex/officex/internal/auth"
	"github.com/officex/officex/internal/testenv"
)

// serverWithHasher serves the API with its accounts hashing through h.
func serverWithHasher(t *testing.T, h *auth.PasswordHasher) *testenv.Client {
	t.Helper()
	return env.ClientFor(t, newServer(t, func(d *depsEdit) {
		d.Accounts = env.Accounts(true, testenv.TestThrottle).UsePasswordHasher(h)
	}))
}

// TestLogin_MoreConcurrentPasswordLoginsThanSlotsGet503WithRetryAfter: each
// password check holds 64 MiB of argon2id memory; unknown emails hash too. With
// no bound, 200 concurrent logins took the process to many GiB. Beyond the
// hasher's slots a login waits its deadline, then answers 503 with Retry-After.
func TestLogin_MoreConcurrentPasswordLoginsThanSlotsGet503WithRetryAfter(t *testing.T) {
	const logins = 16
	h := auth.NewPasswordHasher(1, time.Millisecond)
	c := serverWithHasher(t, h)
	statuses := make([]int, logins)
	retryAfter := make([]string, logins)
	var wg sync.WaitGroup
	for i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Concurrent().Post("/auth/login", map[string]any{"email": testenv.UniqueEmail("nobody"), "password": "guessing-a-password"}, nil)
			statuses[i], retryAfter[i] = r.Status, r.Header.Get("Retry-After")
			if r.Status == http.StatusServiceUnavailable && r.Code() != "SERVICE_UNAVAILABLE" {
				t.Errorf("503 with code %q: %s", r.Code(), r.Raw)
			}
		}()
	}
	wg.Wait()
	counts := map[int]int{}
	for i, s := range statuses {
		counts[s]++
		if s == http.StatusServiceUnavailable && retryAfter[i] != "2" {
			t.Errorf("503 with Retry-After %q, want %d", retryAfter[i], int(auth.PasswordHashRetryAfter.Seconds()))
		}
	}
	if counts[http.StatusServiceUnavailable] == 0 || counts[http.StatusUnauthorized] == 0 ||
		counts[http.StatusServiceUnavailable]+counts[http.StatusUnauthorized] != logins {
		t.Fatalf("statuses %v: want some 401 (checked) and some 503 (no slot in time), nothing else", counts)
	}
	if h.InUse() != 0 {
		t.Fatalf("%d slots still taken", h.InUse())
	}
}

// TestResetPassword_ChecksTheCodeBeforeHashing: a wrong reset code used to
// cost an argon2id computation of the new password first.
func TestResetPassword_ChecksTheCodeBeforeHashing(t *testing.T) {
	h := auth.NewPasswordHasher(1, time.Millisecond)
	c := serverWithHasher(t, h)
	u := c.NewUser()
	c.Post("/auth/forgot-password", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")

	release, err := h.Hold(context.Background()) // every slot taken: any hashing would be refused
	if err != nil {
		t.Fatal(err)
	}
	c.Post("/auth/reset-password", map[string]any{"email": u.Email, "code": "9999", "new_password": "a brand new password"}, nil).
		Expect(t, 401, "UNAUTHORIZED")
	c.Post("/auth/reset-password", map[string]any{"email": u.Email, "code": "0000", "new_password": "short"}, nil).
		Expect(t, 400, "INVALID_REQUEST")
	r := c.Post("/auth/reset-password", map[string]any{"email": u.Email, "code": "0000", "new_password": "a brand new password"}, nil).
		Expect(t, 503, "SERVICE_UNAVAILABLE")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	c.Post("/auth/login", map[string]any{"email": u.Email, "password": "a brand new password"}, nil).Expect(t, 503, "SERVICE_UNAVAILABLE")
	c.Post("/auth/set-password", map[string]any{"password": "another new password"}, u.Headers()).Expect(t, 503, "SERVICE_UNAVAILABLE")
	release()

	// The refused reset left its code live: the retry works.
	c.Post("/auth/reset-password", map[string]any{"email": u.Email, "code": "0000", "new_password": "a brand new password"}, nil).Expect(t, 200, "")
	c.Post("/auth/login", map[string]any{"email": u.Email, "password": "a brand new password"}, nil).Expect(t, 200, "")
}
