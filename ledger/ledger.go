package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
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
	Wallets       map[uuid.UUID]dbgen.Wallet // balances after the movement
}

// maxEntries bounds one transaction; no movement of the design needs more.
const maxEntries = 8

// Post writes m in tx: the balance change of every wallet it touches and its
// journal entries, together. Wallet rows are updated in ascending id order so
// concurrent movements lock in one order and cannot deadlock. The caller
// commits; nothing is written if it rolls back.
func Post(ctx context.Context, tx pgx.Tx, m Movement) (Posted, error) {
	if err := m.validate(); err != nil {
		return Posted{}, err
	}
	q := dbgen.New(tx)
	memo, err := json.Marshal(m.Memo)
	if err != nil || m.Memo == nil {
		memo = []byte("{}")
	}
	// A failed movement (a duplicate, an overdraft) aborts tx: callers roll
	// back, which is what every caller wants from a refused money movement.
	wallets, err := applyDeltas(ctx, q, m.Entries)
	if err != nil {
		return Posted{}, err
	}
	p := dbgen.InsertJournalTransactionParams{Kind: string(m.Kind), Reference: m.Reference, Actor: m.Actor, Memo: memo}
	for _, e := range m.Entries {
		p.WalletIds = append(p.WalletIds, e.Wallet)
		p.Buckets = append(p.Buckets, string(e.Bucket))
		p.Amounts = append(p.Amounts, int64(e.Amount))
	}
	row, err := q.InsertJournalTransaction(ctx, p)
	if db.IsUniqueViolation(err, "journal_transactions_kind_reference") {
		return Posted{}, fmt.Errorf("%s %s: %w", m.Kind, m.Reference, ErrAlreadyPosted)
	}
	if err != nil {
		return Posted{}, fmt.Errorf("insert journal transaction: %w", err)
	}
	return Posted{TransactionID: row.ID, Wallets: wallets}, nil
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

// applyDeltas updates each touched wallet once, in ascending id order.
func applyDeltas(ctx context.Context, q *dbgen.Queries, entries []Entry) (map[uuid.UUID]dbgen.Wallet, error) {
	type delta struct{ available, reserved int64 }
	deltas := map[uuid.UUID]*delta{}
	var ids []uuid.UUID
	for _, e := range entries {
		d, ok := deltas[e.Wallet]
		if !ok {
			d = &delta{}
			deltas[e.Wallet] = d
			ids = append(ids, e.Wallet)
		}
		if e.Bucket == Available {
			d.available += int64(e.Amount)
		} else {
			d.reserved += int64(e.Amount)
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	out := make(map[uuid.UUID]dbgen.Wallet, len(ids))
	for _, id := range ids {
		d := deltas[id]
		w, err := q.ApplyWalletDelta(ctx, dbgen.ApplyWalletDeltaParams{ID: id, AvailableDelta: d.available, ReservedDelta: d.reserved})
		switch {
		case db.IsNotFound(err):
			return nil, fmt.Errorf("wallet %s: %w", id, ErrWalletNotFound)
		case db.IsCheckViolation(err):
			return nil, fmt.Errorf("wallet %s: %w", id, ErrInsufficientFunds)
		case err != nil:
			return nil, fmt.Errorf("update wallet %s: %w", id, err)
		}
		out[id] = w
	}
	return out, nil
}
