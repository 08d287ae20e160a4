// Package chargebacks takes purchased credits back when Stripe reports a
// purchase's charge refunded or disputed, and keeps the payment hold that
// follows: the part of the credits the wallet no longer holds becomes a debt
// on the user (never a negative wallet: DESIGN.md invariant 3), the user
// can't spend while the debt is open, and purchases stay suspended until an
// admin clears the hold. Every balance change goes through ledger.Chargeback;
// the debt lives beside the ledger, in payment_holds, so the journal stays
// balanced and the wallets stay non-negative.
package chargebacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/ledger"
)

// Kinds of reversal Stripe reports.
const (
	KindRefund  = "refund"  // charge.refunded
	KindDispute = "dispute" // charge.dispute.created
)

// Audit actions.
const (
	AuditReversed = "purchase.reversed"
	AuditCleared  = "payment_hold.cleared"
)

// maxAttempts bounds the retries of a take-back whose wallet was spent
// between the read and the ledger movement.
const maxAttempts = 3

// MaxReasonLen bounds an admin's reason for clearing a hold.
const MaxReasonLen = 500

// Errors.
var (
	// ErrOutstandingDebt: the user owes credits a reversal could not take
	// back; spending is refused until an admin clears the hold.
	ErrOutstandingDebt = errors.New("spending is suspended: this account owes credits from a refunded or disputed payment")
	// ErrPurchasesSuspended: a payment of this user was refunded or
	// disputed; purchases wait for an admin to clear the hold.
	ErrPurchasesSuspended = errors.New("purchases are suspended on this account after a refunded or disputed payment; contact support")
	// ErrPurchaseOpen: Stripe reversed the charge of a purchase we have not
	// settled yet; the webhook answers 503 so Stripe delivers it again.
	ErrPurchaseOpen = errors.New("the purchase of this charge is still open; deliver the event again later")
	ErrNoHold       = errors.New("this user has no active payment hold")
	ErrInvalid      = errors.New("invalid request")
)

// DebtError is ErrOutstandingDebt with the amount owed.
type DebtError struct{ Debt ledger.Credits }

func (e *DebtError) Error() string {
	return fmt.Sprintf("%s (%s credits); it is cleared by support", ErrOutstandingDebt.Error(), e.Debt)
}

func (e *DebtError) Unwrap() error { return ErrOutstandingDebt }

// Reversal is one signed Stripe event about a charge.
type Reversal struct {
	EventID         string
	Kind            string // KindRefund or KindDispute
	ChargeID        string
	PaymentIntentID string
	DisputeID       string // disputes only
	// AmountCents is, for a refund, the charge's cumulative amount_refunded;
	// for a dispute, the disputed amount.
	AmountCents int64
}

// Outcome is what a reversal did.
type Outcome struct {
	Handled    bool // false: not one of our purchases
	PurchaseID uuid.UUID
	TakenBack  ledger.Credits // taken from the wallet by this event
	DebtAdded  ledger.Credits // recorded as debt by this event
}

// Hold is a user's payment hold.
type Hold struct {
	UserID uuid.UUID
	Debt   ledger.Credits
	Active bool
	Reason string
}

// Service applies reversals and clears holds.
type Service struct{ pool *pgxpool.Pool }

// New makes a Service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

func (r Reversal) validate() error {
	switch {
	case r.EventID == "" || len(r.EventID) > 255, r.ChargeID == "" || len(r.ChargeID) > 255,
		len(r.PaymentIntentID) > 255, len(r.DisputeID) > 255:
		return fmt.Errorf("%w: event id and charge id are required", ErrInvalid)
	case r.Kind != KindRefund && r.Kind != KindDispute:
		return fmt.Errorf("%w: unknown reversal kind %q", ErrInvalid, r.Kind)
	case r.AmountCents < 0:
		return fmt.Errorf("%w: negative amount", ErrInvalid)
	}
	return nil
}

// Record stores the event first, then takes back what Stripe's reversals of
// the purchase now add up to. Idempotent: a redelivered event, or a refund
// and a dispute of the same money, take the credits back once, since the
// target is computed from everything stored for the purchase and the
// purchase keeps how much was already taken.
func (s *Service) Record(ctx context.Context, r Reversal) (Outcome, error) {
	if err := r.validate(); err != nil {
		return Outcome{}, err
	}
	q := dbgen.New(s.pool)
	var purchaseID uuid.NullUUID
	var purchase dbgen.CreditPurchase
	if r.PaymentIntentID != "" {
		row, err := q.GetCreditPurchaseByPaymentIntent(ctx, &r.PaymentIntentID)
		if err != nil && !db.IsNotFound(err) {
			return Outcome{}, fmt.Errorf("purchase of %s: %w", r.PaymentIntentID, err)
		}
		if err == nil {
			purchase, purchaseID = row, uuid.NullUUID{UUID: row.ID, Valid: true}
		}
	}
	err := q.InsertStripeReversalEvent(ctx, dbgen.InsertStripeReversalEventParams{EventID: r.EventID, Kind: r.Kind,
		ChargeID: r.ChargeID, PaymentIntentID: nonEmpty(r.PaymentIntentID), DisputeID: nonEmpty(r.DisputeID),
		AmountCents: r.AmountCents, PurchaseID: purchaseID})
	if err != nil {
		return Outcome{}, fmt.Errorf("store Stripe event %s: %w", r.EventID, err)
	}
	if !purchaseID.Valid {
		return Outcome{}, nil
	}
	switch purchase.Status {
	case "processing", "requires_action":
		return Outcome{}, ErrPurchaseOpen
	case "failed": // never credited: nothing to take back
		return Outcome{Handled: true, PurchaseID: purchase.ID}, q.MarkReversalEventsProcessed(ctx, purchaseID)
	}
	var out Outcome
	for attempt := 1; ; attempt++ {
		out, err = s.apply(ctx, purchase.ID, r.ChargeID)
		if !errors.Is(err, ledger.ErrInsufficientFunds) || attempt == maxAttempts {
			return out, err
		}
	}
}

// TakeBack is how many micro-credits of a purchase of amount micro-credits
// paid amountCents correspond to reversedCents: amount * reversed / paid,
// rounded up (a customer whose money came back keeps no fraction of a
// micro-credit of it), never more than amount. Exact integer arithmetic.
func TakeBack(amount, amountCents, reversedCents int64) ledger.Credits {
	if amountCents <= 0 || reversedCents <= 0 {
		return 0
	}
	if reversedCents >= amountCents {
		return ledger.Credits(amount)
	}
	num := new(big.Int).Mul(big.NewInt(amount), big.NewInt(reversedCents))
	den := big.NewInt(amountCents)
	quo, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	if rem.Sign() > 0 {
		quo.Add(quo, big.NewInt(1))
	}
	return ledger.Credits(quo.Int64())
}

// apply takes back, in one transaction, what the stored reversals of the
// purchase add up to beyond what was taken before: from the wallet's
// available credits as far as they go, the rest as debt on the hold.
// Locks: the purchase row, then the hold row, then the wallets (the
// ledger's order), the same order Clear uses after its hold row.
func (s *Service) apply(ctx context.Context, purchaseID uuid.UUID, chargeID string) (Outcome, error) {
	out := Outcome{Handled: true, PurchaseID: purchaseID}
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		p, err := q.GetCreditPurchaseForUpdate(ctx, purchaseID)
		if err != nil {
			return fmt.Errorf("lock purchase %s: %w", purchaseID, err)
		}
		pid := uuid.NullUUID{UUID: p.ID, Valid: true}
		cents, err := q.GetReversedCentsOfPurchase(ctx, dbgen.GetReversedCentsOfPurchaseParams{Purchase: p.ID, ChargedCents: p.AmountCents})
		if err != nil {
			return fmt.Errorf("reversed cents of %s: %w", p.ID, err)
		}
		target := TakeBack(p.Amount, p.AmountCents, cents)
		delta := target - ledger.Credits(p.ReversedAmount)
		if delta <= 0 {
			return q.MarkReversalEventsProcessed(ctx, pid)
		}
		w, err := ledger.GetWallet(ctx, tx, p.WalletID)
		if err != nil {
			return err
		}
		out.TakenBack = min(max(w.Available, 0), delta)
		out.DebtAdded = delta - out.TakenBack
		if _, err := q.AddPaymentHoldDebt(ctx, dbgen.AddPaymentHoldDebtParams{UserID: p.UserID, Debt: int64(out.DebtAdded),
			Reason: "charge " + chargeID + " of purchase " + p.ID.String() + " was refunded or disputed"}); err != nil {
			return fmt.Errorf("hold user %s: %w", p.UserID, err)
		}
		memo := map[string]any{"purchase_id": p.ID, "charge_id": chargeID, "reversed_cents": cents, "debt_added": out.DebtAdded}
		var txID *uuid.UUID
		if out.TakenBack > 0 {
			ref := fmt.Sprintf("chargeback:%s:%d", p.ID, int64(target))
			posted, err := ledger.Chargeback(ctx, tx, p.WalletID, out.TakenBack, ref, "system", memo)
			if err != nil {
				return err
			}
			txID = &posted.TransactionID
		}
		if err := q.SetCreditPurchaseReversed(ctx, dbgen.SetCreditPurchaseReversedParams{ID: p.ID, ReversedAmount: int64(target)}); err != nil {
			return err
		}
		if err := q.MarkReversalEventsProcessed(ctx, pid); err != nil {
			return err
		}
		memo["user_id"], memo["taken_back"], memo["reversed_total"], memo["journal_transaction_id"] = p.UserID, out.TakenBack, target, txID
		return audit(ctx, q, "system", AuditReversed, "credit_purchase", p.ID.String(), memo)
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, nil
}

func audit(ctx context.Context, q *dbgen.Queries, actor, action, targetType, targetID string, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	return q.InsertAudit(ctx, dbgen.InsertAuditParams{Actor: actor, Action: action, TargetType: targetType, TargetID: targetID, Details: b})
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
