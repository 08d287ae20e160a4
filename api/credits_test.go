package api_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/stripesim"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

func purchase(amount any, token string, key string) map[string]any {
	body := map[string]any{"amount": amount, "payment_method": map[string]any{"type": "stripe", "token": token}}
	if key != "" {
		body["idempotency_key"] = key
	}
	return body
}

func liability(t *testing.T, c *testenv.Client) float64 {
	t.Helper()
	return c.Get("/admin/treasury", testenv.AdminHeaders()).Expect(t, 200, "").Object("treasury")["liability"].(float64)
}

func countPurchases(t *testing.T) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM credit_purchases").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPurchase_SucceedsWithTokVisa(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	before, charges := liability(t, c), env.Stripe.PaymentIntentCount()
	r := c.Post("/purchase-credits", purchase(100, "tok_visa", ""), u.Headers()).Expect(t, 200, "")
	if r.Body["credits_added"] != 100.0 || r.Body["new_balance"] != 100.0 || r.String("transaction_id") == "" {
		t.Fatalf("purchase answer: %s", r.Raw)
	}
	if a, res := c.Balance(u); a != 100 || res != 0 {
		t.Fatalf("balance %v/%v", a, res)
	}
	if got := liability(t, c); got != before+100 {
		t.Fatalf("liability %v, want %v", got, before+100)
	}
	if env.Stripe.PaymentIntentCount() != charges+1 {
		t.Fatal("want exactly one PaymentIntent")
	}
	var cents int64
	if err := env.Pool.QueryRow(context.Background(), "SELECT amount_cents FROM credit_purchases WHERE journal_transaction_id = $1", r.String("transaction_id")).Scan(&cents); err != nil || cents != 300 {
		t.Fatalf("charged %d cents (%v), want 300", cents, err)
	}
	txs := c.Get("/wallets/"+u.WalletID+"/transactions", u.Headers()).Expect(t, 200, "").Body["transactions"].([]any)
	if len(txs) != 1 || txs[0].(map[string]any)["kind"] != "purchase" || txs[0].(map[string]any)["amount"] != 100.0 {
		t.Fatalf("transactions %v", txs)
	}
}

func TestPurchase_DeclineCreditsNothingAndKeyRemembersFailure(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	r := c.Post("/purchase-credits", purchase(50, "tok_chargeDeclined", "decline-1"), u.Headers()).Expect(t, 402, "PAYMENT_FAILED")
	if !strings.Contains(strings.ToLower(r.Object("error")["message"].(string)), "declined") {
		t.Fatalf("message %s", r.Raw)
	}
	if a, _ := c.Balance(u); a != 0 {
		t.Fatalf("balance %v after a decline", a)
	}
	c.Post("/purchase-credits", purchase(50, "tok_chargeDeclined", "decline-1"), u.Headers()).Expect(t, 409, "PREVIOUS_FAILURE")
	c.Post("/purchase-credits", purchase(50, "tok_chargeDeclinedInsufficientFunds", ""), u.Headers()).Expect(t, 402, "PAYMENT_FAILED")
}

func TestPurchase_IdempotentReplayAndKeyReuse(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	charges := env.Stripe.PaymentIntentCount()
	first := c.Post("/purchase-credits", purchase(20, "tok_visa", "replay-1"), u.Headers()).Expect(t, 200, "")
	again := c.Post("/purchase-credits", purchase("20", "tok_visa", "replay-1"), u.Headers()).Expect(t, 200, "")
	if string(first.Raw) != string(again.Raw) {
		t.Fatalf("replay answered differently:\n%s\n%s", first.Raw, again.Raw)
	}
	c.Post("/purchase-credits", purchase(21, "tok_visa", "replay-1"), u.Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	if a, _ := c.Balance(u); a != 20 {
		t.Fatalf("balance %v, want 20", a)
	}
	if env.Stripe.PaymentIntentCount() != charges+1 {
		t.Fatal("the replay charged again")
	}
	// The same key of another user is another purchase.
	other := c.NewUser()
	c.Post("/purchase-credits", purchase(20, "tok_visa", "replay-1"), other.Headers()).Expect(t, 200, "")
}

func TestPurchase_TwentyConcurrentSameKeyChargeAndCreditOnce(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	charges := env.Stripe.PaymentIntentCount()
	var wg sync.WaitGroup
	answers := make([]string, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Concurrent().Post("/purchase-credits", purchase(30, "tok_visa", "burst"), u.Headers())
			answers[i] = string(r.Raw)
		}()
	}
	wg.Wait()
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Fatalf("answers differ:\n%s\n%s", answers[0], a)
		}
	}
	if !strings.Contains(answers[0], `"credits_added":30`) {
		t.Fatalf("answer %s", answers[0])
	}
	if env.Stripe.PaymentIntentCount() != charges+1 {
		t.Fatalf("%d PaymentIntents for one key", env.Stripe.PaymentIntentCount()-charges)
	}
	if a, _ := c.Balance(u); a != 30 {
		t.Fatalf("balance %v, want 30", a)
	}
}

func waitBalance(t *testing.T, c *testenv.Client, u testenv.User, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if a, _ := c.Balance(u); a == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("balance %v, want %v", a, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sendStripeEvent(t *testing.T, c *testenv.Client, payload []byte, secret string) testenv.Response {
	t.Helper()
	return c.Post("/webhooks/stripe", payload, testenv.Headers{"Stripe-Signature": stripesim.SignPayload(secret, payload, time.Now())})
}

func TestPurchase_PendingUntilWebhookConfirms(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	r := c.Post("/purchase-credits", purchase(40, "tok_threeDSecure2Required", "3ds-1"), u.Headers()).Expect(t, 202, "")
	pi := r.String("payment_intent_id")
	if r.String("status") != "requires_action" || pi == "" || r.String("client_secret") == "" {
		t.Fatalf("pending answer: %s", r.Raw)
	}
	if a, _ := c.Balance(u); a != 0 {
		t.Fatal("credited before the payment completed")
	}
	replay := c.Post("/purchase-credits", purchase(40, "tok_threeDSecure2Required", "3ds-1"), u.Headers()).Expect(t, 202, "")
	if replay.String("client_secret") != r.String("client_secret") {
		t.Fatal("the replay lost the client secret")
	}
	event, err := env.Stripe.CompleteAction(pi, true)
	if err != nil {
		t.Fatal(err)
	}
	sendStripeEvent(t, c, event, "whsec_wrong").Expect(t, 400, "INVALID_SECRET")
	if h := sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, ""); h.Body["handled"] != true {
		t.Fatalf("webhook not handled: %s", h.Raw)
	}
	waitBalance(t, c, u, 40)
	// Stripe delivers at least once: the same event again changes nothing.
	sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, "")
	done := c.Post("/purchase-credits", purchase(40, "tok_threeDSecure2Required", "3ds-1"), u.Headers()).Expect(t, 200, "")
	if done.Body["credits_added"] != 40.0 {
		t.Fatalf("replay after completion: %s", done.Raw)
	}
	// Once the purchase's workflow has closed, nothing is left that could
	// credit the replayed event (the webhook answered from the decided row).
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := env.Temporal.GetWorkflow(ctx, workflows.CreditPurchaseWorkflowID(r.String("purchase_id")), "").Get(ctx, nil); err != nil {
		t.Fatalf("the purchase's workflow did not close: %v", err)
	}
	if a, _ := c.Balance(u); a != 40 {
		t.Fatalf("balance %v after a replayed webhook", a)
	}
}

func TestPurchase_PendingThenFailedWebhookCreditsNothing(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	r := c.Post("/purchase-credits", purchase(40, "tok_threeDSecure2Required", "3ds-fail"), u.Headers()).Expect(t, 202, "")
	event, err := env.Stripe.CompleteAction(r.String("payment_intent_id"), false)
	if err != nil {
		t.Fatal(err)
	}
	sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, "")
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp := c.Post("/purchase-credits", purchase(40, "tok_threeDSecure2Required", "3ds-fail"), u.Headers())
		if resp.Status == 409 && resp.Code() == "PREVIOUS_FAILURE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("purchase never failed: %s", resp.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a, _ := c.Balance(u); a != 0 {
		t.Fatalf("balance %v after a failed payment", a)
	}
}

func TestPurchase_BadInputIsRefusedAndWritesNothing(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	before := countPurchases(t)
	amounts := []any{0, -1, "0.0000001", "abc", " 10", "10 ", 16, 10.5, "17.000001", 1000001, true, nil, "1e3", map[string]any{}}
	for _, a := range amounts {
		c.Post("/purchase-credits", purchase(a, "tok_visa", ""), u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	// 1e400 as raw JSON text (Go can't marshal it as a number).
	c.Post("/purchase-credits", `{"amount": 1e400, "payment_method": {"type": "stripe", "token": "tok_visa"}}`, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	bodies := []any{
		map[string]any{"amount": 20},
		map[string]any{"amount": 20, "payment_method": map[string]any{"type": "paypal", "token": "tok_visa"}},
		map[string]any{"amount": 20, "payment_method": map[string]any{"type": "stripe", "token": "4242424242424242"}},
		map[string]any{"amount": 20, "payment_method": map[string]any{"type": "stripe", "token": "tok_" + strings.Repeat("a", 252)}},
		map[string]any{"amount": 20, "payment_method": map[string]any{"type": "stripe", "token": "tok_visa", "cvc": "123"}},
		purchase(20, "tok_visa", strings.Repeat("k", purchases.MaxIdempotencyKeyLen+1)),
		map[string]any{"amount": 20, "payment_method": map[string]any{"type": "stripe", "token": "tok_visa"}, "idempotency_key": ""},
		map[string]any{"amount": 20, "payment_method": map[string]any{"type": "stripe", "token": "tok_visa"}, "new_balance": 1000},
	}
	for _, b := range bodies {
		c.Post("/purchase-credits", b, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Post("/purchase-credits", purchase(20, "tok_visa", ""), nil).Expect(t, 401, "UNAUTHORIZED")
	if countPurchases(t) != before {
		t.Fatal("a refused purchase was recorded")
	}
	// The limits themselves are accepted.
	c.Post("/purchase-credits", purchase(purchases.MinCredits, "tok_visa", ""), u.Headers()).Expect(t, 200, "")
	c.Post("/purchase-credits", purchase(purchases.MaxCredits, "pm_card_visa", strings.Repeat("k", purchases.MaxIdempotencyKeyLen)), u.Headers()).Expect(t, 200, "")
}

// TestPurchase_RequestsAreValidAgainstStripeMock pays through stripe-mock,
// Stripe's own mock, which checks every request against Stripe's API
// definition: an invalid request would fail as payment_rejected. stripe-mock
// answers a fixed requires_payment_method status, so the purchase ends failed
// with that code and nothing is credited.
func TestPurchase_RequestsAreValidAgainstStripeMock(t *testing.T) {
	base := os.Getenv("STRIPE_API_BASE")
	if base == "" {
		base = "http://127.0.0.1:12111"
	}
	if resp, err := http.Get(base + "/v1/charges"); err != nil {
		t.Fatalf("stripe-mock is not running at %s (make test starts it): %v", base, err)
	} else {
		resp.Body.Close()
	}
	queue := env.StartWorker(t, base)
	srv := newServer(t, func(d *depsEdit) { d.Purchases = purchases.New(env.Pool, env.Temporal, queue, env.Box, true) })
	c := env.ClientFor(t, srv)
	u := c.NewUser()
	for _, token := range []string{"tok_visa", "pm_card_visa"} {
		c.Post("/purchase-credits", purchase(25, token, "mock-"+token), u.Headers()).Expect(t, 402, "PAYMENT_FAILED")
		var code string
		if err := env.Pool.QueryRow(context.Background(),
			"SELECT failure_code FROM credit_purchases WHERE user_id = $1 AND idempotency_key = $2", u.ID, "mock-"+token).Scan(&code); err != nil {
			t.Fatal(err)
		}
		if code != "requires_payment_method" {
			t.Fatalf("%s: failure code %q: stripe-mock refused the request shape", token, code)
		}
	}
	if a, _ := c.Balance(u); a != 0 {
		t.Fatalf("balance %v", a)
	}
}

// TestPurchase_WithoutStripeAnswers503AtOnceAndRecordsNothing: a server with
// no Stripe key (officex serve without STRIPE_SECRET_KEY) used to record the
// purchase, wait 30 s for a charge that could never happen and answer 202 with
// an empty payment_intent_id.
func TestPurchase_WithoutStripeAnswers503AtOnceAndRecordsNothing(t *testing.T) {
	srv := newServer(t, func(d *depsEdit) {
		d.Purchases = purchases.New(env.Pool, env.Temporal, env.Config.TaskQueue, env.Box, false)
	})
	c := env.ClientFor(t, srv)
	u := c.NewUser()
	start := time.Now()
	for _, key := range []string{"", "no-stripe-1"} {
		r := c.Post("/purchase-credits", purchase(100, "tok_visa", key), u.Headers()).Expect(t, 503, "SERVICE_UNAVAILABLE")
		if !strings.Contains(r.Object("error")["message"].(string), "STRIPE_SECRET_KEY") {
			t.Fatalf("the answer does not name the missing configuration: %s", r.Raw)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("two refusals took %v; they must answer at once", took)
	}
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM credit_purchases WHERE user_id = $1", u.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d purchases recorded (%v), want none", n, err)
	}
	if a, _ := c.Balance(u); a != 0 {
		t.Fatalf("balance %v", a)
	}
	// A bad request is still the caller's to fix first.
	c.Post("/purchase-credits", purchase(1, "tok_visa", ""), u.Headers()).Expect(t, 400, "INVALID_REQUEST")
}
