package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db/dbgen"
)

// The named movements of DESIGN.md section 5. Each takes the caller's
// transaction, a business reference (unique per kind) and positive amounts.

var treasuryID struct {
	sync.Mutex
	id uuid.UUID
}

// TreasuryID returns the treasury wallet's id (there is exactly one).
func TreasuryID(ctx context.Context, q dbgen.DBTX) (uuid.UUID, error) {
	treasuryID.Lock()
	defer treasuryID.Unlock()
	if treasuryID.id != uuid.Nil {
		return treasuryID.id, nil
	}
	id, err := dbgen.New(q).GetTreasuryWalletID(ctx)
	if err != nil {
		return uuid.Nil, fmt.Errorf("treasury wallet: %w", err)
	}
	treasuryID.id = id
	return id, nil
}

// ResetTreasuryCache forgets the cached treasury id; tests that switch
// databases in one process call it.
func ResetTreasuryCache() {
	treasuryID.Lock()
	treasuryID.id = uuid.Nil
	treasuryID.Unlock()
}

func positive(n Credits) error {
	if n <= 0 || n > MaxCredits {
		return fmt.Errorf("%w: amount %s must be positive", ErrInvalidMovement, n)
	}
	return nil
}

func fromTreasury(ctx context.Context, tx pgx.Tx, kind Kind, wallet uuid.UUID, n Credits, ref, actor string, memo map[string]any) (Posted, error) {
	if err := positive(n); err != nil {
		return Posted{}, err
	}
	t, err := TreasuryID(ctx, tx)
	if err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: kind, Reference: ref, Actor: actor, Memo: memo, Entries: []Entry{
		{t, Available, -n}, {wallet, Available, n}}})
}

// Purchase credits n bought credits: treasury.available -n, user.available +n.
func Purchase(ctx context.Context, tx pgx.Tx, userWallet uuid.UUID, n Credits, purchaseID, actor string) (Posted, error) {
	return fromTreasury(ctx, tx, KindPurchase, userWallet, n, purchaseID, actor, nil)
}

// Voucher credits a redeemed voucher: treasury.available -n, wallet.available +n.
// The memo keeps the code's display prefix, never the code (bearer money).
func Voucher(ctx context.Context, tx pgx.Tx, wallet uuid.UUID, n Credits, redemptionID, actor string, codePrefix string) (Posted, error) {
	return fromTreasury(ctx, tx, KindVoucher, wallet, n, redemptionID, actor, map[string]any{"code_prefix": codePrefix})
}

// Adjust moves n (signed) between the treasury and a wallet's available
// bucket; the reason is kept on the journal. A wallet can't go negative.
func Adjust(ctx context.Context, tx pgx.Tx, wallet uuid.UUID, n Credits, ref, actor, reason string) (Posted, error) {
	if n == 0 || n > MaxCredits || n < -MaxCredits || reason == "" {
		return Posted{}, fmt.Errorf("%w: an adjustment needs a non-zero amount and a reason", ErrInvalidMovement)
	}
	t, err := TreasuryID(ctx, tx)
	if err != nil {
		return Posted{}, err
	}
	if t == wallet {
		return Posted{}, fmt.Errorf("%w: the treasury is adjusted only against a wallet", ErrInvalidMovement)
	}
	return Post(ctx, tx, Movement{Kind: KindAdjust, Reference: ref, Actor: actor, Memo: map[string]any{"reason": reason},
		Entries: []Entry{{t, Available, -n}, {wallet, Available, n}}})
}

// Chargeback takes back n credits of a refunded or disputed purchase (or
// collects a debt it left): user.available -n, treasury.available +n. Only
// what the wallet holds can be taken: more fails with ErrInsufficientFunds,
// since no user bucket may go negative.
func Chargeback(ctx context.Context, tx pgx.Tx, userWallet uuid.UUID, n Credits, ref, actor string, memo map[string]any) (Posted, error) {
	if err := positive(n); err != nil {
		return Posted{}, err
	}
	t, err := TreasuryID(ctx, tx)
	if err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: KindChargeback, Reference: ref, Actor: actor, Memo: memo, Entries: []Entry{
		{userWallet, Available, -n}, {t, Available, n}}})
}

// Reserve locks n of a user's credits: user.available -n, user.reserved +n.
func Reserve(ctx context.Context, tx pgx.Tx, userWallet uuid.UUID, n Credits, reservationRef, actor string) (Posted, error) {
	if err := positive(n); err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: KindReserve, Reference: reservationRef, Actor: actor, Entries: []Entry{
		{userWallet, Available, -n}, {userWallet, Reserved, n}}})
}

// Settle pays s of a reservation to the app: user.reserved -s, app.available +s.
// A sip and a final settle are both Settle, each with its own reference.
func Settle(ctx context.Context, tx pgx.Tx, userWallet, appWallet uuid.UUID, s Credits, settleRef, actor string) (Posted, error) {
	if err := positive(s); err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: KindSettle, Reference: settleRef, Actor: actor, Entries: []Entry{
		{userWallet, Reserved, -s}, {appWallet, Available, s}}})
}

// Refund returns r of a reservation to the user: user.reserved -r, user.available +r.
func Refund(ctx context.Context, tx pgx.Tx, userWallet uuid.UUID, r Credits, refundRef, actor string) (Posted, error) {
	if err := positive(r); err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: KindRefund, Reference: refundRef, Actor: actor, Entries: []Entry{
		{userWallet, Reserved, -r}, {userWallet, Available, r}}})
}

// HoldPayout holds n of an app wallet for a payout: app.available -n, app.reserved +n.
func HoldPayout(ctx context.Context, tx pgx.Tx, appWallet uuid.UUID, n Credits, payoutID, actor string) (Posted, error) {
	if err := positive(n); err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: KindPayoutHold, Reference: payoutID, Actor: actor, Entries: []Entry{
		{appWallet, Available, -n}, {appWallet, Reserved, n}}})
}

// BurnPayout retires held credits as the money leaves: app.reserved -n,
// treasury.available +n (the liability falls).
func BurnPayout(ctx context.Context, tx pgx.Tx, appWallet uuid.UUID, n Credits, payoutID, actor string) (Posted, error) {
	if err := positive(n); err != nil {
		return Posted{}, err
	}
	t, err := TreasuryID(ctx, tx)
	if err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: KindPayoutBurn, Reference: payoutID, Actor: actor, Entries: []Entry{
		{appWallet, Reserved, -n}, {t, Available, n}}})
}

// RestorePayout gives burned credits back after a failed payout:
// treasury.available -n, app.available +n.
func RestorePayout(ctx context.Context, tx pgx.Tx, appWallet uuid.UUID, n Credits, payoutID, actor string) (Posted, error) {
	if err := positive(n); err != nil {
		return Posted{}, err
	}
	t, err := TreasuryID(ctx, tx)
	if err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: KindPayoutRestore, Reference: payoutID, Actor: actor, Entries: []Entry{
		{t, Available, -n}, {appWallet, Available, n}}})
}

// ReleasePayout returns held credits of a payout rejected before its burn:
// app.reserved -n, app.available +n.
func ReleasePayout(ctx context.Context, tx pgx.Tx, appWallet uuid.UUID, n Credits, payoutID, actor string) (Posted, error) {
	if err := positive(n); err != nil {
		return Posted{}, err
	}
	return Post(ctx, tx, Movement{Kind: KindPayoutRelease, Reference: payoutID, Actor: actor, Entries: []Entry{
		{appWallet, Reserved, -n}, {appWallet, Available, n}}})
}

// ErrKeyReused is an idempotency key sent again for a different adjustment.
var ErrKeyReused = errors.New("this idempotency_key was used for a different adjustment")

// AdjustmentReference is the journal reference of an admin adjustment made
// with an idempotency key: the journal's unique (kind, reference) refuses a
// second posting, however many API processes race.
func AdjustmentReference(key string) string { return "adjust-key-" + key }

// PriorAdjustment is the transaction posted under ref, when it moved exactly
// n to wallet's available credits for reason; ErrKeyReused otherwise.
func PriorAdjustment(ctx context.Context, q dbgen.DBTX, ref string, wallet uuid.UUID, n Credits, reason string) (uuid.UUID, error) {
	qs := dbgen.New(q)
	t, err := qs.GetJournalTransactionByReference(ctx, dbgen.GetJournalTransactionByReferenceParams{Kind: string(KindAdjust), Reference: ref})
	if err != nil {
		return uuid.Nil, fmt.Errorf("adjustment %s: %w", ref, err)
	}
	entries, err := qs.ListJournalEntries(ctx, t.ID)
	if err != nil {
		return uuid.Nil, fmt.Errorf("entries of %s: %w", t.ID, err)
	}
	if memo(t.Memo)["reason"] != reason {
		return uuid.Nil, ErrKeyReused
	}
	for _, e := range entries {
		if e.WalletID == wallet && e.Bucket == string(Available) && Credits(e.Amount) == n {
			return t.ID, nil
		}
	}
	return uuid.Nil, ErrKeyReused
}
