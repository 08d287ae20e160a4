package payouts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/ledger"
)

// StripeCreate is what a payout's Stripe create step may do, from its row.
type StripeCreate struct {
	// SentBefore: a create with the payout's idempotency key was sent before
	// and its answer never stored, so Stripe may have acted on it.
	SentBefore bool
	// SinceFirst is how long ago that first create was sent (database clock).
	SinceFirst time.Duration
}

// BeginStripeCreate notes, before a create call is sent, that one is about
// to be (the first time only), and says whether one was sent before. Only a
// burned payout with no stored Stripe id may create anything.
func (s *Service) BeginStripeCreate(ctx context.Context, id uuid.UUID) (StripeCreate, error) {
	row, err := dbgen.New(s.pool).BeginPayoutStripeCreate(ctx, id)
	if db.IsNotFound(err) {
		return StripeCreate{}, fmt.Errorf("%w: payout %s is not burned or already has its Stripe object", ErrWrongState, id)
	}
	if err != nil {
		return StripeCreate{}, fmt.Errorf("begin Stripe create of payout %s: %w", id, err)
	}
	return StripeCreate{SentBefore: row.SentBefore, SinceFirst: time.Duration(row.SecondsSinceFirst * float64(time.Second))}, nil
}

// ErrOtherStripeObject: a payout already stores another Stripe object than
// the one found or created now, which would be a second payment.
var ErrOtherStripeObject = errors.New("the payout already stores another Stripe object")

// StoreStripeID stores the transfer or payout id that Stripe answered, with
// a history entry, before anything acts on it.
func (s *Service) StoreStripeID(ctx context.Context, id uuid.UUID, stripeID, detail string) error {
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		_, err := q.SetPayoutStripeID(ctx, dbgen.SetPayoutStripeIDParams{ID: id, StripeID: &stripeID})
		if db.IsNotFound(err) {
			return fmt.Errorf("payout %s, Stripe object %s: %w", id, stripeID, ErrOtherStripeObject)
		}
		if err != nil {
			return fmt.Errorf("store Stripe id of payout %s: %w", id, err)
		}
		return q.InsertPayoutEvent(ctx, dbgen.InsertPayoutEventParams{PayoutID: id, Status: "attempt", Detail: detail})
	})
}

// MaxAlertLen bounds an alert's text.
const MaxAlertLen = 500

// Alert records an unresolved problem on the payout, for the admin view.
func (s *Service) Alert(ctx context.Context, id uuid.UUID, alert string) error {
	if len(alert) > MaxAlertLen {
		alert = alert[:MaxAlertLen]
	}
	return dbgen.New(s.pool).SetPayoutAlert(ctx, dbgen.SetPayoutAlertParams{ID: id, Alert: &alert})
}

// ClearAlert removes the payout's alert once its problem resolved.
func (s *Service) ClearAlert(ctx context.Context, id uuid.UUID) error {
	return dbgen.New(s.pool).ClearPayoutAlert(ctx, id)
}

// MarkNeedsReview stops a burned payout for an operator's decision: a
// create may have reached Stripe, and creating again could pay twice.
// Nothing is paid or restored until Review. Idempotent: only a burned
// payout moves.
func (s *Service) MarkNeedsReview(ctx context.Context, id uuid.UUID, reason string) error {
	return s.withPayout(ctx, id, func(q *dbgen.Queries, _ pgx.Tx, p dbgen.Payout) error {
		if p.Status != "burned" {
			return nil
		}
		if _, err := s.setStatus(ctx, q, p, "needs_review", "", ""); err != nil {
			return err
		}
		alert := "needs review: " + reason
		if len(alert) > MaxAlertLen {
			alert = alert[:MaxAlertLen]
		}
		return q.SetPayoutAlert(ctx, dbgen.SetPayoutAlertParams{ID: id, Alert: &alert})
	})
}

// Decisions on a payout in review (POST /admin/payouts/{id}/review).
const (
	// ReviewPaid: the operator found the payout's transfer or bank payout
	// in Stripe; its id is stored and the next run reads it, creating nothing.
	ReviewPaid = "paid"
	// ReviewNotPaid: the operator checked that Stripe holds no object for
	// the payout; the next run may create one.
	ReviewNotPaid = "not_paid"
	// ReviewFail: nothing was paid and nothing will be: the credits go back.
	ReviewFail = "fail"
)

const maxStripeIDLen = 255

// Review applies an operator's decision to a payout in review. paid and
// not_paid put it back to burned, and the next batch run of its period
// finishes it; fail restores its credits. Audited.
func (s *Service) Review(ctx context.Context, id uuid.UUID, decision, stripeID, reason string) (Payout, error) {
	var out Payout
	err := s.withPayout(ctx, id, func(q *dbgen.Queries, tx pgx.Tx, p dbgen.Payout) error {
		if p.Status != "needs_review" {
			return fmt.Errorf("%w: only a payout in review can be reviewed (it is %s)", ErrWrongState, p.Status)
		}
		params := dbgen.ReviewPayoutParams{ID: id}
		switch decision {
		case ReviewPaid:
			prefix := map[string]string{TypeStripe: "tr_", TypeBank: "po_"}[p.DestinationType]
			if prefix == "" || !strings.HasPrefix(stripeID, prefix) || len(stripeID) > maxStripeIDLen {
				return fmt.Errorf("%w: a paid %s payout needs the stripe_id (%s...) found in Stripe", ErrInvalid, p.DestinationType, prefix)
			}
			params.StripeID = &stripeID
		case ReviewNotPaid:
			params.ForgetCreate = true
		case ReviewFail:
			if reason == "" {
				return fmt.Errorf("%w: failing a payout needs a reason", ErrInvalid)
			}
			if _, err := ledger.RestorePayout(ctx, tx, p.WalletID, ledger.Credits(p.Amount), p.ID.String(), "admin"); err != nil {
				return err
			}
			if err := q.ClearPayoutAlert(ctx, id); err != nil {
				return err
			}
			row, err := s.setStatus(ctx, q, p, "failed", "", reason)
			if err != nil {
				return err
			}
			out = from(row)
			if err := tellVendor(ctx, q, p, "failed", fmt.Sprintf("Payout of %s credits failed: %s. The credits are back in the app wallet.",
				ledger.Credits(p.Amount), reason)); err != nil {
				return err
			}
			return audit(ctx, q, "payout.review", id, map[string]any{"decision": decision, "reason": reason})
		default:
			return fmt.Errorf("%w: decision must be paid, not_paid or fail", ErrInvalid)
		}
		row, err := q.ReviewPayout(ctx, params)
		if err != nil {
			if db.IsUniqueViolation(err, "payouts_stripe_id_key") {
				return fmt.Errorf("%w: %s is another payout's Stripe object", ErrInvalid, stripeID)
			}
			return err
		}
		if err := q.InsertPayoutEvent(ctx, dbgen.InsertPayoutEventParams{PayoutID: id, Status: "burned",
			Detail: "reviewed: " + decision + " " + stripeID}); err != nil {
			return err
		}
		out = from(row)
		return audit(ctx, q, "payout.review", id, map[string]any{"decision": decision, "stripe_id": stripeID, "reason": reason})
	})
	return out, err
}

// BeginTransferCreate is BeginStripeCreate for a bank payout's transfer to
// its connected account.
func (s *Service) BeginTransferCreate(ctx context.Context, id uuid.UUID) (StripeCreate, error) {
	row, err := dbgen.New(s.pool).BeginPayoutTransferCreate(ctx, id)
	if db.IsNotFound(err) {
		return StripeCreate{}, fmt.Errorf("%w: payout %s is not burned or already has its transfer", ErrWrongState, id)
	}
	if err != nil {
		return StripeCreate{}, fmt.Errorf("begin transfer create of payout %s: %w", id, err)
	}
	return StripeCreate{SentBefore: row.SentBefore, SinceFirst: time.Duration(row.SecondsSinceFirst * float64(time.Second))}, nil
}

// StoreTransferID stores a bank payout's transfer id that Stripe answered,
// with a history entry, before the bank payout is created.
func (s *Service) StoreTransferID(ctx context.Context, id uuid.UUID, transferID, detail string) error {
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		_, err := q.SetPayoutTransferID(ctx, dbgen.SetPayoutTransferIDParams{ID: id, TransferID: &transferID})
		if db.IsNotFound(err) {
			return fmt.Errorf("payout %s, transfer %s: %w", id, transferID, ErrOtherStripeObject)
		}
		if err != nil {
			return fmt.Errorf("store transfer id of payout %s: %w", id, err)
		}
		return q.InsertPayoutEvent(ctx, dbgen.InsertPayoutEventParams{PayoutID: id, Status: "attempt", Detail: detail})
	})
}

// Final statuses of a bank payout, as Stripe names them.
const (
	BankPaid     = "paid"
	BankFailed   = "failed"
	BankCanceled = "canceled"
)

// RecordBankStatus stores what Stripe reported first (by webhook) about a
// bank payout: paid, failed or canceled. It answers whether a payout of
// ours matched (the Stripe payout id it stored, sent from that connected
// account); a later report for the same payout changes nothing. The
// payout's workflow acts on it (AwaitBankPayout reads it first).
func (s *Service) RecordBankStatus(ctx context.Context, stripePayoutID, connectedAccount, status string) (bool, error) {
	switch status {
	case BankPaid, BankFailed, BankCanceled:
	default:
		return false, fmt.Errorf("%w: bank payout status %q", ErrInvalid, status)
	}
	var matched bool
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		id, err := q.SetPayoutBankStatus(ctx, dbgen.SetPayoutBankStatusParams{BankStatus: &status, StripeID: &stripePayoutID,
			ConnectedAccount: &connectedAccount})
		if db.IsNotFound(err) {
			return nil // not ours, or already reported
		}
		if err != nil {
			return err
		}
		matched = true
		return q.InsertPayoutEvent(ctx, dbgen.InsertPayoutEventParams{PayoutID: id, Status: "attempt",
			Detail: "Stripe reported bank payout " + stripePayoutID + " " + status})
	})
	return matched, err
}
