package workflows

import (
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

// Activity names of the purchase (methods of activities.Purchases).
const (
	LoadPurchaseActivity       = "LoadPurchase"
	ChargeCardActivity         = "ChargeCard"
	MarkRequiresActionActivity = "MarkRequiresAction"
	CreditPurchaseActivity     = "CreditPurchase"
	FailPurchaseActivity       = "FailPurchase"
	CancelPaymentActivity      = "CancelPayment"
)

// PaymentRejectedError is the non-retryable error type of a charge Stripe
// refused as invalid (no money moved).
const PaymentRejectedError = "PaymentRejected"

// PurchaseState is the purchase row as the workflow needs it.
type PurchaseState struct {
	Exists bool
	Status string
}

// CreditPurchaseWorkflow charges the card through Stripe, then posts the
// ledger purchase. Every activity is keyed by the purchase id, so a retry
// never charges or credits twice.
func CreditPurchaseWorkflow(ctx workflow.Context, in CreditPurchaseInput) (CreditPurchaseResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 20},
	})
	var state PurchaseState
	if err := workflow.ExecuteActivity(ctx, LoadPurchaseActivity, in).Get(ctx, &state); err != nil {
		return CreditPurchaseResult{}, err
	}
	if !state.Exists { // the API's transaction never committed: nothing to charge
		return CreditPurchaseResult{Status: "abandoned"}, nil
	}
	if state.Status == "succeeded" || state.Status == "failed" {
		return CreditPurchaseResult{Status: state.Status}, nil
	}
	var charge ChargeResult
	if err := workflow.ExecuteActivity(ctx, ChargeCardActivity, in).Get(ctx, &charge); err != nil {
		// Stripe refused the request itself: nothing was charged. Any other
		// error leaves the purchase open for an operator to retry, since a
		// charge may have gone through.
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == PaymentRejectedError {
			return fail(ctx, in, "payment_rejected", appErr.Message())
		}
		return CreditPurchaseResult{}, err
	}
	switch charge.Status {
	case "succeeded":
		return credit(ctx, in, charge.PaymentIntentID)
	case "requires_action", "processing": // Stripe tells the outcome by webhook
		return awaitAction(ctx, in, charge)
	default:
		code := charge.DeclineCode
		if code == "" {
			code = charge.Status
		}
		return fail(ctx, in, code, charge.Message)
	}
}

// awaitAction waits for the webhook's outcome; past PaymentActionTimeout it
// cancels the PaymentIntent, unless it turns out to have succeeded.
func awaitAction(ctx workflow.Context, in CreditPurchaseInput, charge ChargeResult) (CreditPurchaseResult, error) {
	if err := workflow.ExecuteActivity(ctx, MarkRequiresActionActivity, in.PurchaseID, charge).Get(ctx, nil); err != nil {
		return CreditPurchaseResult{}, err
	}
	var outcome PaymentOutcome
	got, _ := workflow.GetSignalChannel(ctx, PaymentOutcomeSignal).ReceiveWithTimeout(ctx, PaymentActionTimeout, &outcome)
	if !got {
		var status string
		if err := workflow.ExecuteActivity(ctx, CancelPaymentActivity, charge.PaymentIntentID).Get(ctx, &status); err != nil {
			return CreditPurchaseResult{}, err
		}
		if status == "succeeded" {
			return credit(ctx, in, charge.PaymentIntentID)
		}
		return fail(ctx, in, "action_timeout", "the payment was not completed in time")
	}
	if outcome.Succeeded {
		return credit(ctx, in, charge.PaymentIntentID)
	}
	return fail(ctx, in, outcome.Code, outcome.Message)
}

func credit(ctx workflow.Context, in CreditPurchaseInput, paymentIntentID string) (CreditPurchaseResult, error) {
	var txID string
	if err := workflow.ExecuteActivity(ctx, CreditPurchaseActivity, in.PurchaseID, paymentIntentID).Get(ctx, &txID); err != nil {
		return CreditPurchaseResult{}, err
	}
	return CreditPurchaseResult{Status: "succeeded", TransactionID: txID}, nil
}

func fail(ctx workflow.Context, in CreditPurchaseInput, code, message string) (CreditPurchaseResult, error) {
	if code == "" {
		code = "payment_failed"
	}
	if message == "" {
		message = "the payment was declined"
	}
	if err := workflow.ExecuteActivity(ctx, FailPurchaseActivity, in.PurchaseID, code, message).Get(ctx, nil); err != nil {
		return CreditPurchaseResult{}, err
	}
	return CreditPurchaseResult{Status: "failed", FailureCode: code}, nil
}
