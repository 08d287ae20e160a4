package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/temporaltest"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

// purchaseRow reads what a test checks of a purchase.
func purchaseRow(t *testing.T, userID, key string) (id, status, paymentIntent string) {
	t.Helper()
	var pi *string
	if err := env.Pool.QueryRow(context.Background(),
		"SELECT id::text, status, stripe_payment_intent_id FROM credit_purchases WHERE user_id = $1 AND idempotency_key = $2",
		userID, key).Scan(&id, &status, &pi); err != nil {
		t.Fatalf("purchase %s: %v", key, err)
	}
	if pi != nil {
		paymentIntent = *pi
	}
	return id, status, paymentIntent
}

// simIntent reads a PaymentIntent from the Stripe simulator.
func simIntent(t *testing.T, id string) *stripe.PaymentIntent {
	t.Helper()
	pi, err := activities.NewStripeClient(env.Config.StripeSecretKey, env.StripeURL).PaymentIntents.Get(id, nil)
	if err != nil {
		t.Fatalf("get %s from the simulator: %v", id, err)
	}
	return pi
}

// waitPurchaseStatus polls the purchase row until it has status want.
func waitPurchaseStatus(t *testing.T, userID, key, want string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, "purchase "+key+" to be "+want, func() bool {
		_, status, _ := purchaseRow(t, userID, key)
		return status == want
	})
}

func countRows(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPurchase_DeclineCancelsThePaymentIntent(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	c.Post("/purchase-credits", purchase(50, "tok_chargeDeclined", "decline-cancel"), u.Headers()).Expect(t, 402, "PAYMENT_FAILED")
	_, status, pi := purchaseRow(t, u.ID, "decline-cancel")
	if status != "failed" || pi == "" {
		t.Fatalf("purchase %s with PaymentIntent %q: the failure must keep the PaymentIntent id", status, pi)
	}
	if got := simIntent(t, pi).Status; got != stripe.PaymentIntentStatusCanceled {
		t.Fatalf("PaymentIntent %s is %s after the decline: it can still be confirmed", pi, got)
	}
}

func TestPurchase_FailedWebhookCancelsThePaymentIntent(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	r := c.Post("/purchase-credits", purchase(40, "tok_threeDSecure2Required", "3ds-cancel"), u.Headers()).Expect(t, 202, "")
	pi := r.String("payment_intent_id")
	event, err := env.Stripe.CompleteAction(pi, false)
	if err != nil {
		t.Fatal(err)
	}
	sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, "")
	waitPurchaseStatus(t, u.ID, "3ds-cancel", "failed")
	if got := simIntent(t, pi).Status; got != stripe.PaymentIntentStatusCanceled {
		t.Fatalf("PaymentIntent %s is %s after payment_failed: it can still be confirmed", pi, got)
	}
	if a, _ := c.Balance(u); a != 0 {
		t.Fatalf("balance %v after a failed payment", a)
	}
}

// When the customer completed the payment before our cancel reached Stripe,
// the cancel finds the PaymentIntent succeeded: the purchase is credited.
func TestPurchase_FailedWebhookForAnIntentPaidMeanwhileCreditsIt(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	r := c.Post("/purchase-credits", purchase(40, "tok_threeDSecure2Required", "3ds-paid-meanwhile"), u.Headers()).Expect(t, 202, "")
	pi := r.String("payment_intent_id")
	failed, err := env.Stripe.CompleteAction(pi, false)
	if err != nil {
		t.Fatal(err)
	}
	// The customer retries with another card before the failure is delivered.
	params := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")}
	if _, err := activities.NewStripeClient(env.Config.StripeSecretKey, env.StripeURL).PaymentIntents.Confirm(pi, params); err != nil {
		t.Fatal(err)
	}
	sendStripeEvent(t, c, failed, env.StripeWebhookSecret).Expect(t, 200, "")
	waitBalance(t, c, u, 40)
	waitPurchaseStatus(t, u.ID, "3ds-paid-meanwhile", "succeeded")
}

// succeededEvent is the payment_intent.succeeded event Stripe would send for
// pi had it been paid: the simulator cannot pay a cancelled PaymentIntent,
// which is the point of cancelling, so the test writes the event Stripe
// would send in the case this guards against (a payment Stripe took anyway).
func succeededEvent(t *testing.T, pi *stripe.PaymentIntent) []byte {
	t.Helper()
	obj, err := json.Marshal(pi)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(obj, &fields); err != nil {
		t.Fatal(err)
	}
	fields["status"], fields["amount_received"], fields["canceled_at"], fields["cancellation_reason"] = "succeeded", pi.Amount, nil, nil
	event, err := json.Marshal(map[string]any{"id": "evt_" + strings.ReplaceAll(uuid.NewString(), "-", ""), "object": "event",
		"api_version": stripe.APIVersion, "created": time.Now().Unix(), "type": "payment_intent.succeeded",
		"data": map[string]any{"object": fields}})
	if err != nil {
		t.Fatal(err)
	}
	return event
}

func TestPurchase_SuccessReportedAfterFailureCreditsOnceWithAuditEntry(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	c.Post("/purchase-credits", purchase(50, "tok_chargeDeclined", "late-success"), u.Headers()).Expect(t, 402, "PAYMENT_FAILED")
	id, _, pi := purchaseRow(t, u.ID, "late-success")
	if pi == "" {
		t.Fatal("the failed purchase did not keep its PaymentIntent id")
	}
	event := succeededEvent(t, simIntent(t, pi))
	// Stripe delivers at least once: the second delivery changes nothing.
	for i := 0; i < 2; i++ {
		if h := sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, ""); h.Body["handled"] != true {
			t.Fatalf("delivery %d not handled: %s", i+1, h.Raw)
		}
	}
	if a, _ := c.Balance(u); a != 50 {
		t.Fatalf("balance %v, want the 50 credits Stripe was paid for", a)
	}
	if n := countRows(t, "SELECT count(*) FROM journal_transactions WHERE kind = 'purchase' AND reference = $1", id); n != 1 {
		t.Fatalf("%d purchase transactions, want 1", n)
	}
	if n := countRows(t, "SELECT count(*) FROM audit_log WHERE action = $1 AND target_id = $2 AND details->>'payment_intent_id' = $3",
		purchases.AuditCreditedAfterFailure, id, pi); n != 1 {
		t.Fatalf("%d audit entries, want 1", n)
	}
	// The purchase now answers as succeeded to a replay of its key.
	done := c.Post("/purchase-credits", purchase(50, "tok_chargeDeclined", "late-success"), u.Headers()).Expect(t, 200, "")
	if done.Body["credits_added"] != 50.0 {
		t.Fatalf("replay: %s", done.Raw)
	}
}

// alertLog records the error-level lines of the test suite's logger.
type alertLog struct {
	mu     sync.Mutex
	errors []string
}

func (l *alertLog) Debug(string, ...any) {}
func (l *alertLog) Info(string, ...any)  {}
func (l *alertLog) Warn(string, ...any)  {}
func (l *alertLog) Error(msg string, keyvals ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errors = append(l.errors, fmt.Sprint(append([]any{msg}, keyvals...)...))
}

func (l *alertLog) count(substrings ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.errors {
		all := true
		for _, s := range substrings {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

// injectCreditFaults makes marking purchase id succeeded fail n times, as if
// the database were briefly unavailable (a sequence counts across the
// rolled-back transactions).
func injectCreditFaults(t *testing.T, id uuid.UUID, n int) {
	t.Helper()
	name := "fault_" + strings.ReplaceAll(id.String(), "-", "")
	ctx := context.Background()
	for _, sql := range []string{
		fmt.Sprintf(`CREATE SEQUENCE %s`, name),
		fmt.Sprintf(`CREATE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF nextval('%[1]s') <= %[2]d THEN RAISE EXCEPTION 'injected fault: database unavailable'; END IF; RETURN NEW; END $$`, name, n),
		fmt.Sprintf(`CREATE TRIGGER %[1]s BEFORE UPDATE ON credit_purchases FOR EACH ROW
			WHEN (OLD.id = '%[2]s' AND NEW.status = 'succeeded') EXECUTE FUNCTION %[1]s()`, name, id),
	} {
		if _, err := env.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, sql := range []string{"DROP TRIGGER %[1]s ON credit_purchases", "DROP FUNCTION %[1]s", "DROP SEQUENCE %[1]s"} {
			if _, err := env.Pool.Exec(ctx, fmt.Sprintf(sql, name)); err != nil {
				t.Error(err)
			}
		}
	})
}

// insertPurchase records a purchase of credits as the API does, open.
func insertPurchase(t *testing.T, u testenv.User, credits int64, age time.Duration) uuid.UUID {
	t.Helper()
	id := uuid.New()
	if _, err := env.Pool.Exec(context.Background(), `INSERT INTO credit_purchases
		(id, user_id, wallet_id, amount, amount_cents, idempotency_key, request_hash, payment_method_type, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, '\x00', 'stripe', now() - $7::interval, now() - $7::interval)`,
		id, u.ID, u.WalletID, credits*1_000_000, credits*purchases.CentsPerCredit, "test-"+id.String(), age.String()); err != nil {
		t.Fatal(err)
	}
	return id
}

// The crediting step of a paid purchase used to give up after 20 attempts
// (about 15 minutes) and leave the purchase processing. Run with the real
// activities against PostgreSQL and the Stripe simulator, in the SDK's test
// suite so the backoff takes no wall time, it now outlasts 25 failures,
// credits once and alerts with the purchase id.
func TestPurchase_CreditingOutlastsADatabaseFaultAndAlerts(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	id := insertPurchase(t, u, 100, 0)
	const faults = 25
	injectCreditFaults(t, id, faults)

	var s testsuite.WorkflowTestSuite
	log := &alertLog{}
	s.SetLogger(log)
	wenv := s.NewTestWorkflowEnvironment()
	wenv.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&temporaltest.UnlimitedRetries{}}})
	acts := &activities.Purchases{Pool: env.Pool, Box: env.Box,
		Stripe: activities.NewStripeClient(env.Config.StripeSecretKey, env.StripeURL)}
	wenv.RegisterWorkflowWithOptions(workflows.CreditPurchase{Acts: acts}.CreditPurchaseWorkflow,
		workflow.RegisterOptions{Name: workflows.CreditPurchaseWorkflowName})
	wenv.RegisterActivity(acts)
	wenv.ExecuteWorkflow(workflows.CreditPurchaseWorkflowName, workflows.CreditPurchaseInput{PurchaseID: id.String(),
		AmountCents: 100 * purchases.CentsPerCredit, Token: "tok_visa"})
	if err := wenv.GetWorkflowError(); err != nil {
		t.Fatalf("the purchase workflow gave up: %v", err)
	}
	var res workflows.CreditPurchaseResult
	if err := wenv.GetWorkflowResult(&res); err != nil || res.Status != "succeeded" {
		t.Fatalf("result %+v %v", res, err)
	}
	if a, _ := c.Balance(u); a != 100 {
		t.Fatalf("balance %v, want 100", a)
	}
	if n := countRows(t, "SELECT count(*) FROM journal_transactions WHERE kind = 'purchase' AND reference = $1", id.String()); n != 1 {
		t.Fatalf("%d purchase transactions, want 1", n)
	}
	alerts := log.count("purchase step still failing", id.String())
	if want := faults - activities.DatabaseRetryAlertAttempts; alerts != want {
		t.Fatalf("%d alerts naming the purchase, want %d (one per failed attempt past %d)", alerts, want, activities.DatabaseRetryAlertAttempts)
	}
}

func TestReconcile_ReportsPurchasesLeftProcessing(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	stuck := insertPurchase(t, u, 20, 2*time.Hour)
	fresh := insertPurchase(t, u, 20, time.Minute)
	t.Cleanup(func() { // closed, so later reports of this package stay quiet
		if _, err := env.Pool.Exec(context.Background(), "UPDATE credit_purchases SET status = 'failed' WHERE id = ANY($1)",
			[]uuid.UUID{stuck, fresh}); err != nil {
			t.Error(err)
		}
	})
	rep := c.Post("/admin/reconcile", nil, testenv.AdminHeaders()).Expect(t, 200, "").Object("report")
	if rep["ok"] != true {
		t.Fatalf("an open purchase is a warning, not a violation: %v", rep)
	}
	found := map[string]string{}
	for _, w := range rep["warnings"].([]any) {
		w := w.(map[string]any)
		found[w["subject"].(string)] = w["check"].(string) + ": " + w["detail"].(string)
	}
	if got := found["purchase "+stuck.String()]; !strings.HasPrefix(got, "purchase_stuck: processing since") || !strings.Contains(got, "20 credits") {
		t.Fatalf("the purchase processing for 2 hours is not reported: %v", rep["warnings"])
	}
	if _, ok := found["purchase "+fresh.String()]; ok {
		t.Fatal("a purchase processing for a minute is reported")
	}
}
