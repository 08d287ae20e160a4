package chargebacks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/ledger"
)

// CheckCanSpend refuses a reservation by a user who owes credits (a
// DebtError). q is the caller's transaction: one primary-key read.
func CheckCanSpend(ctx context.Context, q *dbgen.Queries, userID uuid.UUID) error {
	h, err := q.GetActivePaymentHold(ctx, userID)
	if db.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("payment hold of %s: %w", userID, err)
	}
	if h.Debt > 0 {
		return &DebtError{Debt: ledger.Credits(h.Debt)}
	}
	return nil
}

// CheckCanPurchase refuses a purchase by a user whose payment hold is active.
func CheckCanPurchase(ctx context.Context, q *dbgen.Queries, userID uuid.UUID) error {
	_, err := q.GetActivePaymentHold(ctx, userID)
	if db.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("payment hold of %s: %w", userID, err)
	}
	return ErrPurchasesSuspended
}

// GetHold returns a user's hold (ErrNoHold when there never was one).
func (s *Service) GetHold(ctx context.Context, userID uuid.UUID) (Hold, error) {
	h, err := dbgen.New(s.pool).GetPaymentHold(ctx, userID)
	if db.IsNotFound(err) {
		return Hold{}, ErrNoHold
	}
	if err != nil {
		return Hold{}, fmt.Errorf("payment hold of %s: %w", userID, err)
	}
	return holdFrom(h), nil
}

func holdFrom(h dbgen.PaymentHold) Hold {
	return Hold{UserID: h.UserID, Debt: ledger.Credits(h.Debt), Active: h.Active, Reason: h.Reason}
}

// ClearRequest is an admin's decision on a hold.
type ClearRequest struct {
	Reason string
	// CollectDebt takes what the wallet now holds toward the debt before
	// the rest is written off; false writes the whole debt off (a dispute
	// the platform won, say).
	CollectDebt bool
}

// Cleared is what clearing a hold did.
type Cleared struct {
	Collected, WrittenOff ledger.Credits
	TransactionID         *uuid.UUID
}

// Clear lifts a user's active hold: the debt is collected from the wallet's
// available credits as far as they go (when asked), the rest written off,
// spending and purchases allowed again, all audited. A second clear finds no
// active hold (ErrNoHold), so a repeated request changes nothing.
func (s *Service) Clear(ctx context.Context, userID uuid.UUID, req ClearRequest) (Cleared, error) {
	req.Reason = strings.TrimSpace(req.Reason)
	if req.Reason == "" || len(req.Reason) > MaxReasonLen {
		return Cleared{}, fmt.Errorf("%w: reason is required (at most %d characters)", ErrInvalid, MaxReasonLen)
	}
	var out Cleared
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		out, err = s.clear(ctx, userID, req)
		if !errors.Is(err, ledger.ErrInsufficientFunds) {
			break
		}
	}
	return out, err
}

func (s *Service) clear(ctx context.Context, userID uuid.UUID, req ClearRequest) (Cleared, error) {
	var out Cleared
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		h, err := q.GetPaymentHoldForUpdate(ctx, userID)
		if db.IsNotFound(err) || (err == nil && !h.Active) {
			return ErrNoHold
		}
		if err != nil {
			return fmt.Errorf("lock hold of %s: %w", userID, err)
		}
		w, err := ledger.UserWallet(ctx, tx, userID)
		if err != nil {
			return err
		}
		if req.CollectDebt {
			out.Collected = min(max(w.Available, 0), ledger.Credits(h.Debt))
		}
		out.WrittenOff = ledger.Credits(h.Debt) - out.Collected
		if out.Collected > 0 {
			ref := fmt.Sprintf("debt-collect:%s:%d", userID, h.Clears+1)
			posted, err := ledger.Chargeback(ctx, tx, w.ID, out.Collected, ref, "admin",
				map[string]any{"reason": req.Reason, "debt": ledger.Credits(h.Debt)})
			if err != nil {
				return err
			}
			out.TransactionID = &posted.TransactionID
		}
		if _, err := q.ClearPaymentHold(ctx, userID); err != nil {
			return fmt.Errorf("clear hold of %s: %w", userID, err)
		}
		return audit(ctx, q, "admin", AuditCleared, "user", userID.String(), map[string]any{"debt": ledger.Credits(h.Debt),
			"collected": out.Collected, "written_off": out.WrittenOff, "reason": req.Reason, "journal_transaction_id": out.TransactionID})
	})
	return out, err
}
