package api_test

import (
	"context"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

const destinationsPath = "/users/me/payout-destinations"

// A vendor registers its Stripe account (checked with Stripe) and a bank
// account on it; registering again answers the same destination; another
// vendor can register neither that account nor a bank account on it, by
// the route or by a payout's inline destination, and nothing changes.
func TestPayoutDestinations_RegisterListAndOneVendorPerAccount(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "300")
	acct := acctOf(vendor)
	first := c.Post(destinationsPath, map[string]any{"type": "stripe", "account_id": acct}, vendor.Headers()).Expect(t, 201, "")
	again := c.Post(destinationsPath, map[string]any{"type": "stripe", "account_id": acct}, vendor.Headers()).Expect(t, 200, "")
	if id := first.Object("destination")["destination_id"]; id == nil || again.Object("destination")["destination_id"] != id {
		t.Fatalf("registered %s then %s", first.Raw, again.Raw)
	}
	bank := map[string]any{"type": "bank", "account_id": "ba_1Nv0FGQ9RKHgCVdKgood", "connected_account_id": acct}
	c.Post(destinationsPath, bank, vendor.Headers()).Expect(t, 201, "")
	if list := c.Get(destinationsPath, vendor.Headers()).Expect(t, 200, "").Body["destinations"].([]any); len(list) != 2 {
		t.Fatalf("destinations %v", list)
	}

	other, b := vendorWithEarnings(t, c, "300")
	c.Post(destinationsPath, map[string]any{"type": "stripe", "account_id": acct}, other.Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	c.Post(destinationsPath, bank, other.Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	c.Post("/payout", stripePayout(b.WalletID, 100, acct, ""), other.Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	mine := first.Object("destination")["destination_id"]
	c.Post("/payout", map[string]any{"wallet_id": b.WalletID, "amount": 100, "destination_id": mine}, other.Headers()).Expect(t, 403, "FORBIDDEN")
	if list := c.Get(destinationsPath, other.Headers()).Expect(t, 200, "").Body["destinations"].([]any); len(list) != 0 {
		t.Fatalf("the other vendor got destinations %v", list)
	}
	if av, held := balanceOf(t, c, b.WalletID, other); av != 300 || held != 0 {
		t.Fatalf("a refused payout moved credits: %v/%v", av, held)
	}
	if n := countRows(t, "SELECT count(*) FROM stripe_connected_accounts WHERE account_id = $1 AND user_id = $2", acct, vendor.ID); n != 1 {
		t.Fatalf("%d owners rows for %s", n, acct)
	}

	// A payout names the destination; the reference's inline form still works.
	id := c.Post("/payout", map[string]any{"wallet_id": a.WalletID, "amount": 100, "destination_id": mine}, vendor.Headers()).
		Expect(t, 200, "").String("payout_id")
	if p := payoutOf(t, c, id); p["destination_id"] != mine || p["destination"].(map[string]any)["account_id"] != acct {
		t.Fatalf("payout %v", p)
	}
	inline := c.Post("/payout", stripePayout(a.WalletID, 100, acct, ""), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	if p := payoutOf(t, c, inline); p["destination_id"] != mine {
		t.Fatalf("the inline destination was not the registered one: %v", p)
	}
	for _, pid := range []string{id, inline} {
		c.Post("/admin/payouts/"+pid+"/reject", map[string]any{"reason": "test"}, testenv.AdminHeaders()).Expect(t, 200, "")
	}
}

// Stripe does not know the account: 400, and nothing is registered or held.
// Bad destinations are refused before anything is asked.
func TestPayoutDestinations_UnknownAccountAndBadInputChangeNothing(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "300")
	gone := "acct_gone" + strings.ReplaceAll(vendor.ID, "-", "")[:12]
	c.Post(destinationsPath, map[string]any{"type": "stripe", "account_id": gone}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/payout", stripePayout(a.WalletID, 100, gone, ""), vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	for _, body := range []map[string]any{
		{"type": "paypal", "account_id": "x"},
		{"type": "bank", "account_id": "ba_1Nv0FGQ9RKHgCVdKgood"},
		{"type": "stripe", "account_id": "acct_short"},
		{"type": "stripe", "account_id": acctOf(vendor), "connected_account_id": acctOf(vendor)},
		{"type": "stripe", "account_id": acctOf(vendor), "extra": 1},
		{"type": "stripe", "account_id": strings.Repeat("a", 256)},
		{"account_id": acctOf(vendor)},
	} {
		c.Post(destinationsPath, body, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	both := stripePayout(a.WalletID, 100, acctOf(vendor), "")
	both["destination_id"] = "00000000-0000-0000-0000-000000000001"
	c.Post("/payout", both, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/payout", map[string]any{"wallet_id": a.WalletID, "amount": 100}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/payout", map[string]any{"wallet_id": a.WalletID, "amount": 100, "destination_id": "00000000-0000-0000-0000-000000000001"},
		vendor.Headers()).Expect(t, 404, "NOT_FOUND")
	if n := countRows(t, "SELECT count(*) FROM payout_destinations WHERE user_id = $1", vendor.ID); n != 0 {
		t.Fatalf("%d destinations registered from refused requests", n)
	}
	if n := countRows(t, "SELECT count(*) FROM stripe_connected_accounts WHERE user_id = $1", vendor.ID); n != 0 {
		t.Fatalf("%d accounts claimed from refused requests", n)
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 300 || held != 0 {
		t.Fatalf("refused payouts moved credits: %v/%v", av, held)
	}
}

// activityTypes lists the activities a workflow scheduled, in order.
func activityTypes(t *testing.T, workflowID string) []string {
	t.Helper()
	var out []string
	it := env.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			out = append(out, a.GetActivityType().GetName())
		}
	}
	return out
}

// A bank payout to a registered destination is a transfer to the vendor's
// connected account, then the payout from it, each stored on the row before
// the next step and each its own activity; Stripe's payout.paid webhook is
// stored as it said it and completes the payout. The books: the credits are
// burned once, the liability falls by the amount.
func TestPayout_BankIsTransferThenPayoutConfirmedByWebhook(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "500")
	before := liability(t, c)
	dest := c.Post(destinationsPath, map[string]any{"type": "bank", "account_id": "ba_1Nv0FGQ9RKHgCVdKgood",
		"connected_account_id": acctOf(vendor)}, vendor.Headers()).Expect(t, 201, "").Object("destination")["destination_id"]
	transfers, bankPayouts := env.Stripe.TransferCount(), env.Stripe.PayoutCount()
	id := approvedPayout(t, c, map[string]any{"wallet_id": a.WalletID, "amount": 300, "destination_id": dest}, vendor)
	done := startBatch(c, "2035-07")
	var poID string
	waitFor(t, "the bank payout created", func() bool {
		poID, _ = payoutOf(t, c, id)["stripe_id"].(string)
		return poID != ""
	})
	p := payoutOf(t, c, id)
	if tr, _ := p["transfer_id"].(string); !strings.HasPrefix(tr, "tr_") || !strings.HasPrefix(poID, "po_") {
		t.Fatalf("payout %v", p)
	}
	if !historyHas(p, "Stripe transfer "+p["transfer_id"].(string)+" to "+acctOf(vendor)) {
		t.Fatalf("history %v", p["history"])
	}
	event, err := env.Stripe.SettlePayout(poID)
	if err != nil {
		t.Fatal(err)
	}
	if r := sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, ""); r.Body["handled"] != true {
		t.Fatalf("payout.paid not handled: %s", r.Raw)
	}
	sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, "") // Stripe delivers again: nothing changes
	if r := <-done; r.Status != 200 || r.Body["completed"] != 1.0 {
		t.Fatalf("batch %d %s", r.Status, r.Raw)
	}
	p = payoutOf(t, c, id)
	if p["status"] != "completed" || p["external_ref"] != poID || p["bank_status"] != "paid" {
		t.Fatalf("payout %v", p)
	}
	if env.Stripe.TransferCount() != transfers+1 || env.Stripe.PayoutCount() != bankPayouts+1 {
		t.Fatalf("%d transfers, %d bank payouts: want one of each", env.Stripe.TransferCount()-transfers, env.Stripe.PayoutCount()-bankPayouts)
	}
	want := []string{"BurnPayout", "BankTransfer", "StripeBankPayout", "AwaitBankPayout", "CompletePayout"}
	if got := activityTypes(t, workflows.PayoutWorkflowID(id)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("activities %v, want %v", got, want)
	}
	if av, held := balanceOf(t, c, a.WalletID, vendor); av != 200 || held != 0 {
		t.Fatalf("app wallet %v/%v", av, held)
	}
	if got := liability(t, c); got != before-300 {
		t.Fatalf("liability %v, want %v", got, before-300)
	}
}
