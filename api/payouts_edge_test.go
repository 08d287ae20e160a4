package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/stripesim"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/worker"
	"github.com/officex/officex/workflows"
)

// edgeWait bounds every wait of these tests on observable state.
const edgeWait = 30 * time.Second

// ownStripe runs a worker and an API that pay through a Stripe simulator of
// the test's own, so its faults, clock and counts belong to the test.
func ownStripe(t *testing.T) (*stripesim.Server, *testenv.Client) {
	t.Helper()
	sim := stripesim.New()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	queue, _ := env.StartWorkerWith(t, func(d *worker.Deps) { d.Stripe = activities.NewStripeClient("sk_test_123", srv.URL) })
	return sim, env.ClientFor(t, newServer(t, func(d *api.Deps) { d.Config.TaskQueue = queue }))
}

// waitFor polls cond until it holds, failing the test after edgeWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, edgeWait, what, cond)
}

// startBatch runs a period's batch in the background; the answer comes on
// the channel.
func startBatch(c *testenv.Client, period string) <-chan testenv.Response {
	done := make(chan testenv.Response, 1)
	go func() {
		done <- c.Concurrent().Post("/admin/payouts/batches", map[string]any{"period": period}, testenv.AdminHeaders())
	}()
	return done
}

// activityAttempt is the attempt the payout's workflow is at for a pending
// activity of that type (0 when none is pending).
func activityAttempt(t *testing.T, payoutID, activityType string) int32 {
	t.Helper()
	d, err := env.Temporal.DescribeWorkflowExecution(context.Background(), workflows.PayoutWorkflowID(payoutID), "")
	if err != nil {
		return 0 // not started yet
	}
	for _, a := range d.GetPendingActivities() {
		if a.GetActivityType().GetName() == activityType {
			return a.GetAttempt()
		}
	}
	return 0
}

// aDayLater moves both clocks a payout's retry depends on past Stripe's 24
// hour idempotency window: the simulator's (it forgets the keys) and the
// payout's record of its first create.
func aDayLater(t *testing.T, sim *stripesim.Server, payoutID string) {
	t.Helper()
	sim.Advance(25 * time.Hour)
	if _, err := env.Pool.Exec(context.Background(),
		"UPDATE payouts SET stripe_create_at = stripe_create_at - interval '25 hours' WHERE id = $1", payoutID); err != nil {
		t.Fatal(err)
	}
}

func historyHas(p map[string]any, detail string) bool {
	for _, h := range p["history"].([]any) {
		if strings.Contains(h.(map[string]any)["detail"].(string), detail) {
			return true
		}
	}
	return false
}

// wasEver tells whether the payout's history has the status.
func wasEver(p map[string]any, status string) bool {
	for _, h := range p["history"].([]any) {
		if h.(map[string]any)["status"] == status {
			return true
		}
	}
	return false
}

func approvedPayout(t *testing.T, c *testenv.Client, body map[string]any, vendor testenv.User) string {
	t.Helper()
	id := c.Post("/payout", body, vendor.Headers()).Expect(t, 200, "").String("payout_id")
	c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	return id
}

// The transfer reaches Stripe but its answer is lost, and the retry comes
// after Stripe forgot the idempotency key: the transfer is found by its
// transfer group instead of being paid again.
func TestPayout_TransferAnswerLostPastTheIdempotencyWindowPaysOnce(t *testing.T) {
	sim, c := ownStripe(t)
	vendor, a := vendorWithEarnings(t, c, "300")
	before := liability(t, c)
	id := approvedPayout(t, c, stripePayout(a.WalletID, 200, acctOf(vendor), ""), vendor)
	drop := sim.InjectFault(stripesim.Fault{Method: http.MethodPost, Path: "/v1/transfers", DropResponse: true})
	done := startBatch(c, "2034-01")
	// The first attempt (with stripe-go's own retries, same key) is over once
	// Temporal schedules the second.
	waitFor(t, "a second attempt of the transfer", func() bool { return activityAttempt(t, id, "StripeTransfer") >= 2 })
	if sim.TransferCount() != 1 || drop.Hits() == 0 {
		t.Fatalf("%d transfers, %d answers dropped: want the first transfer made and its answer lost", sim.TransferCount(), drop.Hits())
	}
	aDayLater(t, sim, id)
	drop.Remove()
	waitFor(t, "the payout to complete", func() bool { return payoutOf(t, c, id)["status"] == "completed" })
	if r := <-done; r.Status != 200 || r.Body["completed"] != 1.0 {
		t.Fatalf("batch %d %s", r.Status, r.Raw)
	}
	if n := sim.TransferCount(); n != 1 {
		t.Fatalf("%d transfers at Stripe, want exactly 1", n)
	}
	p := payoutOf(t, c, id)
	if ref := p["external_ref"].(string); !strings.HasPrefix(ref, "tr_") || p["stripe_id"] != ref ||
		!historyHas(p, "found after an unanswered create") {
		t.Fatalf("payout %v", p)
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 100 || held != 0 {
		t.Fatalf("app wallet %v/%v", av, held)
	}
	if got := liability(t, c); got != before-200 {
		t.Fatalf("liability %v, want %v", got, before-200)
	}
	// A later run of the period reads the stored transfer and pays nothing.
	runBatch(t, c, "2034-01")
	if sim.TransferCount() != 1 {
		t.Fatal("a second run paid again")
	}
}

func bankPayout(vendor testenv.User, wallet string, amount int) map[string]any {
	return map[string]any{"wallet_id": wallet, "amount": amount,
		"destination": map[string]any{"type": "bank", "account_id": "ba_1Nv0FGQ9RKHgCVdKgood", "connected_account_id": acctOf(vendor)}}
}

// A bank payout's create is answered with nothing and the retry comes after
// the idempotency window: bank payouts cannot be searched by payout, so
// the payout waits for an operator instead of paying again; the operator
// names the payout found in Stripe and the next run finishes it.
func TestPayout_BankAnswerLostPastTheIdempotencyWindowGoesToReview(t *testing.T) {
	sim, c := ownStripe(t)
	vendor, a := vendorWithEarnings(t, c, "500")
	before := liability(t, c)
	id := approvedPayout(t, c, bankPayout(vendor, a.WalletID, 300), vendor)
	drop := sim.InjectFault(stripesim.Fault{Method: http.MethodPost, Path: "/v1/payouts", DropResponse: true})
	done := startBatch(c, "2034-02")
	waitFor(t, "a second attempt of the bank payout", func() bool { return activityAttempt(t, id, "StripeBankPayout") >= 2 })
	aDayLater(t, sim, id)
	drop.Remove()
	if r := <-done; r.Status != 200 || r.Body["completed"] != 0.0 || r.Body["failed"] != 0.0 {
		t.Fatalf("batch %d %s", r.Status, r.Raw)
	}
	if n := sim.PayoutCount(); n != 1 {
		t.Fatalf("%d bank payouts at Stripe, want exactly 1", n)
	}
	p := payoutOf(t, c, id)
	if p["status"] != "needs_review" || !strings.Contains(p["alert"].(string), id) || p["stripe_id"] != "" {
		t.Fatalf("payout %v", p)
	}
	// In review the credits stay burned: neither paid nor given back.
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 200 || held != 0 {
		t.Fatalf("app wallet %v/%v", av, held)
	}
	if got := liability(t, c); got != before-300 {
		t.Fatalf("liability %v, want %v", got, before-300)
	}
	if list := c.Get("/admin/payouts?status=needs_review", testenv.AdminHeaders()).Expect(t, 200, "").Body["payouts"].([]any); len(list) != 1 ||
		list[0].(map[string]any)["alert"] == "" {
		t.Fatalf("payouts in review %v", list)
	}
	// A run while it is in review leaves it alone.
	runBatch(t, c, "2034-02")
	if sim.PayoutCount() != 1 || payoutOf(t, c, id)["status"] != "needs_review" {
		t.Fatal("a payout in review was touched by a batch run")
	}

	// The operator finds the payout in Stripe and says so.
	found := sim.PayoutIDs()[0]
	review := "/admin/payouts/" + id + "/review"
	c.Post(review, map[string]any{"decision": "paid", "stripe_id": "tr_123"}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	c.Post(review, map[string]any{"decision": "maybe"}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	c.Post(review, map[string]any{"decision": "paid", "stripe_id": found}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Post(review, map[string]any{"decision": "fail", "reason": "twice"}, testenv.AdminHeaders()).Expect(t, 409, "INVALID_REQUEST")
	if _, err := sim.SettlePayout(found); err != nil { // the bank pays it
		t.Fatal(err)
	}
	done = startBatch(c, "2034-02")
	if r := <-done; r.Status != 200 || r.Body["completed"] != 1.0 {
		t.Fatalf("batch after review %d %s", r.Status, r.Raw)
	}
	p = payoutOf(t, c, id)
	if p["status"] != "completed" || p["external_ref"] != found || p["alert"] != "" || sim.PayoutCount() != 1 {
		t.Fatalf("payout %v, %d bank payouts", p, sim.PayoutCount())
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 200 || held != 0 {
		t.Fatalf("app wallet %v/%v", av, held)
	}
}

// Stripe answers the status read of an existing bank payout with 400 and
// 404: the reads are retried and alert, the credits are never restored, and
// once the reads recover the payout completes.
func TestPayout_FailingStatusReadsAlertAndNeverRestore(t *testing.T) {
	sim, c := ownStripe(t)
	vendor, a := vendorWithEarnings(t, c, "400")
	before := liability(t, c)
	id := approvedPayout(t, c, bankPayout(vendor, a.WalletID, 250), vendor)
	bad := sim.InjectFault(stripesim.Fault{Method: http.MethodGet, Path: "/v1/payouts/", Status: http.StatusBadRequest, Times: 2})
	missing := sim.InjectFault(stripesim.Fault{Method: http.MethodGet, Path: "/v1/payouts/", Status: http.StatusNotFound})
	done := startBatch(c, "2034-03")
	waitFor(t, "the alert in the admin view", func() bool { return payoutOf(t, c, id)["alert"] != "" })
	p := payoutOf(t, c, id)
	if p["status"] != "burned" || !strings.Contains(p["alert"].(string), "unreadable") || bad.Hits() != 2 || missing.Hits() == 0 {
		t.Fatalf("payout %v (400s %d, 404s %d)", p, bad.Hits(), missing.Hits())
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 150 || held != 0 {
		t.Fatalf("app wallet %v/%v while the reads fail: nothing may be restored", av, held)
	}
	// The vendor never sees the internal alert.
	if own := c.Get("/wallets/"+a.WalletID+"/payouts/"+id, vendor.Headers()).Expect(t, 200, "").Object("payout"); own["alert"] != nil {
		t.Fatalf("vendor view %v", own)
	}
	missing.Remove()
	if _, err := sim.SettlePayout(p["stripe_id"].(string)); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.Status != 200 || r.Body["completed"] != 1.0 || r.Body["failed"] != 0.0 {
		t.Fatalf("batch %d %s", r.Status, r.Raw)
	}
	p = payoutOf(t, c, id)
	if p["status"] != "completed" || p["alert"] != "" || wasEver(p, "failed") || sim.PayoutCount() != 1 {
		t.Fatalf("payout %v", p)
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 150 || held != 0 {
		t.Fatalf("app wallet %v/%v: credits were restored", av, held)
	}
	if got := liability(t, c); got != before-250 {
		t.Fatalf("liability %v, want %v", got, before-250)
	}
}
