package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/officex/officex/internal/testenv"
)

// walletBuckets reads a wallet through the admin view (a suspended user's own
// key is refused).
func walletBuckets(t *testing.T, c *testenv.Client, wallet string) (float64, float64) {
	t.Helper()
	w := c.Get("/admin/wallets/"+wallet, testenv.AdminHeaders()).Expect(t, 200, "").Object("wallet")
	return w["available"].(float64), w["reserved"].(float64)
}

func inboxCount(t *testing.T, userID string) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM inbox_messages WHERE user_id = $1", userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func setUserStatus(t *testing.T, c *testenv.Client, userID, status string) {
	t.Helper()
	c.Do(http.MethodPatch, "/admin/users/"+userID, map[string]any{"status": status, "reason": "security test"}, testenv.AdminHeaders()).Expect(t, 200, "")
}

// TestInstallSecret_SuspendedUserIsNotBilledAndSuspendedVendorDoesNotBill:
// install-secret auth used to look at the install and the app only, so an app
// kept reserving and settling against a suspended user's wallet, and a
// suspended vendor's apps kept billing.
func TestInstallSecret_SuspendedUserIsNotBilledAndSuspendedVendorDoesNotBill(t *testing.T) {
	c := env.Client(t)
	vendor, _, in := billingSetup(t, c, "20", nil)
	byUserApp := testenv.Headers{"x-officex-user-id": in.User.ID, "x-officex-app-id": in.AppID, "x-officex-install-secret": in.Secret}
	c.Post("/reserve", map[string]any{"amount": 5, "job_id": "open-1"}, in.Headers()).Expect(t, 200, "")
	msg := map[string]any{"id": "m-1", "title": "Done", "text": "Your job is done."}

	for _, suspended := range []testenv.User{in.User, vendor} {
		setUserStatus(t, c, suspended.ID, "suspended")
		for _, h := range []testenv.Headers{in.Headers(), byUserApp} {
			c.Post("/reserve", map[string]any{"amount": 1, "job_id": "after-suspend"}, h).Expect(t, 403, "FORBIDDEN")
			c.Post("/settle", map[string]any{"reservation_id": "RESV#open-1", "amount": 1}, h).Expect(t, 403, "FORBIDDEN")
			c.Post("/reservations/RESV%23open-1/settle", map[string]any{"amount": 1, "final": true}, h).Expect(t, 403, "FORBIDDEN")
			c.Get("/reservations/RESV%23open-1", h).Expect(t, 403, "FORBIDDEN")
			c.Post("/installs/"+in.ID+"/inbox", msg, h).Expect(t, 403, "FORBIDDEN")
			c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", map[string]any{"k": "v"}, h).Expect(t, 403, "FORBIDDEN")
		}
		if av, res := walletBuckets(t, c, in.User.WalletID); av != 15 || res != 5 {
			t.Fatalf("suspended %s: user wallet %v/%v, want 15/5 untouched", suspended.Email, av, res)
		}
		if n := inboxCount(t, in.User.ID); n != 0 {
			t.Fatalf("suspended %s: %d inbox messages delivered", suspended.Email, n)
		}
		setUserStatus(t, c, suspended.ID, "active")
	}

	// Active again, both: billing and messages work as before.
	c.Post("/settle", map[string]any{"reservation_id": "RESV#open-1", "amount": 2, "final": true}, byUserApp).Expect(t, 200, "")
	c.Post("/installs/"+in.ID+"/inbox", msg, in.Headers()).Expect(t, 201, "")
	if av, res := walletBuckets(t, c, in.User.WalletID); av != 18 || res != 0 {
		t.Fatalf("after reactivation: user wallet %v/%v, want 18/0", av, res)
	}
}
