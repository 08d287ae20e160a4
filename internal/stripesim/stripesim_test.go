package stripesim

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

const (
	testKey    = "sk_test_stripesim"
	testAcct   = "acct_1234567890abcdef"
	testSecret = "whsec_stripesim"
)

// newAPI returns stripe-go's real client pointed at baseURL, without retries
// so every call is exactly one request.
func newAPI(baseURL string) *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(baseURL),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return client.New(testKey, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

func startSim(t *testing.T) (*Server, *client.API) {
	t.Helper()
	sim := New()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, newAPI(srv.URL)
}

// stripeErr unwraps the *stripe.Error stripe-go returns for an API error.
func stripeErr(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("want a *stripe.Error, got %T %v", err, err)
	}
	return se
}

func cardPM(t *testing.T, api *client.API, token string) *stripe.PaymentMethod {
	t.Helper()
	pm, err := api.PaymentMethods.New(&stripe.PaymentMethodParams{
		Type: stripe.String("card"),
		Card: &stripe.PaymentMethodCardParams{Token: stripe.String(token)},
	})
	if err != nil {
		t.Fatalf("payment method from %s: %v", token, err)
	}
	return pm
}

// buyParams is the confirmed card PaymentIntent OfficeX creates to sell credits.
func buyParams(paymentMethod string, amount int64) *stripe.PaymentIntentParams {
	p := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(amount),
		Currency:           stripe.String("usd"),
		Confirm:            stripe.Bool(true),
		PaymentMethod:      stripe.String(paymentMethod),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Description:        stripe.String("OfficeX credits"),
	}
	p.AddMetadata("purchase_id", "pur_1")
	return p
}

func TestPaymentSucceedsWithSuccessCards(t *testing.T) {
	sim, api := startSim(t)
	pm := cardPM(t, api, "tok_visa")
	if pm.Card.Last4 != "4242" || pm.Card.Brand != "visa" || !strings.HasPrefix(pm.ID, "pm_") {
		t.Fatalf("payment method: %+v", pm.Card)
	}
	for _, method := range []string{pm.ID, "pm_card_mastercard", "pm_card_visa"} {
		pi, err := api.PaymentIntents.New(buyParams(method, 1000))
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.LatestCharge == nil ||
			!strings.HasPrefix(pi.LatestCharge.ID, "ch_") || pi.AmountReceived != 1000 ||
			pi.Metadata["purchase_id"] != "pur_1" || pi.Livemode || pi.Currency != "usd" {
			t.Fatalf("%s: %+v", method, pi)
		}
		got, err := api.PaymentIntents.Get(pi.ID, nil)
		if err != nil || got.Status != stripe.PaymentIntentStatusSucceeded || got.PaymentMethod.ID != pi.PaymentMethod.ID {
			t.Fatalf("get %s: %v %+v", pi.ID, err, got)
		}
	}
	if sim.ChargeCount() != 3 || sim.PaymentIntentCount() != 3 {
		t.Fatalf("charges %d, intents %d", sim.ChargeCount(), sim.PaymentIntentCount())
	}
}

func TestDeclinesAnswer402CardError(t *testing.T) {
	sim, api := startSim(t)
	cases := []struct {
		method            string
		code, declineCode string
	}{
		{cardPM(t, api, "tok_chargeDeclined").ID, "card_declined", "generic_decline"},
		{cardPM(t, api, "tok_chargeDeclinedInsufficientFunds").ID, "card_declined", "insufficient_funds"},
		{cardPM(t, api, "tok_chargeDeclinedExpiredCard").ID, "expired_card", "expired_card"},
		{"pm_card_chargeDeclined", "card_declined", "generic_decline"},
		{"pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"},
		{"pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"},
		{"pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"},
	}
	for _, c := range cases {
		_, err := api.PaymentIntents.New(buyParams(c.method, 1000))
		se := stripeErr(t, err)
		if se.HTTPStatusCode != http.StatusPaymentRequired || se.Type != stripe.ErrorTypeCard ||
			string(se.Code) != c.code || string(se.DeclineCode) != c.declineCode || se.Msg == "" || se.RequestID == "" {
			t.Fatalf("%s: %+v", c.method, se)
		}
		pi := se.PaymentIntent
		if pi == nil || pi.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || pi.LastPaymentError == nil ||
			string(pi.LastPaymentError.DeclineCode) != c.declineCode || pi.PaymentMethod != nil {
			t.Fatalf("%s: payment intent %+v", c.method, pi)
		}
		got, err := api.PaymentIntents.Get(pi.ID, nil)
		if err != nil || got.Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
			t.Fatalf("get %s: %v %+v", pi.ID, err, got)
		}
	}
	var cardErr *stripe.CardError
	_, err := api.PaymentIntents.New(buyParams("pm_card_chargeDeclined", 1000))
	if !errors.As(err, &cardErr) || cardErr.DeclineCode != "generic_decline" {
		t.Fatalf("want a *stripe.CardError, got %v", err)
	}
	if sim.ChargeCount() != 0 {
		t.Fatalf("declines charged %d times", sim.ChargeCount())
	}
}

func TestThreeDSecureThenCompleteAction(t *testing.T) {
	sim, api := startSim(t)
	pi, err := api.PaymentIntents.New(buyParams(cardPM(t, api, "tok_threeDSecure2Required").ID, 2500))
	if err != nil {
		t.Fatal(err)
	}
	if pi.Status != stripe.PaymentIntentStatusRequiresAction || pi.NextAction == nil ||
		pi.NextAction.Type != "use_stripe_sdk" || !strings.HasPrefix(pi.ClientSecret, pi.ID+"_secret_") {
		t.Fatalf("3DS: %+v", pi)
	}
	if _, err := sim.CompleteAction(pi.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := api.PaymentIntents.Get(pi.ID, nil); got.Status != stripe.PaymentIntentStatusSucceeded || got.LatestCharge == nil {
		t.Fatalf("after authentication: %+v", got)
	}
	if _, err := sim.CompleteAction(pi.ID, true); err == nil {
		t.Fatal("completing a succeeded payment twice: want an error")
	}

	failed, _ := api.PaymentIntents.New(buyParams("pm_card_authenticationRequired", 2500))
	if _, err := sim.CompleteAction(failed.ID, false); err != nil {
		t.Fatal(err)
	}
	got, _ := api.PaymentIntents.Get(failed.ID, nil)
	if got.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || got.LastPaymentError == nil ||
		got.LastPaymentError.Code != stripe.ErrorCodePaymentIntentAuthenticationFailure {
		t.Fatalf("failed authentication: %+v", got)
	}

	declined, _ := api.PaymentIntents.New(buyParams("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", 2500))
	if _, err := sim.CompleteAction(declined.ID, true); err != nil {
		t.Fatal(err)
	}
	got, _ = api.PaymentIntents.Get(declined.ID, nil)
	if got.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || got.LastPaymentError.DeclineCode != "insufficient_funds" {
		t.Fatalf("declined after authentication: %+v", got)
	}
	if sim.ChargeCount() != 1 {
		t.Fatalf("charges: %d", sim.ChargeCount())
	}
}

func TestIdempotentReplayChargesOnce(t *testing.T) {
	sim, api := startSim(t)
	pm := cardPM(t, api, "tok_visa")
	var first *stripe.PaymentIntent
	for i := 0; i < 3; i++ {
		p := buyParams(pm.ID, 1000)
		p.SetIdempotencyKey("buy-1")
		pi, err := api.PaymentIntents.New(p)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = pi
		} else if pi.ID != first.ID || pi.LatestCharge.ID != first.LatestCharge.ID ||
			pi.LastResponse.RequestID != first.LastResponse.RequestID {
			t.Fatalf("replay %d differs: %s vs %s", i, pi.ID, first.ID)
		}
	}
	if sim.PaymentIntentCount() != 1 || sim.ChargeCount() != 1 {
		t.Fatalf("intents %d, charges %d", sim.PaymentIntentCount(), sim.ChargeCount())
	}

	// A decline is an outcome: replayed too, with its 402.
	for i := 0; i < 2; i++ {
		p := buyParams("pm_card_chargeDeclined", 1000)
		p.SetIdempotencyKey("buy-declined")
		if se := stripeErr(t, func() error { _, err := api.PaymentIntents.New(p); return err }()); se.HTTPStatusCode != 402 {
			t.Fatalf("replayed decline: %+v", se)
		}
	}
	if sim.PaymentIntentCount() != 2 {
		t.Fatalf("intents after replayed decline: %d", sim.PaymentIntentCount())
	}
	var replays int
	for _, r := range sim.Requests() {
		if r.Replayed {
			replays++
		}
	}
	if replays != 3 {
		t.Fatalf("replays logged: %d of %+v", replays, sim.Requests())
	}
}

func TestConcurrentRetriesWithOneKeyChargeOnce(t *testing.T) {
	sim, api := startSim(t)
	const callers = 20
	ids := make(chan string, callers)
	for i := 0; i < callers; i++ {
		go func() {
			p := buyParams("pm_card_visa", 1000)
			p.SetIdempotencyKey("buy-concurrent")
			pi, err := api.PaymentIntents.New(p)
			if err != nil {
				ids <- err.Error()
				return
			}
			ids <- pi.ID
		}()
	}
	first := <-ids
	for i := 1; i < callers; i++ {
		if id := <-ids; id != first {
			t.Fatalf("callers saw %s and %s", first, id)
		}
	}
	if sim.ChargeCount() != 1 {
		t.Fatalf("charges: %d", sim.ChargeCount())
	}
}

func TestIdempotencyKeyReuseWithOtherParams(t *testing.T) {
	sim, api := startSim(t)
	p := buyParams("pm_card_visa", 1000)
	p.SetIdempotencyKey("buy-2")
	if _, err := api.PaymentIntents.New(p); err != nil {
		t.Fatal(err)
	}
	p = buyParams("pm_card_visa", 2000)
	p.SetIdempotencyKey("buy-2")
	_, err := api.PaymentIntents.New(p)
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeIdempotency {
		t.Fatalf("reuse: %+v", se)
	}
	tp := &stripe.TransferParams{Amount: stripe.Int64(1), Currency: stripe.String("usd"), Destination: stripe.String(testAcct)}
	tp.SetIdempotencyKey("buy-2")
	_, err = api.Transfers.New(tp)
	if se := stripeErr(t, err); se.Type != stripe.ErrorTypeIdempotency || !strings.Contains(se.Msg, "same endpoint") {
		t.Fatalf("reuse on another endpoint: %+v", se)
	}
	if sim.ChargeCount() != 1 || sim.TransferCount() != 0 {
		t.Fatalf("charges %d transfers %d", sim.ChargeCount(), sim.TransferCount())
	}
}

func TestInvalidRequestsAnswerLikeStripe(t *testing.T) {
	sim, api := startSim(t)
	unconfirmed := buyParams("pm_card_visa", 1000)
	unconfirmed.Confirm = stripe.Bool(false)
	withCustomer := buyParams("pm_card_visa", 1000)
	withCustomer.Customer = stripe.String("cus_x")
	cases := []struct {
		name   string
		call   func() error
		status int
		code   stripe.ErrorCode
	}{
		{"amount too small", func() error { _, err := api.PaymentIntents.New(buyParams("pm_card_visa", 49)); return err }, 400, "amount_too_small"},
		{"unknown payment method", func() error { _, err := api.PaymentIntents.New(buyParams("pm_nope", 1000)); return err }, 400, "resource_missing"},
		{"unknown token", func() error {
			_, err := api.PaymentMethods.New(&stripe.PaymentMethodParams{Type: stripe.String("card"),
				Card: &stripe.PaymentMethodCardParams{Token: stripe.String("tok_nope")}})
			return err
		}, 400, "resource_missing"},
		{"bad currency", func() error {
			p := buyParams("pm_card_visa", 1000)
			p.Currency = stripe.String("xyz")
			_, err := api.PaymentIntents.New(p)
			return err
		}, 400, ""},
		{"missing amount", func() error {
			p := buyParams("pm_card_visa", 1000)
			p.Amount = nil
			_, err := api.PaymentIntents.New(p)
			return err
		}, 400, "parameter_missing"},
		{"unsimulated parameter", func() error { _, err := api.PaymentIntents.New(withCustomer); return err }, 400, "parameter_unknown"},
		{"missing intent", func() error { _, err := api.PaymentIntents.Get("pi_nope", nil); return err }, 404, "resource_missing"},
	}
	for _, c := range cases {
		se := stripeErr(t, c.call())
		if se.HTTPStatusCode != c.status || se.Type != stripe.ErrorTypeInvalidRequest || se.Code != c.code {
			t.Errorf("%s: %+v", c.name, se)
		}
	}
	if sim.PaymentIntentCount() != 0 {
		t.Fatalf("invalid requests created %d intents", sim.PaymentIntentCount())
	}
}

func TestConfirmLaterAndCancel(t *testing.T) {
	_, api := startSim(t)
	p := buyParams("pm_card_visa", 1000)
	p.Confirm = stripe.Bool(false)
	pi, err := api.PaymentIntents.New(p)
	if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresConfirmation {
		t.Fatalf("unconfirmed: %v %+v", err, pi)
	}
	if pi, err = api.PaymentIntents.Confirm(pi.ID, nil); err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Fatalf("confirm: %v %+v", err, pi)
	}
	_, err = api.PaymentIntents.Cancel(pi.ID, nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Code != stripe.ErrorCodePaymentIntentUnexpectedState {
		t.Fatalf("cancel succeeded: %+v", se)
	}

	bare, err := api.PaymentIntents.New(&stripe.PaymentIntentParams{Amount: stripe.Int64(500), Currency: stripe.String("USD")})
	if err != nil || bare.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || bare.Currency != "usd" {
		t.Fatalf("no payment method: %v %+v", err, bare)
	}
	action, _ := api.PaymentIntents.New(buyParams("pm_card_threeDSecure2Required", 1000))
	for _, id := range []string{bare.ID, action.ID} {
		got, err := api.PaymentIntents.Cancel(id, &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")})
		if err != nil || got.Status != stripe.PaymentIntentStatusCanceled || got.CanceledAt == 0 {
			t.Fatalf("cancel %s: %v %+v", id, err, got)
		}
	}
}

func TestAuthenticationNeedsATestKey(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	for _, auth := range []string{"", "Bearer sk_live_123456789012345", "Bearer pk_test_123"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/payment_intents/pi_x", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%q: status %d", auth, res.StatusCode)
		}
	}
	// Basic auth with the key as user name, as curl -u sk_test_...: sends.
	form := url.Values{"type": {"card"}, "card[token]": {"tok_visa"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/payment_methods", strings.NewReader(form.Encode()))
	req.SetBasicAuth(testKey, "")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("basic auth: status %d", res.StatusCode)
	}
}

func TestTransfers(t *testing.T) {
	sim, api := startSim(t)
	p := &stripe.TransferParams{
		Amount: stripe.Int64(1500), Currency: stripe.String("usd"), Destination: stripe.String(testAcct),
		TransferGroup: stripe.String("payout_1"),
	}
	p.AddMetadata("withdrawal_id", "w_1")
	p.SetIdempotencyKey("transfer-1")
	tr, err := api.Transfers.New(p)
	if err != nil || !strings.HasPrefix(tr.ID, "tr_") || tr.Destination.ID != testAcct || tr.Amount != 1500 ||
		tr.Metadata["withdrawal_id"] != "w_1" || tr.TransferGroup != "payout_1" {
		t.Fatalf("transfer: %v %+v", err, tr)
	}
	if again, err := api.Transfers.New(p); err != nil || again.ID != tr.ID || sim.TransferCount() != 1 {
		t.Fatalf("replayed transfer: %v %+v (count %d)", err, again, sim.TransferCount())
	}
	for dest, code := range map[string]stripe.ErrorCode{
		"acct_failNoCapability": "insufficient_capabilities_for_transfer",
		"acct_short":            stripe.ErrorCodeResourceMissing,
		"ba_123":                stripe.ErrorCodeResourceMissing,
	} {
		_, err := api.Transfers.New(&stripe.TransferParams{Amount: stripe.Int64(1500), Currency: stripe.String("usd"), Destination: stripe.String(dest)})
		if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Code != code {
			t.Fatalf("%s: %+v", dest, se)
		}
	}
	if sim.TransferCount() != 1 {
		t.Fatalf("transfers: %d", sim.TransferCount())
	}
}

func newPayout(t *testing.T, api *client.API, destination string) *stripe.Payout {
	t.Helper()
	p := &stripe.PayoutParams{Amount: stripe.Int64(1500), Currency: stripe.String("usd"), Destination: stripe.String(destination)}
	p.SetStripeAccount(testAcct)
	p.AddMetadata("withdrawal_id", "w_1")
	po, err := api.Payouts.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return po
}

func TestPayouts(t *testing.T) {
	sim, api := startSim(t)
	po := newPayout(t, api, "ba_1234567890")
	if !strings.HasPrefix(po.ID, "po_") || po.Status != stripe.PayoutStatusPending || po.Metadata["withdrawal_id"] != "w_1" {
		t.Fatalf("payout: %+v", po)
	}
	if _, err := api.Payouts.Get(po.ID, nil); stripeErr(t, err).HTTPStatusCode != 404 {
		t.Fatal("a connected account's payout is visible to the platform")
	}
	ev := settle(t, sim, po.ID)
	if ev.Type != "payout.paid" || ev.Account != testAcct || ev.Data.Object["status"] != "paid" {
		t.Fatalf("settled: %+v", ev)
	}
	get := &stripe.PayoutParams{}
	get.SetStripeAccount(testAcct)
	if got, err := api.Payouts.Get(po.ID, get); err != nil || got.Status != stripe.PayoutStatusPaid {
		t.Fatalf("get: %v %+v", err, got)
	}

	failing := newPayout(t, api, "ba_failClosedAccount")
	ev = settle(t, sim, failing.ID)
	if ev.Type != "payout.failed" || ev.Data.Object["failure_code"] != "account_closed" {
		t.Fatalf("failing payout: %+v", ev)
	}
	if _, err := sim.SettlePayout(failing.ID); err == nil {
		t.Fatal("settled twice")
	}
	_, err := api.Payouts.New(&stripe.PayoutParams{Amount: stripe.Int64(1), Currency: stripe.String("usd"), Destination: stripe.String("acct_x")})
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodeResourceMissing {
		t.Fatalf("bad destination: %+v", se)
	}
	if sim.PayoutCount() != 2 {
		t.Fatalf("payouts: %d", sim.PayoutCount())
	}
}

// settle settles a payout and decodes its (signed) event.
func settle(t *testing.T, sim *Server, payoutID string) stripe.Event {
	t.Helper()
	payload, err := sim.SettlePayout(payoutID)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := webhook.ConstructEvent(payload, SignPayload(testSecret, payload, time.Now()), testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestWebhookEventIsAcceptedByStripeGo(t *testing.T) {
	sim, api := startSim(t)
	pi, err := api.PaymentIntents.New(buyParams("pm_card_authenticationRequired", 1000))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := sim.CompleteAction(pi.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	header := SignPayload(testSecret, payload, time.Now())
	ev, err := webhook.ConstructEventWithOptions(payload, header, testSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != "payment_intent.succeeded" || ev.Data.Object["id"] != pi.ID || ev.APIVersion != stripe.APIVersion {
		t.Fatalf("event: %+v", ev)
	}
	// The strict check (matching API version, fresh timestamp) passes too.
	if _, err := webhook.ConstructEvent(payload, header, testSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := webhook.ConstructEvent(payload, header, "whsec_other"); err == nil {
		t.Fatal("accepted with the wrong secret")
	}
	stale := SignPayload(testSecret, payload, time.Now().Add(-time.Hour))
	if _, err := webhook.ConstructEvent(payload, stale, testSecret); err == nil {
		t.Fatal("accepted a stale signature")
	}

	failed, _ := api.PaymentIntents.New(buyParams("pm_card_threeDSecure2Required", 1000))
	payload, _ = sim.CompleteAction(failed.ID, false)
	ev, err = webhook.ConstructEvent(payload, SignPayload(testSecret, payload, time.Now()), testSecret)
	if err != nil || ev.Type != "payment_intent.payment_failed" || ev.Data.Object["status"] != "requires_payment_method" {
		t.Fatalf("failed event: %v %+v", err, ev)
	}
}

func TestStoreIsBounded(t *testing.T) {
	sim, api := startSim(t)
	sim.maxObjects = 10
	var full *stripe.Error
	for i := 0; i < 20 && full == nil; i++ {
		if _, err := api.PaymentIntents.New(buyParams("pm_card_visa", 1000)); err != nil {
			full = stripeErr(t, err)
		}
	}
	if full == nil || full.HTTPStatusCode != http.StatusServiceUnavailable || full.Type != stripe.ErrorTypeAPI {
		t.Fatalf("want 503 once full, got %+v", full)
	}
	if sim.storedCount() > sim.maxObjects {
		t.Fatalf("stored %d > %d", sim.storedCount(), sim.maxObjects)
	}
}

// officexCalls makes the Stripe calls OfficeX makes, in the shapes it makes
// them, and returns the first error.
func officexCalls(api *client.API) error {
	pm, err := api.PaymentMethods.New(&stripe.PaymentMethodParams{
		Type: stripe.String("card"), Card: &stripe.PaymentMethodCardParams{Token: stripe.String("tok_visa")},
	})
	if err != nil {
		return fmt.Errorf("payment method: %w", err)
	}
	buy := buyParams(pm.ID, 1000)
	buy.SetIdempotencyKey("shape-buy")
	pi, err := api.PaymentIntents.New(buy)
	if err != nil {
		return fmt.Errorf("payment intent: %w", err)
	}
	if _, err := api.PaymentIntents.Get(pi.ID, nil); err != nil {
		return fmt.Errorf("get payment intent: %w", err)
	}
	later := buyParams("pm_card_visa", 1000)
	later.Confirm = stripe.Bool(false)
	pending, err := api.PaymentIntents.New(later)
	if err != nil {
		return fmt.Errorf("unconfirmed payment intent: %w", err)
	}
	cancel := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}
	if _, err := api.PaymentIntents.Cancel(pending.ID, cancel); err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	tr := &stripe.TransferParams{Amount: stripe.Int64(700), Currency: stripe.String("usd"),
		Destination: stripe.String(testAcct), TransferGroup: stripe.String("withdrawal_1")}
	tr.AddMetadata("withdrawal_id", "w_1")
	tr.SetIdempotencyKey("shape-transfer")
	if _, err := api.Transfers.New(tr); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	search := &stripe.TransferListParams{TransferGroup: stripe.String("withdrawal_1")}
	search.Limit, search.Single = stripe.Int64(100), true
	it := api.Transfers.List(search)
	for it.Next() {
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("list transfers: %w", err)
	}
	po := &stripe.PayoutParams{Amount: stripe.Int64(700), Currency: stripe.String("usd"), Destination: stripe.String("ba_1234567890")}
	po.AddMetadata("withdrawal_id", "w_1")
	po.SetStripeAccount(testAcct)
	po.SetIdempotencyKey("shape-payout")
	if _, err := api.Payouts.New(po); err != nil {
		return fmt.Errorf("payout: %w", err)
	}
	return nil
}

func TestOfficeXCallsSucceedOnSimulator(t *testing.T) {
	_, api := startSim(t)
	if err := officexCalls(api); err != nil {
		t.Fatal(err)
	}
}

// TestOfficeXCallsAreValidStripeRequests sends the same calls to stripe-mock,
// which validates every request against Stripe's OpenAPI spec (answering 400
// on a bad shape), so the simulator cannot drift into accepting requests real
// Stripe would refuse.
func TestOfficeXCallsAreValidStripeRequests(t *testing.T) {
	base := startStripeMock(t)
	if err := officexCalls(newAPI(base)); err != nil {
		t.Fatalf("stripe-mock refused a request: %v", err)
	}
}

// stripeMockPath is where scripts/tools.sh installs the pinned stripe-mock
// (keep the version in step with STRIPE_MOCK_VERSION there).
func stripeMockPath() string {
	dir := os.Getenv("OFFICEX_TOOLS")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "officex-tools")
	}
	return filepath.Join(dir, "stripe-mock-v0.203.0", "stripe-mock")
}

// startStripeMock runs stripe-mock on free ports for the test and returns its
// HTTP base URL, or skips when it is not installed.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin := stripeMockPath()
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("stripe-mock not installed at %s (scripts/tools.sh installs it)", bin)
	}
	httpPort, httpsPort := freePort(t), freePort(t)
	cmd := exec.Command(bin, "-http-port", httpPort, "-https-port", httpsPort)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", httpPort)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatal("stripe-mock did not start listening")
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func TestListTransfersByGroup(t *testing.T) {
	sim, api := startSim(t)
	for i, group := range []string{"payout-a", "payout-b", "payout-a"} {
		p := &stripe.TransferParams{Amount: stripe.Int64(int64(100 + i)), Currency: stripe.String("usd"),
			Destination: stripe.String(testAcct), TransferGroup: stripe.String(group)}
		if _, err := api.Transfers.New(p); err != nil {
			t.Fatal(err)
		}
	}
	list := func(group string, limit int64) (amounts []int64, hasMore bool) {
		p := &stripe.TransferListParams{TransferGroup: stripe.String(group)}
		p.Limit, p.Single = stripe.Int64(limit), true
		it := api.Transfers.List(p)
		for it.Next() {
			amounts = append(amounts, it.Transfer().Amount)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return amounts, it.TransferList().HasMore
	}
	if got, more := list("payout-a", 100); fmt.Sprint(got) != "[102 100]" || more {
		t.Fatalf("payout-a: %v (has_more %v), want newest first [102 100]", got, more)
	}
	if got, more := list("payout-a", 1); fmt.Sprint(got) != "[102]" || !more {
		t.Fatalf("payout-a, limit 1: %v (has_more %v)", got, more)
	}
	if got, _ := list("payout-c", 100); len(got) != 0 {
		t.Fatalf("payout-c: %v", got)
	}
	if sim.TransferCount() != 3 {
		t.Fatal("listing created something")
	}
}

func TestFaultDropsTheAnswerAfterActing(t *testing.T) {
	sim, api := startSim(t)
	drop := sim.InjectFault(Fault{Method: http.MethodPost, Path: "/v1/transfers", DropResponse: true, Times: 1})
	p := &stripe.TransferParams{Amount: stripe.Int64(500), Currency: stripe.String("usd"), Destination: stripe.String(testAcct)}
	p.SetIdempotencyKey("k1")
	if _, err := api.Transfers.New(p); err == nil {
		t.Fatal("the dropped answer arrived")
	}
	if drop.Hits() != 1 || sim.TransferCount() != 1 {
		t.Fatalf("hits %d, transfers %d: the transfer must exist though its answer was lost", drop.Hits(), sim.TransferCount())
	}
	// Times reached: the retry with the key gets the first transfer.
	tr, err := api.Transfers.New(p)
	if err != nil || sim.TransferCount() != 1 {
		t.Fatalf("retry: %v, %d transfers", err, sim.TransferCount())
	}
	// 24 hours later Stripe has forgotten the key: the same request pays again.
	sim.Advance(24*time.Hour + time.Minute)
	again, err := api.Transfers.New(p)
	if err != nil || again.ID == tr.ID || sim.TransferCount() != 2 {
		t.Fatalf("after the key expired: %v, %d transfers", err, sim.TransferCount())
	}
}

func TestFaultAnswersAnErrorUntilRemoved(t *testing.T) {
	sim, api := startSim(t)
	po := &stripe.PayoutParams{Amount: stripe.Int64(700), Currency: stripe.String("usd"), Destination: stripe.String("ba_1234567890")}
	po.SetStripeAccount(testAcct)
	created, err := api.Payouts.New(po)
	if err != nil {
		t.Fatal(err)
	}
	read := func() error {
		p := &stripe.PayoutParams{}
		p.SetStripeAccount(testAcct)
		_, err := api.Payouts.Get(created.ID, p)
		return err
	}
	f := sim.InjectFault(Fault{Method: http.MethodGet, Path: "/v1/payouts/", Status: http.StatusNotFound})
	for i := 0; i < 3; i++ {
		if se := stripeErr(t, read()); se.HTTPStatusCode != 404 || se.Code != "resource_missing" {
			t.Fatalf("read %d: %+v", i, se)
		}
	}
	f.Remove()
	if err := read(); err != nil || f.Hits() != 3 {
		t.Fatalf("after removal: %v (hits %d)", err, f.Hits())
	}
}
