package api_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/worker"
)

func stripeMockURL() string {
	if base := os.Getenv("STRIPE_API_BASE"); base != "" {
		return base
	}
	return "http://127.0.0.1:12111"
}

// The account check of a payout destination is a request stripe-mock
// accepts (it answers any account id with its fixture).
func TestPayoutDestinations_AccountCheckIsValidAgainstStripeMock(t *testing.T) {
	check := payouts.StripeAccounts{API: activities.NewStripeClient("sk_test_123", stripeMockURL())}
	if err := check.CheckAccount(context.Background(), "acct_1Nv0FGQ9RKHgCVdK"); err != nil {
		t.Fatalf("stripe-mock refused the account retrieval: %v", err)
	}
}

// TestPayout_StripeRequestsAreValidAgainstStripeMock pays a transfer through
// stripe-mock, which checks every request against Stripe's API definition
// (a request it refuses would fail the payout), and sends the bank payout
// calls to it too. stripe-mock keeps no state: its payouts stay in_transit.
func TestPayout_StripeRequestsAreValidAgainstStripeMock(t *testing.T) {
	stripe := activities.NewStripeClient("sk_test_123", stripeMockURL())
	queue, _ := env.StartWorkerWith(t, func(d *worker.Deps) { d.Stripe = stripe })
	c := env.ClientFor(t, newServer(t, func(d *api.Deps) { d.Config.TaskQueue = queue }))
	vendor, a := vendorWithEarnings(t, c, "300")
	id := c.Post("/payout", stripePayout(a.WalletID, 100, acctOf(vendor), ""), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	if b := runBatch(t, c, "2033-01"); b.Body["completed"] != 1.0 {
		t.Fatalf("batch through stripe-mock: %s", b.Raw)
	}
	if p := payoutOf(t, c, id); !strings.HasPrefix(p["external_ref"].(string), "tr_") {
		t.Fatalf("payout %v", p)
	}

	bank := c.Post("/payout", map[string]any{"wallet_id": a.WalletID, "amount": 100, "destination": map[string]any{
		"type": "bank", "account_id": "ba_1Nv0FGQ9RKHgCVdKgood", "connected_account_id": acctOf(vendor)}}, vendor.Headers()).Expect(t, 200, "")
	acts := &activities.Payouts{Payouts: payouts.New(env.Pool, false), Stripe: stripe}
	c.Post("/admin/payouts/"+bank.String("payout_id")+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	if _, err := acts.BurnPayout(context.Background(), bank.String("payout_id")); err != nil {
		t.Fatal(err) // only a burned payout is paid
	}
	trID, err := acts.BankTransfer(context.Background(), bank.String("payout_id"))
	if err != nil || !strings.HasPrefix(trID, "tr_") {
		t.Fatalf("bank transfer refused by stripe-mock: %q %v", trID, err)
	}
	poID, err := acts.StripeBankPayout(context.Background(), bank.String("payout_id"))
	if err != nil || !strings.HasPrefix(poID, "po_") {
		t.Fatalf("bank payout request refused by stripe-mock: %q %v", poID, err)
	}
	status, err := acts.StripePayoutStatus(context.Background(), bank.String("payout_id"), poID)
	if err != nil || status == "" {
		t.Fatalf("payout status: %q %v", status, err)
	}
	// stripe-mock moved no money and keeps the payout in transit: give the
	// credits back so later batches see no open payout.
	if err := acts.FailPayout(context.Background(), bank.String("payout_id"), "stripe-mock keeps it in transit"); err != nil {
		t.Fatal(err)
	}
}
