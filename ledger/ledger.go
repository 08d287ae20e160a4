package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/officex/officex/db/dbgen"
)

// Domain errors of money movements.
var (
	ErrInsufficientFunds = errors.New("wallet balance too low")
	ErrAlreadyPosted     = errors.New("this movement was already posted")
	ErrWalletNotFound    = errors.New("wallet not found")
	ErrInvalidMovement   = errors.New("invalid movement")
)

// Bucket is one of a wallet's two balances.
type Bucket string

// The buckets of a wallet.
const (
	Available Bucket = "available"
	Reserved  Bucket = "reserved"
)

// Kind names a movement of the DESIGN.md table; it is stored on the journal.
type Kind string

// Movement kinds.
const (
	KindPurchase      Kind = "purchase"
	KindVoucher       Kind = "voucher"
	KindReserve       Kind = "reserve"
	KindSettle        Kind = "settle"
	KindRefund        Kind = "refund"
	KindPayoutHold    Kind = "payout_hold"
	KindPayoutBurn    Kind = "payout_burn"
	KindPayoutRestore Kind = "payout_restore" // failed after burn: treasury back to app.available
	KindPayoutRelease Kind = "payout_release" // rejected before burn: app.reserved back to app.available
	KindAdjust        Kind = "adjust"
	KindChargeback    Kind = "chargeback" // a refunded or disputed purchase taken back: user.available back to the treasury
)

// Entry is one line of a journal transaction.
type Entry struct {
	Wallet uuid.UUID
	Bucket Bucket
	Amount Credits // signed
}

// Movement is a balanced set of entries with what caused it.
type Movement struct {
	Kind      Kind
	Reference string // business key, unique per kind: posting it twice fails with ErrAlreadyPosted
	Actor     string
	Memo      map[string]any
	Entries   []Entry
}

// Posted is the journal transaction a movement became.
type Posted struct {
	TransactionID uuid.UUID
	// Balances after the movement of the wallet rows it changed. An app
	// wallet credited through a slot only is not in it: its balance is the
	// row plus its slots (GetWallet).
	Wallets map[uuid.UUID]dbgen.Wallet
}

// maxEntries bounds one transaction; no movement of the design needs more.
const maxEntries = 8

// Post writes m in tx: the balance change of every wallet it touches and its
// journal entries, together, in one call of the database's ledger_post (one
// round trip). Wallet rows are updated in ascending id order so concurrent
// movements lock in one order and cannot deadlock; a credit to an app wallet
// lands in one of its slots, locked last (see slots.go). The caller commits;
// nothing is written if it rolls back.
func Post(ctx context.Context, tx pgx.Tx, m Movement) (Posted, error) {
	if err := m.validate(); err != nil {
		return Posted{}, err
	}
	memo, err := json.Marshal(m.Memo)
	if err != nil || m.Memo == nil {
		memo = []byte("{}")
	}
	ids, buckets, amounts := m.columns()
	// A failed movement (a duplicate, an overdraft) aborts tx: callers roll
	// back, which is what every caller wants from a refused money movement.
	rows, err := tx.Query(ctx, postSQL, string(m.Kind), m.Reference, m.Actor, memo, ids, buckets, amounts, NextSlot())
	if err != nil {
		return Posted{}, postError(m, err)
	}
	out := Posted{Wallets: map[uuid.UUID]dbgen.Wallet{}}
	var r postedRow
	_, err = pgx.ForEachRow(rows, []any{&out.TransactionID, &r.id, &r.kind, &r.owner, &r.available, &r.reserved,
		&r.created, &r.updated}, func() error {
		if r.id.Valid { // one row per wallet row updated; a NULL one when only slots were
			out.Wallets[r.id.UUID] = r.wallet()
		}
		return nil
	})
	if err != nil {
		return Posted{}, postError(m, err)
	}
	return out, nil
}

// postedRow is a wallet row as ledger_post returns it (NULLs when no wallet
// row changed).
type postedRow struct {
	id, owner           uuid.NullUUID
	kind                *string
	available, reserved *int64
	created, updated    *time.Time
}

func (r postedRow) wallet() dbgen.Wallet {
	return dbgen.Wallet{ID: r.id.UUID, Kind: *r.kind, OwnerUserID: r.owner, Available: *r.available,
		Reserved: *r.reserved, CreatedAt: *r.created, UpdatedAt: *r.updated}
}

func (m Movement) columns() (ids []uuid.UUID, buckets []string, amounts []int64) {
	for _, e := range m.Entries {
		ids = append(ids, e.Wallet)
		buckets = append(buckets, string(e.Bucket))
		amounts = append(amounts, int64(e.Amount))
	}
	return ids, buckets, amounts
}

// postError maps what ledger_post refused to the ledger's errors.
func postError(m Movement, err error) error {
	if mapped := PostRefusal(err); mapped != nil {
		return fmt.Errorf("%s %s: %w", m.Kind, m.Reference, mapped)
	}
	return fmt.Errorf("post %s %s: %w", m.Kind, m.Reference, err)
}

// PostRefusal is the ledger's error for what ledger_post refused (a
// duplicate reference, a bucket that would go negative, an unknown wallet),
// or nil for any other error. Code that calls ledger_post inside PostgreSQL
// (billing's functions) maps its errors with it.
func PostRefusal(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil
	}
	switch {
	case pgErr.Code == "23505" && pgErr.ConstraintName == "journal_transactions_kind_reference":
		return ErrAlreadyPosted
	case pgErr.Code == "23514" && (pgErr.ConstraintName == "wallets_non_negative" || pgErr.ConstraintName == "wallet_slots_non_negative"):
		return ErrInsufficientFunds
	case pgErr.Code == "P0002":
		return fmt.Errorf("%s: %w", pgErr.Message, ErrWalletNotFound)
	}
	return nil
}

func (m Movement) validate() error {
	if m.Reference == "" || len(m.Reference) > 200 || m.Actor == "" {
		return fmt.Errorf("%w: reference and actor are required", ErrInvalidMovement)
	}
	if len(m.Entries) < 2 || len(m.Entries) > maxEntries {
		return fmt.Errorf("%w: %d entries", ErrInvalidMovement, len(m.Entries))
	}
	var sum Credits
	for _, e := range m.Entries {
		if e.Amount == 0 || (e.Bucket != Available && e.Bucket != Reserved) {
			return fmt.Errorf("%w: entry %+v", ErrInvalidMovement, e)
		}
		sum += e.Amount
	}
	if sum != 0 {
		return fmt.Errorf("%w: entries sum to %s", ErrInvalidMovement, sum)
	}
	return nil
}
