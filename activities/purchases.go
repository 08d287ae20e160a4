package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/workflows"
)

// Purchases are the activities of CreditPurchaseWorkflow
// (workflows.PurchaseActivities).
type Purchases struct {
	Pool   *pgxpool.Pool
	Stripe *client.API
	Box    *secretbox.Box
}

var _ workflows.PurchaseActivities = (*Purchases)(nil)

// StripeIdempotencyKey is the key of a purchase's PaymentIntent: a retried
// activity gets Stripe's first answer back instead of a second charge.
func StripeIdempotencyKey(purchaseID string) string { return "officex-purchase-" + purchaseID }

// LoadPurchase reads the purchase row. It only reads, so it is idempotent.
func (p *Purchases) LoadPurchase(ctx context.Context, in workflows.CreditPurchaseInput) (workflows.PurchaseState, error) {
	id, err := uuid.Parse(in.PurchaseID)
	if err != nil {
		return workflows.PurchaseState{}, err
	}
	row, err := dbgen.New(p.Pool).GetCreditPurchase(ctx, id)
	if db.IsNotFound(err) {
		// The outbox starts the workflow only after the purchase committed,
		// so a missing row never appears later.
		return workflows.PurchaseState{Exists: false}, nil
	}
	if err != nil {
		return workflows.PurchaseState{}, fmt.Errorf("load purchase %s: %w", id, err)
	}
	return workflows.PurchaseState{Exists: true, Status: row.Status}, nil
}

// ChargeCard creates and confirms the PaymentIntent. Idempotent through
// Stripe idempotency keys derived from the purchase id. A card decline is an
// answer (Status "declined"), not an error.
func (p *Purchases) ChargeCard(ctx context.Context, in workflows.CreditPurchaseInput) (workflows.ChargeResult, error) {
	in, err := p.chargeInput(ctx, in)
	if err != nil {
		return workflows.ChargeResult{}, err
	}
	paymentMethod := in.Token
	if strings.HasPrefix(in.Token, "tok_") { // a card token becomes a PaymentMethod first
		params := &stripe.PaymentMethodParams{Type: stripe.String("card"),
			Card: &stripe.PaymentMethodCardParams{Token: stripe.String(in.Token)}}
		params.Context = ctx
		params.SetIdempotencyKey(StripeIdempotencyKey(in.PurchaseID) + "-pm")
		pm, err := p.Stripe.PaymentMethods.New(params)
		if err != nil {
			return workflows.ChargeResult{}, stripeError(err, workflows.PaymentRejectedError)
		}
		paymentMethod = pm.ID
	}
	params := &stripe.PaymentIntentParams{
		Amount: stripe.Int64(in.AmountCents), Currency: stripe.String(string(stripe.CurrencyUSD)),
		Confirm: stripe.Bool(true), PaymentMethod: stripe.String(paymentMethod),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Description:        stripe.String("OfficeX credits"),
	}
	params.Context = ctx
	params.AddMetadata("purchase_id", in.PurchaseID)
	params.SetIdempotencyKey(StripeIdempotencyKey(in.PurchaseID))
	pi, err := p.Stripe.PaymentIntents.New(params)
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
		res := workflows.ChargeResult{Status: "declined", DeclineCode: string(se.DeclineCode), Message: se.Msg}
		if res.DeclineCode == "" {
			res.DeclineCode = string(se.Code)
		}
		if se.PaymentIntent != nil {
			res.PaymentIntentID = se.PaymentIntent.ID
		}
		return res, nil
	}
	if err != nil {
		return workflows.ChargeResult{}, stripeError(err, workflows.PaymentRejectedError)
	}
	res := workflows.ChargeResult{PaymentIntentID: pi.ID, Status: string(pi.Status)}
	if pi.ClientSecret != "" {
		id, err := parsePurchaseID(in.PurchaseID) // LoadPurchase parsed it already
		if err != nil {
			return workflows.ChargeResult{}, err
		}
		res.ClientSecretSealed = p.Box.Seal([]byte(pi.ClientSecret), purchases.ClientSecretContext(id))
	}
	if pi.Status == stripe.PaymentIntentStatusRequiresPaymentMethod {
		res.Message = "the payment method was not accepted"
		if pi.LastPaymentError != nil && pi.LastPaymentError.Msg != "" {
			res.Message = pi.LastPaymentError.Msg
		}
	}
	return res, nil
}

// chargeInput completes the input of a start made through the outbox (the
// purchase id only) with the amount and the sealed token of the purchase row.
func (p *Purchases) chargeInput(ctx context.Context, in workflows.CreditPurchaseInput) (workflows.CreditPurchaseInput, error) {
	if in.Token != "" {
		return in, nil
	}
	id, err := parsePurchaseID(in.PurchaseID)
	if err != nil {
		return in, err
	}
	q := dbgen.New(p.Pool)
	row, err := q.GetCreditPurchase(ctx, id)
	if err != nil {
		return in, fmt.Errorf("load purchase %s: %w", id, err)
	}
	sealed, err := q.GetCreditPurchaseToken(ctx, id)
	if db.IsNotFound(err) {
		return in, temporal.NewNonRetryableApplicationError("purchase "+in.PurchaseID+" has no payment token", workflows.PaymentRejectedError, nil)
	}
	if err != nil {
		return in, fmt.Errorf("load the payment token of %s: %w", id, err)
	}
	token, err := p.Box.Open(sealed, purchases.TokenContext(id))
	if err != nil {
		return in, fmt.Errorf("open the payment token of %s: %w", id, err)
	}
	in.AmountCents, in.Token = row.AmountCents, string(token)
	return in, nil
}

// MarkRequiresAction records that the customer must act; the client secret
// (sealed by ChargeCard) is stored as it came, so replays can show it again. Idempotent: it only moves
// an open purchase to requires_action.
func (p *Purchases) MarkRequiresAction(ctx context.Context, purchaseID string, charge workflows.ChargeResult) error {
	id, err := parsePurchaseID(purchaseID)
	if err != nil {
		return err
	}
	sealed := charge.ClientSecretSealed
	if sealed == nil && charge.ClientSecret != "" { // charged before the secret was sealed in ChargeCard
		sealed = p.Box.Seal([]byte(charge.ClientSecret), purchases.ClientSecretContext(id))
	}
	err = dbgen.New(p.Pool).SetCreditPurchaseRequiresAction(ctx, dbgen.SetCreditPurchaseRequiresActionParams{
		ID: id, StripePaymentIntentID: &charge.PaymentIntentID, ClientSecretEnc: sealed})
	return alertIfStuck(ctx, purchaseID, "mark_requires_action", err)
}

// DatabaseRetryAlertAttempts is the attempt past which a purchase step that
// only touches our database after a PaymentIntent exists alerts: each failed
// attempt then logs at error level with the purchase id. The step keeps
// retrying (workflows.DatabaseRetryMaxInterval apart) until the database
// answers; about 5 minutes of failures with the workflow's backoff.
const DatabaseRetryAlertAttempts = 10

// parsePurchaseID parses a purchase id; a malformed one is a bug no retry
// fixes, so the error is non-retryable (these steps retry without limit).
func parsePurchaseID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, temporal.NewNonRetryableApplicationError("malformed purchase id "+s, "MalformedPurchaseID", err)
	}
	return id, nil
}

// alertIfStuck logs err at error level once the attempt passes
// DatabaseRetryAlertAttempts, and returns it for Temporal to retry.
func alertIfStuck(ctx context.Context, purchaseID, step string, err error) error {
	if err == nil {
		return nil
	}
	if n := activity.GetInfo(ctx).Attempt; n > DatabaseRetryAlertAttempts {
		activity.GetLogger(ctx).Error("purchase step still failing after its payment started; retrying without limit",
			"purchase_id", purchaseID, "step", step, "attempt", n, "error", err)
	}
	return err
}

// CreditPurchase posts the ledger purchase and marks the purchase succeeded,
// in one transaction (purchases.CreditPaid); a purchase we had failed is
// credited too, with an audit entry, since Stripe says the money was taken.
// Idempotent: the row lock and the journal's unique (kind, reference) make a
// retry return the first transaction.
func (p *Purchases) CreditPurchase(ctx context.Context, purchaseID, paymentIntentID string) (string, error) {
	id, err := parsePurchaseID(purchaseID)
	if err != nil {
		return "", err
	}
	txID, err := purchases.CreditPaid(ctx, p.Pool, id, paymentIntentID, "credit_purchase_workflow")
	if err != nil {
		return "", alertIfStuck(ctx, purchaseID, "credit", err)
	}
	return txID.String(), nil
}

// FailPurchase marks an open purchase failed; nothing was credited.
// Idempotent: a closed purchase is left as it is.
func (p *Purchases) FailPurchase(ctx context.Context, purchaseID, code, message string) error {
	id, err := parsePurchaseID(purchaseID)
	if err != nil {
		return err
	}
	err = dbgen.New(p.Pool).SetCreditPurchaseFailed(ctx, dbgen.SetCreditPurchaseFailedParams{ID: id, FailureCode: &code, FailureMessage: &message})
	return alertIfStuck(ctx, purchaseID, "fail", err)
}

// FailCanceledPurchase marks an open purchase failed once its PaymentIntent
// is cancelled, storing the PaymentIntent id so a success Stripe reports
// later still finds (and credits) the purchase. Idempotent: a closed purchase
// is left as it is.
func (p *Purchases) FailCanceledPurchase(ctx context.Context, in workflows.PurchaseFailure) error {
	id, err := parsePurchaseID(in.PurchaseID)
	if err != nil {
		return err
	}
	err = dbgen.New(p.Pool).SetCreditPurchaseFailedCanceled(ctx, dbgen.SetCreditPurchaseFailedCanceledParams{
		ID: id, PaymentIntentID: in.PaymentIntentID, FailureCode: &in.Code, FailureMessage: &in.Message})
	return alertIfStuck(ctx, in.PurchaseID, "fail", err)
}

// CancelPayment cancels a PaymentIntent nobody completed and returns its final
// status; one that succeeded meanwhile stays succeeded and is credited.
// Idempotent: cancelling twice, or reading a settled intent, changes nothing.
func (p *Purchases) CancelPayment(ctx context.Context, paymentIntentID string) (string, error) {
	params := &stripe.PaymentIntentCancelParams{}
	params.Context = ctx
	pi, err := p.Stripe.PaymentIntents.Cancel(paymentIntentID, params)
	if err == nil {
		return string(pi.Status), nil
	}
	get := &stripe.PaymentIntentParams{}
	get.Context = ctx
	pi, getErr := p.Stripe.PaymentIntents.Get(paymentIntentID, get)
	if getErr != nil {
		return "", fmt.Errorf("cancel %s: %w (then get: %v)", paymentIntentID, err, getErr)
	}
	return string(pi.Status), nil
}
