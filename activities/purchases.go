package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/workflows"
)

// Purchases are the activities of CreditPurchaseWorkflow.
type Purchases struct {
	Pool   *pgxpool.Pool
	Stripe *client.API
	Box    *secretbox.Box
}

// commitGrace is how long LoadPurchase waits for the API's transaction, which
// commits just after it starts the workflow.
const commitGrace = 2 * time.Minute

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
		if time.Since(in.RequestedAt) < commitGrace {
			return workflows.PurchaseState{}, errors.New("purchase not committed yet")
		}
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
	res := workflows.ChargeResult{PaymentIntentID: pi.ID, Status: string(pi.Status), ClientSecret: pi.ClientSecret}
	if pi.Status == stripe.PaymentIntentStatusRequiresPaymentMethod {
		res.Message = "the payment method was not accepted"
		if pi.LastPaymentError != nil && pi.LastPaymentError.Msg != "" {
			res.Message = pi.LastPaymentError.Msg
		}
	}
	return res, nil
}

// MarkRequiresAction records that the customer must act; the client secret
// is kept encrypted so replays can show it again. Idempotent: it only moves
// an open purchase to requires_action.
func (p *Purchases) MarkRequiresAction(ctx context.Context, purchaseID string, charge workflows.ChargeResult) error {
	id, err := uuid.Parse(purchaseID)
	if err != nil {
		return err
	}
	var sealed []byte
	if charge.ClientSecret != "" {
		sealed = p.Box.Seal([]byte(charge.ClientSecret), "purchase:"+purchaseID)
	}
	return dbgen.New(p.Pool).SetCreditPurchaseRequiresAction(ctx, dbgen.SetCreditPurchaseRequiresActionParams{
		ID: id, StripePaymentIntentID: &charge.PaymentIntentID, ClientSecretEnc: sealed})
}

// CreditPurchase posts the ledger purchase and marks the purchase succeeded,
// in one transaction. Idempotent: the row lock and the journal's unique
// (kind, reference) make a retry return the first transaction.
func (p *Purchases) CreditPurchase(ctx context.Context, purchaseID, paymentIntentID string) (string, error) {
	id, err := uuid.Parse(purchaseID)
	if err != nil {
		return "", err
	}
	var txID uuid.UUID
	err = db.InTx(ctx, p.Pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		row, err := q.GetCreditPurchaseForUpdate(ctx, id)
		if err != nil {
			return fmt.Errorf("lock purchase %s: %w", id, err)
		}
		if row.Status == "succeeded" {
			txID = row.JournalTransactionID.UUID
			return nil
		}
		if row.Status == "failed" {
			return fmt.Errorf("purchase %s already failed; refusing to credit", id)
		}
		posted, err := ledger.Purchase(ctx, tx, row.WalletID, ledger.Credits(row.Amount), purchaseID, "user:"+row.UserID.String())
		if err != nil {
			return fmt.Errorf("post purchase %s: %w", id, err)
		}
		txID = posted.TransactionID
		balance := posted.Wallets[row.WalletID].Available
		if err := q.SetCreditPurchaseIntent(ctx, dbgen.SetCreditPurchaseIntentParams{ID: id, StripePaymentIntentID: &paymentIntentID}); err != nil {
			return err
		}
		return q.SetCreditPurchaseSucceeded(ctx, dbgen.SetCreditPurchaseSucceededParams{ID: id, JournalTransactionID: uuid.NullUUID{UUID: txID, Valid: true}, BalanceAfter: &balance})
	})
	return txID.String(), err
}

// FailPurchase marks an open purchase failed; nothing was credited.
// Idempotent: a closed purchase is left as it is.
func (p *Purchases) FailPurchase(ctx context.Context, purchaseID, code, message string) error {
	id, err := uuid.Parse(purchaseID)
	if err != nil {
		return err
	}
	return dbgen.New(p.Pool).SetCreditPurchaseFailed(ctx, dbgen.SetCreditPurchaseFailedParams{ID: id, FailureCode: &code, FailureMessage: &message})
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
