package workflows

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// CreditPurchaseWorkflowID is the workflow id of a purchase: one per purchase,
// so a duplicate start can only attach to the running one.
func CreditPurchaseWorkflowID(purchaseID string) string { return "credit-purchase-" + purchaseID }

// PaymentOutcomeSignal carries Stripe's verdict on a payment that needed the
// customer's action (3-D Secure), sent by POST /webhooks/stripe.
const PaymentOutcomeSignal = "payment_outcome"

// PaymentActionTimeout is how long a purchase waits for the customer to
// complete a required action before the PaymentIntent is cancelled.
const PaymentActionTimeout = 24 * time.Hour

// CreditPurchaseWorkflowName is the name CreditPurchaseWorkflow is registered
// and started under; recorded histories carry it, so it never changes.
const CreditPurchaseWorkflowName = "CreditPurchaseWorkflow"

// DatabaseRetryMaxInterval caps the backoff of the purchase steps that only
// touch our database once a PaymentIntent exists: they retry without a limit
// (the money may have moved), at least once a minute, and
// activities.DatabaseRetryAlertAttempts makes a long run of failures alert.
const DatabaseRetryMaxInterval = time.Minute

// Versioning: a change to CreditPurchaseWorkflow's commands goes behind
// workflow.GetVersion with a change id named after the issue point it fixes,
// so histories recorded before the change replay on the old branch.
const (
	// ChangeCancelBeforeFail (issue 12 point 4): a purchase with a
	// PaymentIntent cancels it before failing, and is credited instead when
	// the cancel finds it succeeded; the failure stores the PaymentIntent id
	// so a later success reported by Stripe finds the purchase.
	ChangeCancelBeforeFail = "issue12-4-cancel-payment-before-fail"
	// ChangeUnboundedDatabaseRetry (issue 12 point 5): the database steps
	// after a PaymentIntent exists retry without a limit.
	ChangeUnboundedDatabaseRetry = "issue12-5-unbounded-database-retry"
	// ChangePurchaseStatusAttribute (issue 15): OfficexStatus follows the
	// purchase (requires_action, then succeeded or failed).
	ChangePurchaseStatusAttribute = "issue15-purchase-status-attribute"
)

// CreditPurchaseInput starts a purchase. Token is Stripe's single-use card
// token or test payment method (never card data).
type CreditPurchaseInput struct {
	PurchaseID  string
	AmountCents int64
	Token       string
	RequestedAt time.Time
}

// CreditPurchaseResult is how the purchase ended.
type CreditPurchaseResult struct {
	Status        string // succeeded, failed, abandoned
	TransactionID string
	FailureCode   string
}

// PaymentOutcome is the signal's payload.
type PaymentOutcome struct {
	Succeeded bool
	Code      string
	Message   string
}

// ChargeResult is what the charge activity learnt from Stripe.
type ChargeResult struct {
	PaymentIntentID string
	Status          string // Stripe's PaymentIntent status, or "declined"
	ClientSecret    string
	DeclineCode     string
	Message         string
}

// PaymentRejectedError is the non-retryable error type of a charge Stripe
// refused as invalid (no money moved).
const PaymentRejectedError = "PaymentRejected"

// PurchaseState is the purchase row as the workflow needs it.
type PurchaseState struct {
	Exists bool
	Status string
}

// PurchaseFailure closes a purchase whose PaymentIntent was cancelled.
type PurchaseFailure struct {
	PurchaseID      string
	PaymentIntentID string
	Code            string
	Message         string
}

// PurchaseActivities are the activities of CreditPurchaseWorkflow; the worker
// binds activities.Purchases, tests a fake. Each is idempotent by the
// purchase id or the PaymentIntent id (see there).
type PurchaseActivities interface {
	LoadPurchase(ctx context.Context, in CreditPurchaseInput) (PurchaseState, error)
	ChargeCard(ctx context.Context, in CreditPurchaseInput) (ChargeResult, error)
	MarkRequiresAction(ctx context.Context, purchaseID string, charge ChargeResult) error
	CreditPurchase(ctx context.Context, purchaseID, paymentIntentID string) (string, error)
	FailPurchase(ctx context.Context, purchaseID, code, message string) error
	CancelPayment(ctx context.Context, paymentIntentID string) (string, error)
	FailCanceledPurchase(ctx context.Context, in PurchaseFailure) error
}

// CreditPurchase is CreditPurchaseWorkflow bound to its activities, which it
// calls by method reference (an interface, since activities/ imports this
// package). Register it under CreditPurchaseWorkflowName.
type CreditPurchase struct {
	Acts PurchaseActivities
}

// CreditPurchaseWorkflow charges the card through Stripe, then posts the
// ledger purchase. Every activity is keyed by the purchase id, so a retry
// never charges or credits twice. A purchase that fails once its
// PaymentIntent exists cancels the PaymentIntent first, so Stripe can't take
// money for a purchase we failed.
func (w CreditPurchase) CreditPurchaseWorkflow(ctx workflow.Context, in CreditPurchaseInput) (CreditPurchaseResult, error) {
	res, err := w.purchase(ctx, in)
	if err == nil && res.Status != "" {
		UpsertBusiness(ctx, ChangePurchaseStatusAttribute, Business{Status: res.Status})
	}
	return res, err
}

func (w CreditPurchase) purchase(ctx workflow.Context, in CreditPurchaseInput) (CreditPurchaseResult, error) {
	r := purchaseRun{acts: w.Acts, in: in}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 20},
	})
	var state PurchaseState
	if err := workflow.ExecuteActivity(ctx, r.acts.LoadPurchase, in).Get(ctx, &state); err != nil {
		return CreditPurchaseResult{}, err
	}
	if !state.Exists { // the API's transaction never committed: nothing to charge
		return CreditPurchaseResult{Status: "abandoned"}, nil
	}
	if state.Status == "succeeded" || state.Status == "failed" {
		return CreditPurchaseResult{Status: state.Status}, nil
	}
	var charge ChargeResult
	if err := workflow.ExecuteActivity(ctx, r.acts.ChargeCard, in).Get(ctx, &charge); err != nil {
		// Stripe refused the request itself: nothing was charged and no
		// PaymentIntent exists. Any other error leaves the purchase open
		// (the reconcile report lists it), since a charge may have gone
		// through.
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == PaymentRejectedError {
			return r.fail(ctx, "", false, "payment_rejected", appErr.Message())
		}
		return CreditPurchaseResult{}, err
	}
	switch charge.Status {
	case "succeeded":
		return r.credit(ctx, charge.PaymentIntentID)
	case "requires_action", "processing": // Stripe tells the outcome by webhook
		return r.awaitAction(ctx, charge)
	default:
		code := charge.DeclineCode
		if code == "" {
			code = charge.Status
		}
		return r.fail(ctx, charge.PaymentIntentID, false, code, charge.Message)
	}
}

// purchaseRun is one execution's input and activities.
type purchaseRun struct {
	acts PurchaseActivities
	in   CreditPurchaseInput
}

// databaseStep gives ctx the retry policy of a step that only touches our
// database after a PaymentIntent exists: no attempt limit, capped backoff.
// Histories from before ChangeUnboundedDatabaseRetry keep the 20 attempts.
func databaseStep(ctx workflow.Context) workflow.Context {
	if workflow.GetVersion(ctx, ChangeUnboundedDatabaseRetry, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return ctx
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: DatabaseRetryMaxInterval, MaximumAttempts: 0},
	})
}

// awaitAction waits for the webhook's outcome; past PaymentActionTimeout it
// cancels the PaymentIntent, unless it turns out to have succeeded.
func (r purchaseRun) awaitAction(ctx workflow.Context, charge ChargeResult) (CreditPurchaseResult, error) {
	if err := workflow.ExecuteActivity(databaseStep(ctx), r.acts.MarkRequiresAction, r.in.PurchaseID, charge).Get(ctx, nil); err != nil {
		return CreditPurchaseResult{}, err
	}
	UpsertBusiness(ctx, ChangePurchaseStatusAttribute, Business{Status: "requires_action"})
	var outcome PaymentOutcome
	got, _ := workflow.GetSignalChannel(ctx, PaymentOutcomeSignal).ReceiveWithTimeout(ctx, PaymentActionTimeout, &outcome)
	if !got {
		var status string
		if err := workflow.ExecuteActivity(ctx, r.acts.CancelPayment, charge.PaymentIntentID).Get(ctx, &status); err != nil {
			return CreditPurchaseResult{}, err
		}
		if status == "succeeded" {
			return r.credit(ctx, charge.PaymentIntentID)
		}
		return r.fail(ctx, charge.PaymentIntentID, true, "action_timeout", "the payment was not completed in time")
	}
	if outcome.Succeeded {
		return r.credit(ctx, charge.PaymentIntentID)
	}
	// A failed attempt leaves the PaymentIntent confirmable: fail cancels it.
	return r.fail(ctx, charge.PaymentIntentID, false, outcome.Code, outcome.Message)
}

func (r purchaseRun) credit(ctx workflow.Context, paymentIntentID string) (CreditPurchaseResult, error) {
	var txID string
	if err := workflow.ExecuteActivity(databaseStep(ctx), r.acts.CreditPurchase, r.in.PurchaseID, paymentIntentID).Get(ctx, &txID); err != nil {
		return CreditPurchaseResult{}, err
	}
	return CreditPurchaseResult{Status: "succeeded", TransactionID: txID}, nil
}

// fail closes a purchase whose payment did not succeed. With a PaymentIntent
// (paymentIntentID set) it first cancels it, unless canceled says that was
// done, and credits the purchase instead if the cancel finds it succeeded.
func (r purchaseRun) fail(ctx workflow.Context, paymentIntentID string, canceled bool, code, message string) (CreditPurchaseResult, error) {
	if code == "" {
		code = "payment_failed"
	}
	if message == "" {
		message = "the payment was declined"
	}
	v := workflow.GetVersion(ctx, ChangeCancelBeforeFail, workflow.DefaultVersion, 1)
	if v == workflow.DefaultVersion || paymentIntentID == "" {
		if err := workflow.ExecuteActivity(databaseStep(ctx), r.acts.FailPurchase, r.in.PurchaseID, code, message).Get(ctx, nil); err != nil {
			return CreditPurchaseResult{}, err
		}
		return CreditPurchaseResult{Status: "failed", FailureCode: code}, nil
	}
	if !canceled {
		var status string
		if err := workflow.ExecuteActivity(ctx, r.acts.CancelPayment, paymentIntentID).Get(ctx, &status); err != nil {
			return CreditPurchaseResult{}, err
		}
		if status == "succeeded" { // the customer paid after all: the money was taken
			return r.credit(ctx, paymentIntentID)
		}
	}
	failure := PurchaseFailure{PurchaseID: r.in.PurchaseID, PaymentIntentID: paymentIntentID, Code: code, Message: message}
	if err := workflow.ExecuteActivity(databaseStep(ctx), r.acts.FailCanceledPurchase, failure).Get(ctx, nil); err != nil {
		return CreditPurchaseResult{}, err
	}
	return CreditPurchaseResult{Status: "failed", FailureCode: code}, nil
}
