package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/worker"
)

// acctOf is the vendor's own Stripe connected account (an account is paid
// to one vendor only): acct_ and 16 characters of the vendor's id.
func acctOf(vendor testenv.User) string {
	return "acct_" + strings.ReplaceAll(vendor.ID, "-", "")[:16]
}

// failAcctOf is a connected account of the vendor that cannot receive
// transfers (the simulator's acct_fail...).
func failAcctOf(vendor testenv.User) string {
	return "acct_fail" + strings.ReplaceAll(vendor.ID, "-", "")[:12]
}

// vendorWithEarnings is a vendor whose app wallet holds credits.
func vendorWithEarnings(t *testing.T, c *testenv.Client, credits string) (testenv.User, testenv.App) {
	t.Helper()
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	c.Fund(a.WalletID, credits)
	return vendor, a
}

func stripePayout(wallet string, amount any, account, key string) map[string]any {
	body := map[string]any{"wallet_id": wallet, "amount": amount, "destination": map[string]any{"type": "stripe", "account_id": account}}
	if key != "" {
		body["idempotency_key"] = key
	}
	return body
}

func runBatch(t *testing.T, c *testenv.Client, period string) testenv.Response {
	t.Helper()
	return c.Post("/admin/payouts/batches", map[string]any{"period": period}, testenv.AdminHeaders()).Expect(t, 200, "")
}

func payoutOf(t *testing.T, c *testenv.Client, id string) map[string]any {
	t.Helper()
	return c.Get("/admin/payouts/"+id, testenv.AdminHeaders()).Expect(t, 200, "").Object("payout")
}

func TestPayout_StripeTransferLifecycle(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "800")
	before, transfers := liability(t, c), env.Stripe.TransferCount()
	r := c.Post("/payout", stripePayout(a.WalletID, 500, acctOf(vendor), "po-1"), vendor.Headers()).Expect(t, 200, "")
	id := r.String("payout_id")
	if r.String("status") != "pending" {
		t.Fatalf("payout %s", r.Raw)
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 300 || held != 500 {
		t.Fatalf("app wallet %v/%v after the hold", av, held)
	}
	// Not approved yet: a batch leaves it alone.
	runBatch(t, c, "2031-01")
	if payoutOf(t, c, id)["status"] != "pending" {
		t.Fatal("an unapproved payout was paid")
	}
	c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 409, "INVALID_REQUEST")
	b := runBatch(t, c, "2031-02")
	if b.Body["completed"] != 1.0 || b.Body["failed"] != 0.0 || b.Body["total_credits"] != "500" {
		t.Fatalf("batch %s", b.Raw)
	}
	p := c.Get("/wallets/"+a.WalletID+"/payouts/"+id, vendor.Headers()).Expect(t, 200, "").Object("payout")
	if p["status"] != "completed" || !strings.HasPrefix(p["external_ref"].(string), "tr_") || p["payout_amount"] != 500.0 {
		t.Fatalf("payout %v", p)
	}
	var steps []string
	for _, h := range p["history"].([]any) {
		steps = append(steps, h.(map[string]any)["status"].(string))
	}
	if got := strings.Join(steps, ","); got != "pending,approved,burned,attempt,completed" {
		t.Fatalf("history %s", got)
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 300 || held != 0 {
		t.Fatalf("app wallet %v/%v after payout", av, held)
	}
	if got := liability(t, c); got != before-500 {
		t.Fatalf("liability %v, want %v (fell by the credits paid out)", got, before-500)
	}
	if env.Stripe.TransferCount() != transfers+1 {
		t.Fatal("want exactly one transfer")
	}
	msgs := c.Get("/users/me/inbox", vendor.Headers()).Expect(t, 200, "").Body["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["title"] != "Payout completed" {
		t.Fatalf("vendor inbox %v", msgs)
	}
	// Running a period again pays nothing twice.
	again := runBatch(t, c, "2031-02")
	if env.Stripe.TransferCount() != transfers+1 || again.Body["completed"] != 1.0 {
		t.Fatalf("second run: %s", again.Raw)
	}
	if got := c.Get("/admin/payouts/batches/2031-02", testenv.AdminHeaders()).Expect(t, 200, "").Object("batch"); got["payouts"] != 1.0 {
		t.Fatalf("batch record %v", got)
	}
	inPeriod := c.Get("/admin/payouts?period=2031-02&status=completed", testenv.AdminHeaders()).Expect(t, 200, "").Body["payouts"].([]any)
	if len(inPeriod) != 1 || inPeriod[0].(map[string]any)["payout_id"] != id {
		t.Fatalf("payouts of 2031-02: %v", inPeriod)
	}
	c.Get("/admin/payouts?period=2031", testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	c.Get("/admin/payouts/batches/1999-01", testenv.AdminHeaders()).Expect(t, 404, "NOT_FOUND")
}

func TestPayout_StripeErrorFailsAndRestoresCredits(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "300")
	before := liability(t, c)
	id := c.Post("/payout", stripePayout(a.WalletID, 200, failAcctOf(vendor), ""), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	b := runBatch(t, c, "2031-03")
	if b.Body["failed"] != 1.0 {
		t.Fatalf("batch %s", b.Raw)
	}
	p := payoutOf(t, c, id)
	if p["status"] != "failed" || p["failure_reason"] == "" {
		t.Fatalf("payout %v", p)
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 300 || held != 0 {
		t.Fatalf("credits not restored: %v/%v", av, held)
	}
	if got := liability(t, c); got != before {
		t.Fatalf("liability %v, want %v", got, before)
	}
	c.Post("/payout", stripePayout(a.WalletID, 200, failAcctOf(vendor), ""), vendor.Headers()).Expect(t, 200, "")
}

func TestPayout_LostStripeAnswerIsRetriedAndPaysOnce(t *testing.T) {
	// Stripe gets the first transfer but its answer never comes back, as if
	// the worker died right after the call; the retry uses the same key.
	target, _ := url.Parse(env.StripeURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var dropped atomic.Bool
	lossy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/transfers" && dropped.CompareAndSwap(false, true) {
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			if h, ok := w.(http.Hijacker); ok {
				conn, _, _ := h.Hijack()
				conn.Close()
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer lossy.Close()
	queue, _ := env.StartWorkerWith(t, func(d *worker.Deps) { d.Stripe = activities.NewStripeClient("sk_test_123", lossy.URL) })
	srv := newServer(t, func(d *api.Deps) { d.Config.TaskQueue = queue })
	c2 := env.ClientFor(t, srv)
	vendor, a := vendorWithEarnings(t, c2, "100")
	transfers := env.Stripe.TransferCount()
	id := c2.Post("/payout", stripePayout(a.WalletID, 100, acctOf(vendor), ""), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	c2.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	runBatch(t, c2, "2031-04")
	if !dropped.Load() {
		t.Fatal("the fault was never injected")
	}
	if got := env.Stripe.TransferCount(); got != transfers+1 {
		t.Fatalf("%d transfers, want exactly 1", got-transfers)
	}
	if p := payoutOf(t, c2, id); p["status"] != "completed" {
		t.Fatalf("payout %v", p)
	}
}

func TestPayout_RejectRestoresBeforeBurn(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "150")
	id := c.Post("/payout", stripePayout(a.WalletID, 150, acctOf(vendor), ""), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	c.Post("/admin/payouts/"+id+"/reject", map[string]any{}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/admin/payouts/"+id+"/reject", map[string]any{"reason": "KYC incomplete"}, testenv.AdminHeaders()).Expect(t, 200, "")
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 150 || held != 0 {
		t.Fatalf("app wallet %v/%v after reject", av, held)
	}
	c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 409, "INVALID_REQUEST")
	c.Post("/admin/payouts/"+id+"/reject", map[string]any{"reason": "again"}, testenv.AdminHeaders()).Expect(t, 409, "INVALID_REQUEST")
	if p := payoutOf(t, c, id); p["status"] != "rejected" || p["failure_reason"] != "KYC incomplete" {
		t.Fatalf("payout %v", p)
	}
	list := c.Get("/admin/payouts?status=rejected&limit=100", testenv.AdminHeaders()).Expect(t, 200, "").Body["payouts"].([]any)
	if len(list) == 0 {
		t.Fatal("rejected payout not listed")
	}
}

func TestPayout_BankPayoutPaidOrFailedByTheBank(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "400")
	bank := func(ba string) map[string]any {
		return map[string]any{"wallet_id": a.WalletID, "amount": 200,
			"destination": map[string]any{"type": "bank", "account_id": ba, "connected_account_id": acctOf(vendor)}}
	}
	ok := c.Post("/payout", bank("ba_1Nv0FGQ9RKHgCVdKgood"), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	bad := c.Post("/payout", bank("ba_failNv0FGQ9RKHgCVd"), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	for _, id := range []string{ok, bad} {
		c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	}
	done := make(chan testenv.Response, 1)
	go func() {
		done <- c.Concurrent().Post("/admin/payouts/batches", map[string]any{"period": "2031-05"}, testenv.AdminHeaders())
	}()
	// The bank settles both payouts while the batch waits on them.
	settled := map[string]bool{}
	for len(settled) < 2 {
		for _, id := range []string{ok, bad} {
			if settled[id] {
				continue
			}
			p := payoutOf(t, c, id)
			for _, h := range p["history"].([]any) {
				d := h.(map[string]any)["detail"].(string)
				if poID, found := strings.CutPrefix(d, "Stripe payout "); found {
					if _, err := env.Stripe.SettlePayout(poID); err != nil {
						t.Fatal(err)
					}
					settled[id] = true
				}
			}
		}
	}
	if r := <-done; r.Status != 200 || r.Body["completed"] != 1.0 || r.Body["failed"] != 1.0 {
		t.Fatalf("batch %s", r.Raw)
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 200 || held != 0 {
		t.Fatalf("app wallet %v/%v: the failed bank payout must be restored", av, held)
	}
}

func TestPayout_RequestValidationAndOwnership(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "1000")
	other := c.NewUser()
	c.Post("/payout", stripePayout(vendor.WalletID, 100, acctOf(vendor), ""), vendor.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/payout", stripePayout(a.WalletID, 100, acctOf(vendor), ""), other.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/payout", stripePayout(a.WalletID, 1001, acctOf(vendor), ""), vendor.Headers()).Expect(t, 402, "INSUFFICIENT_FUNDS")
	for _, b := range []map[string]any{
		stripePayout(a.WalletID, 99, acctOf(vendor), ""),
		stripePayout(a.WalletID, 100.5, acctOf(vendor), ""),
		stripePayout(a.WalletID, "0.0000001", acctOf(vendor), ""),
		stripePayout(a.WalletID, 100, "acct_short", ""),
		stripePayout(a.WalletID, 100, "ba_1Nv0FGQ9RKHgCVdKgood", ""),
		stripePayout("not-a-wallet", 100, acctOf(vendor), ""),
		{"wallet_id": a.WalletID, "amount": 100, "destination": map[string]any{"type": "paypal", "account_id": "x"}},
		{"wallet_id": a.WalletID, "amount": 100, "destination": map[string]any{"type": "bank", "account_id": "ba_1Nv0FGQ9RKHgCVdKgood"}},
		{"wallet_id": a.WalletID, "amount": 100, "destination": map[string]any{"type": "usdc_solana", "account_id": "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"}},
		stripePayout(a.WalletID, 100, acctOf(vendor), strings.Repeat("k", 256)),
	} {
		c.Post("/payout", b, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 1000 || held != 0 {
		t.Fatalf("refused payouts moved credits: %v/%v", av, held)
	}
	first := c.Post("/payout", stripePayout(a.WalletID, 100, acctOf(vendor), "same"), vendor.Headers()).Expect(t, 200, "")
	again := c.Post("/payout", stripePayout(a.WalletID, "100", acctOf(vendor), "same"), vendor.Headers()).Expect(t, 200, "")
	if first.String("payout_id") != again.String("payout_id") {
		t.Fatal("a replayed key made a second payout")
	}
	c.Post("/payout", stripePayout(a.WalletID, 101, acctOf(vendor), "same"), vendor.Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 900 || held != 100 {
		t.Fatalf("app wallet %v/%v", av, held)
	}
	list := c.Get("/wallets/"+a.WalletID+"/payouts", vendor.Headers()).Expect(t, 200, "").Body["payouts"].([]any)
	if len(list) != 1 {
		t.Fatalf("wallet payouts %v", list)
	}
	c.Get("/wallets/"+a.WalletID+"/payouts", other.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Get("/wallets/"+a.WalletID+"/payouts/"+first.String("payout_id"), other.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/admin/payouts/batches", map[string]any{"period": "2031-13"}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	// Reject to leave no hold for later tests' batches.
	c.Post("/admin/payouts/"+first.String("payout_id")+"/reject", map[string]any{"reason": "test"}, testenv.AdminHeaders()).Expect(t, 200, "")
}
