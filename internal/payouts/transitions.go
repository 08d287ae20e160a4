package payouts

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/ledger"
)

// withPayout runs fn with the payout's row locked, in one transaction.
func (s *Service) withPayout(ctx context.Context, id uuid.UUID, fn func(q *dbgen.Queries, tx pgx.Tx, p dbgen.Payout) error) error {
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		p, err := q.GetPayoutForUpdate(ctx, id)
		if db.IsNotFound(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock payout %s: %w", id, err)
		}
		return fn(q, tx, p)
	})
}

func audit(ctx context.Context, q *dbgen.Queries, action string, id uuid.UUID, details map[string]any) error {
	raw, _ := json.Marshal(details)
	return q.InsertAudit(ctx, dbgen.InsertAuditParams{Actor: "admin", Action: action, TargetType: "payout", TargetID: id.String(), Details: raw})
}

// Approve lets a pending payout join the next batch (admin).
func (s *Service) Approve(ctx context.Context, id uuid.UUID) (Payout, error) {
	var out Payout
	err := s.withPayout(ctx, id, func(q *dbgen.Queries, _ pgx.Tx, p dbgen.Payout) error {
		row, err := q.ApprovePayout(ctx, id)
		if db.IsNotFound(err) {
			return fmt.Errorf("%w: only a pending, unapproved payout can be approved (it is %s)", ErrWrongState, p.Status)
		}
		if err != nil {
			return err
		}
		if err := q.InsertPayoutEvent(ctx, dbgen.InsertPayoutEventParams{PayoutID: id, Status: "approved", Detail: "approved by admin"}); err != nil {
			return err
		}
		out = from(row)
		return audit(ctx, q, "payout.approve", id, nil)
	})
	return out, err
}

// Reject refuses a payout before its burn and gives the held credits back.
func (s *Service) Reject(ctx context.Context, id uuid.UUID, reason string) (Payout, error) {
	var out Payout
	err := s.withPayout(ctx, id, func(q *dbgen.Queries, tx pgx.Tx, p dbgen.Payout) error {
		if p.Status != "pending" {
			return fmt.Errorf("%w: only a pending payout can be rejected (it is %s)", ErrWrongState, p.Status)
		}
		if _, err := ledger.ReleasePayout(ctx, tx, p.WalletID, ledger.Credits(p.Amount), p.ID.String(), "admin"); err != nil {
			return err
		}
		row, err := s.setStatus(ctx, q, p, "rejected", "", reason)
		if err != nil {
			return err
		}
		out = from(row)
		return audit(ctx, q, "payout.reject", id, map[string]any{"reason": reason})
	})
	return out, err
}

func (s *Service) setStatus(ctx context.Context, q *dbgen.Queries, p dbgen.Payout, status, ref, reason string) (dbgen.Payout, error) {
	params := dbgen.SetPayoutStatusParams{ID: p.ID, Status: status}
	if ref != "" {
		params.ExternalRef = &ref
	}
	if reason != "" {
		params.FailureReason = &reason
	}
	row, err := q.SetPayoutStatus(ctx, params)
	if err != nil {
		return dbgen.Payout{}, err
	}
	detail := ref
	if reason != "" {
		detail = reason
	}
	return row, q.InsertPayoutEvent(ctx, dbgen.InsertPayoutEventParams{PayoutID: p.ID, Status: status, Detail: detail})
}

// Burn retires the held credits as the money is about to leave: the
// liability falls. Idempotent: a burned or finished payout is returned as is.
func (s *Service) Burn(ctx context.Context, id uuid.UUID) (Payout, error) {
	var out Payout
	err := s.withPayout(ctx, id, func(q *dbgen.Queries, tx pgx.Tx, p dbgen.Payout) error {
		out = from(p)
		if p.Status != "pending" {
			return nil
		}
		if p.ApprovedAt == nil {
			return fmt.Errorf("%w: payout %s is not approved", ErrWrongState, id)
		}
		if _, err := ledger.BurnPayout(ctx, tx, p.WalletID, ledger.Credits(p.Amount), p.ID.String(), "system"); err != nil {
			return err
		}
		row, err := s.setStatus(ctx, q, p, "burned", "", "")
		out = from(row)
		return err
	})
	return out, err
}

// Complete records the money as paid. Idempotent: only a burned payout moves.
func (s *Service) Complete(ctx context.Context, id uuid.UUID, ref string) error {
	return s.withPayout(ctx, id, func(q *dbgen.Queries, _ pgx.Tx, p dbgen.Payout) error {
		if p.Status != "burned" {
			return nil
		}
		if _, err := s.setStatus(ctx, q, p, "completed", ref, ""); err != nil {
			return err
		}
		return tellVendor(ctx, q, p, "completed", fmt.Sprintf("Payout of %s credits completed (%s).", ledger.Credits(p.Amount), ref))
	})
}

// Fail records a payout that could not be paid and restores its credits to
// the app wallet (from the treasury after a burn, from the hold before).
// Idempotent: a finished payout is left as it is.
func (s *Service) Fail(ctx context.Context, id uuid.UUID, reason string) error {
	return s.withPayout(ctx, id, func(q *dbgen.Queries, tx pgx.Tx, p dbgen.Payout) error {
		amount := ledger.Credits(p.Amount)
		var err error
		switch p.Status {
		case "burned":
			_, err = ledger.RestorePayout(ctx, tx, p.WalletID, amount, p.ID.String(), "system")
		case "pending":
			_, err = ledger.ReleasePayout(ctx, tx, p.WalletID, amount, p.ID.String(), "system")
		default:
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := s.setStatus(ctx, q, p, "failed", "", reason); err != nil {
			return err
		}
		return tellVendor(ctx, q, p, "failed", fmt.Sprintf("Payout of %s credits failed: %s. The credits are back in the app wallet.", amount, reason))
	})
}

func tellVendor(ctx context.Context, q *dbgen.Queries, p dbgen.Payout, outcome, text string) error {
	return q.InsertVendorMessage(ctx, dbgen.InsertVendorMessageParams{UserID: p.RequestedBy, AppID: uuid.NullUUID{UUID: p.AppID, Valid: true},
		ExternalID: "officex:payout-" + outcome + ":" + p.ID.String(), Title: "Payout " + outcome, Body: text})
}

// RecordAttempt notes a step of the payment (a Stripe call, a Solana
// transaction) in the payout's history.
func (s *Service) RecordAttempt(ctx context.Context, id uuid.UUID, detail string) error {
	return dbgen.New(s.pool).InsertPayoutEvent(ctx, dbgen.InsertPayoutEventParams{PayoutID: id, Status: "attempt", Detail: detail})
}

// SolanaAttempt is the signed transaction stored for a USDC payout.
type SolanaAttempt struct {
	Signature  string
	Tx         []byte
	ValidUntil uint64
}

// StoredSolanaAttempt returns the stored attempt, if any.
func (s *Service) StoredSolanaAttempt(ctx context.Context, id uuid.UUID) (SolanaAttempt, bool, error) {
	p, err := dbgen.New(s.pool).GetPayout(ctx, id)
	if err != nil {
		return SolanaAttempt{}, false, err
	}
	if p.SolanaSignature == nil || p.SolanaValidUntil == nil {
		return SolanaAttempt{}, false, nil
	}
	return SolanaAttempt{Signature: *p.SolanaSignature, Tx: p.SolanaTx, ValidUntil: uint64(*p.SolanaValidUntil)}, true, nil
}

// StoreSolanaAttempt records a signed transaction before it is sent.
func (s *Service) StoreSolanaAttempt(ctx context.Context, id uuid.UUID, a SolanaAttempt) error {
	valid := int64(a.ValidUntil)
	if err := dbgen.New(s.pool).SetPayoutSolanaAttempt(ctx, dbgen.SetPayoutSolanaAttemptParams{ID: id,
		SolanaSignature: &a.Signature, SolanaTx: a.Tx, SolanaValidUntil: &valid}); err != nil {
		return err
	}
	return s.RecordAttempt(ctx, id, "signed Solana transaction "+a.Signature)
}

// ClearSolanaAttempt forgets an attempt that can never land (its blockhash
// expired unseen), so a new one may be signed.
func (s *Service) ClearSolanaAttempt(ctx context.Context, id uuid.UUID, signature string) error {
	if err := dbgen.New(s.pool).ClearPayoutSolanaAttempt(ctx, dbgen.ClearPayoutSolanaAttemptParams{ID: id, SolanaSignature: &signature}); err != nil {
		return err
	}
	return s.RecordAttempt(ctx, id, "Solana transaction "+signature+" expired unseen")
}
