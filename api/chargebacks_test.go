package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/officex/officex/internal/testenv"
)

// paidPurchase buys credits with a test card and returns the purchase's
// PaymentIntent id. Tests use different cards so that no card reaches its
// velocity limit (purchases.MaxPurchasesPerCard) within the package.
func paidPurchase(t *testing.T, c *testenv.Client, u testenv.User, credits int, card, key string) string {
	t.Helper()
	c.Post("/purchase-credits", purchase(credits, card, key), u.Headers()).Expect(t, 200, "")
	var pi string
	if err := env.Pool.QueryRow(context.Background(),
		"SELECT stripe_payment_intent_id FROM credit_purchases WHERE user_id = $1 AND idempotency_key = $2", u.ID, key).Scan(&pi); err != nil {
		t.Fatal(err)
	}
	return pi
}

// sendReversal delivers a signed refund or dispute event and checks it was handled.
func sendReversal(t *testing.T, c *testenv.Client, event []byte, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if r := sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, ""); r.Body["handled"] != true {
		t.Fatalf("reversal not handled: %s", r.Raw)
	}
}

// chargebackTotal is what the journal's chargeback movements took from a
// wallet, in micro-credits, and how many there were.
func chargebackTotal(t *testing.T, wallet string) (int64, int) {
	t.Helper()
	var total int64
	var n int
	err := env.Pool.QueryRow(context.Background(), `SELECT COALESCE(-sum(e.amount), 0), count(*) FROM journal_entries e
		JOIN journal_transactions j ON j.id = e.transaction_id WHERE j.kind = 'chargeback' AND e.wallet_id = $1`, wallet).Scan(&total, &n)
	if err != nil {
		t.Fatal(err)
	}
	return total, n
}

func holdOf(t *testing.T, c *testenv.Client, u testenv.User) map[string]any {
	t.Helper()
	return c.Get("/admin/users/"+u.ID+"/payment-hold", testenv.AdminHeaders()).Expect(t, 200, "").Object("hold")
}

func TestChargeback_FullRefundTakesCreditsBackOnceAndSuspendsPurchases(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	c.Get("/admin/users/"+u.ID+"/payment-hold", testenv.AdminHeaders()).Expect(t, 404, "NOT_FOUND")
	pi := paidPurchase(t, c, u, 100, "tok_discover", "cb-full")
	event, err := env.Stripe.Refund(pi, 300)
	sendReversal(t, c, event, err)
	// Stripe delivers at least once: the same event again takes nothing more.
	sendReversal(t, c, event, nil)
	// A dispute of the same charge is the same money: nothing more either.
	dispute, err := env.Stripe.Dispute(pi, 300)
	sendReversal(t, c, dispute, err)
	if a, res := c.Balance(u); a != 0 || res != 0 {
		t.Fatalf("balance %v/%v after a full refund, want 0/0", a, res)
	}
	if total, n := chargebackTotal(t, u.WalletID); total != 100_000_000 || n != 1 {
		t.Fatalf("chargebacks took %d micro-credits in %d movements, want 100 credits in 1", total, n)
	}
	var stored, processed int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*), count(processed_at) FROM stripe_reversal_events e
		JOIN credit_purchases p ON p.id = e.purchase_id WHERE p.stripe_payment_intent_id = $1`, pi).Scan(&stored, &processed); err != nil {
		t.Fatal(err)
	}
	if stored != 2 || processed != 2 {
		t.Fatalf("%d events stored (%d processed), want the refund and the dispute once each", stored, processed)
	}
	if h := holdOf(t, c, u); h["debt"] != 0.0 || h["purchases_suspended"] != true || h["spending_suspended"] != false {
		t.Fatalf("hold %v", h)
	}
	before := countPurchases(t)
	r := c.Post("/purchase-credits", purchase(50, "tok_discover", "cb-full-again"), u.Headers()).Expect(t, 403, "FORBIDDEN")
	if !strings.Contains(r.Object("error")["message"].(string), "suspended") || countPurchases(t) != before {
		t.Fatalf("a suspended user's purchase: %s", r.Raw)
	}
	// Finance clears the hold: nothing owed, purchases resume.
	clr := c.Post("/admin/users/"+u.ID+"/payment-hold/clear", map[string]any{"reason": "refund was ours"}, testenv.AdminHeaders()).Expect(t, 200, "")
	if clr.Body["collected"] != 0.0 || clr.Body["written_off"] != 0.0 || clr.Object("hold")["purchases_suspended"] != false {
		t.Fatalf("clear %s", clr.Raw)
	}
	c.Post("/admin/users/"+u.ID+"/payment-hold/clear", map[string]any{"reason": "again"}, testenv.AdminHeaders()).Expect(t, 404, "NOT_FOUND")
	c.Post("/purchase-credits", purchase(50, "tok_discover", "cb-full-again"), u.Headers()).Expect(t, 200, "")
}

func TestChargeback_SpentCreditsBecomeDebtThatBlocksSpendingUntilAdminClears(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	u := c.NewUser()
	pi := paidPurchase(t, c, u, 100, "tok_diners", "cb-debt")
	in := c.Install(u, a.ID, nil)
	c.Post("/reserve", map[string]any{"amount": 60, "job_id": "cb-job-1"}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#cb-job-1", "amount": 60, "final": true}, in.Headers()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 15, "job_id": "cb-job-open"}, in.Headers()).Expect(t, 200, "")
	// 25 available, 15 reserved for a running job: the dispute takes the 25
	// and the remaining 75 become debt; the running job keeps its credits.
	event, err := env.Stripe.Dispute(pi, 300)
	sendReversal(t, c, event, err)
	if av, res := c.Balance(u); av != 0 || res != 15 {
		t.Fatalf("balance %v/%v after the dispute, want 0/15", av, res)
	}
	if h := holdOf(t, c, u); h["debt"] != 75.0 || h["spending_suspended"] != true {
		t.Fatalf("hold %v, want 75 debt", h)
	}
	// Credits arriving later (a voucher, an adjustment) can't be spent while the debt is open.
	c.Fund(u.WalletID, "30")
	r := c.Post("/reserve", map[string]any{"amount": 10, "job_id": "cb-job-2"}, in.Headers()).Expect(t, 402, "INSUFFICIENT_FUNDS")
	if msg := r.Object("error")["message"].(string); !strings.Contains(msg, "owes") || !strings.Contains(msg, "75") {
		t.Fatalf("refusal does not explain the debt: %s", msg)
	}
	c.Get("/reservations/RESV%23cb-job-2", in.Headers()).Expect(t, 404, "RESERVATION_NOT_FOUND")
	// The job that was running still settles: those credits were reserved before.
	c.Post("/settle", map[string]any{"reservation_id": "RESV#cb-job-open", "amount": 15, "final": true}, in.Headers()).Expect(t, 200, "")
	if av, res := c.Balance(u); av != 30 || res != 0 {
		t.Fatalf("balance %v/%v, want 30/0", av, res)
	}
	c.Post("/admin/users/"+u.ID+"/payment-hold/clear", map[string]any{}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	clr := c.Post("/admin/users/"+u.ID+"/payment-hold/clear", map[string]any{"reason": "collected what is there, rest written off"},
		testenv.AdminHeaders()).Expect(t, 200, "")
	if clr.Body["collected"] != 30.0 || clr.Body["written_off"] != 45.0 || clr.String("transaction_id") == "" {
		t.Fatalf("clear %s", clr.Raw)
	}
	if h := holdOf(t, c, u); h["debt"] != 0.0 || h["purchases_suspended"] != false || h["spending_suspended"] != false {
		t.Fatalf("hold after clear %v", h)
	}
	if total, n := chargebackTotal(t, u.WalletID); total != 55_000_000 || n != 2 {
		t.Fatalf("chargebacks took %d micro-credits in %d movements, want 25 + 30 credits", total, n)
	}
	c.Fund(u.WalletID, "10")
	c.Post("/reserve", map[string]any{"amount": 5, "job_id": "cb-job-3"}, in.Headers()).Expect(t, 200, "")
	audit := c.Get("/admin/audit?limit=100", testenv.AdminHeaders()).Expect(t, 200, "")
	for _, action := range []string{"purchase.reversed", "payment_hold.cleared"} {
		if !strings.Contains(string(audit.Raw), action) {
			t.Fatalf("audit has no %s", action)
		}
	}
}

func TestChargeback_PartialRefundsTakeBackProportionallyRoundedUp(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	pi := paidPurchase(t, c, u, 100, "tok_jcb", "cb-partial") // 300 cents
	first, err := env.Stripe.Refund(pi, 100)
	sendReversal(t, c, first, err)
	// 100 of 300 cents: 33.333333... credits, rounded up to the micro-credit.
	if a, _ := c.Balance(u); a != 66.666666 {
		t.Fatalf("balance %v after a third refunded, want 66.666666", a)
	}
	second, err := env.Stripe.Refund(pi, 50) // cumulative 150 cents: half
	sendReversal(t, c, second, err)
	if a, _ := c.Balance(u); a != 50 {
		t.Fatalf("balance %v after half refunded, want 50", a)
	}
	// The first event arriving late (Stripe does not promise order) changes nothing.
	sendReversal(t, c, first, nil)
	if a, _ := c.Balance(u); a != 50 {
		t.Fatalf("balance %v after a late redelivery, want 50", a)
	}
	// A dispute of the other half takes the rest, once.
	dispute, err := env.Stripe.Dispute(pi, 150)
	sendReversal(t, c, dispute, err)
	sendReversal(t, c, dispute, nil)
	if a, _ := c.Balance(u); a != 0 {
		t.Fatalf("balance %v after refund + dispute of everything, want 0", a)
	}
	if total, n := chargebackTotal(t, u.WalletID); total != 100_000_000 || n != 3 {
		t.Fatalf("chargebacks took %d micro-credits in %d movements, want exactly the 100 credits bought", total, n)
	}
	if h := holdOf(t, c, u); h["debt"] != 0.0 {
		t.Fatalf("hold %v", h)
	}
}

func TestChargeback_EventsOfOtherChargesAndBadSignaturesChangeNothing(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	pi := paidPurchase(t, c, u, 40, "tok_unionpay", "cb-other")
	event, err := env.Stripe.Refund(pi, 120)
	if err != nil {
		t.Fatal(err)
	}
	sendStripeEvent(t, c, event, "whsec_wrong").Expect(t, 400, "INVALID_SECRET")
	if a, _ := c.Balance(u); a != 40 {
		t.Fatalf("an unsigned refund took credits: balance %v", a)
	}
	// A charge that is not one of our purchases is stored, not acted on.
	foreign := []byte(strings.ReplaceAll(string(event), pi, "pi_notOurs0000000000"))
	foreign = []byte(strings.Replace(string(foreign), `"id":"evt_`, `"id":"evt_foreign`, 1))
	if r := sendStripeEvent(t, c, foreign, env.StripeWebhookSecret).Expect(t, 200, ""); r.Body["handled"] != false {
		t.Fatalf("foreign charge handled: %s", r.Raw)
	}
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM stripe_reversal_events WHERE payment_intent_id = 'pi_notOurs0000000000' AND purchase_id IS NULL").Scan(&n); err != nil || n != 1 {
		t.Fatalf("foreign event stored %d times (%v), want 1", n, err)
	}
	if a, _ := c.Balance(u); a != 40 {
		t.Fatalf("balance %v", a)
	}
	c.Get("/admin/users/"+u.ID+"/payment-hold", testenv.AdminHeaders()).Expect(t, 404, "NOT_FOUND")
}
