package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// Wallet is a wallet's balances.
type Wallet struct {
	ID          uuid.UUID
	Kind        string // treasury, user, app
	OwnerUserID uuid.UUID
	Available   Credits
	Reserved    Credits
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func walletFrom(w dbgen.WalletBalance) Wallet {
	return Wallet{ID: w.ID, Kind: w.Kind, OwnerUserID: w.OwnerUserID.UUID, Available: Credits(w.Available),
		Reserved: Credits(w.Reserved), CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// GetWallet reads one wallet.
func GetWallet(ctx context.Context, q dbgen.DBTX, id uuid.UUID) (Wallet, error) {
	w, err := dbgen.New(q).GetWallet(ctx, id)
	if db.IsNotFound(err) {
		return Wallet{}, ErrWalletNotFound
	}
	if err != nil {
		return Wallet{}, fmt.Errorf("get wallet %s: %w", id, err)
	}
	return walletFrom(w), nil
}

// UserWallet reads a user's own wallet.
func UserWallet(ctx context.Context, q dbgen.DBTX, userID uuid.UUID) (Wallet, error) {
	w, err := dbgen.New(q).GetUserWallet(ctx, userID)
	if db.IsNotFound(err) {
		return Wallet{}, ErrWalletNotFound
	}
	if err != nil {
		return Wallet{}, fmt.Errorf("wallet of user %s: %w", userID, err)
	}
	return walletFrom(w), nil
}

// Page selects a keyset page, newest first.
type Page struct {
	Limit        int
	AfterCreated *time.Time
	AfterID      uuid.UUID
}

// ListWallets lists wallets, newest first, optionally of one kind.
func ListWallets(ctx context.Context, q dbgen.DBTX, kind string, p Page) ([]Wallet, error) {
	params := dbgen.ListWalletsParams{RowLimit: int32(p.Limit), AfterCreated: p.AfterCreated,
		AfterID: uuid.NullUUID{UUID: p.AfterID, Valid: p.AfterCreated != nil}}
	if kind != "" {
		params.Kind = &kind
	}
	rows, err := dbgen.New(q).ListWallets(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list wallets: %w", err)
	}
	out := make([]Wallet, len(rows))
	for i, w := range rows {
		out[i] = walletFrom(w)
	}
	return out, nil
}

// Transaction is one journal transaction as seen from one wallet.
type Transaction struct {
	ID              uuid.UUID
	Kind            string
	Reference       string
	Actor           string
	Memo            map[string]any
	AvailableChange Credits
	ReservedChange  Credits
	CreatedAt       time.Time
	Entries         []EntryView // filled by GetTransaction only
}

// EntryView is a journal entry for display.
type EntryView struct {
	WalletID uuid.UUID `json:"wallet_id"`
	Bucket   string    `json:"bucket"`
	Amount   Credits   `json:"amount"`
}

// ListTransactions lists a wallet's movements, newest first.
func ListTransactions(ctx context.Context, q dbgen.DBTX, wallet uuid.UUID, p Page) ([]Transaction, error) {
	rows, err := dbgen.New(q).ListWalletTransactions(ctx, dbgen.ListWalletTransactionsParams{
		WalletID: wallet, RowLimit: int32(p.Limit), AfterCreated: p.AfterCreated,
		AfterID: uuid.NullUUID{UUID: p.AfterID, Valid: p.AfterCreated != nil}})
	if err != nil {
		return nil, fmt.Errorf("list transactions of %s: %w", wallet, err)
	}
	out := make([]Transaction, len(rows))
	for i, r := range rows {
		out[i] = Transaction{ID: r.ID, Kind: r.Kind, Reference: r.Reference, Actor: r.Actor, Memo: memo(r.Memo),
			AvailableChange: Credits(r.AvailableChange), ReservedChange: Credits(r.ReservedChange), CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// ErrTransactionNotFound is a journal transaction that does not exist or does
// not touch the wallet asked about.
var ErrTransactionNotFound = fmt.Errorf("transaction not found")

// GetTransaction reads one journal transaction that touches wallet, with its entries.
func GetTransaction(ctx context.Context, q dbgen.DBTX, wallet, id uuid.UUID) (Transaction, error) {
	qs := dbgen.New(q)
	t, err := qs.GetJournalTransaction(ctx, id)
	if db.IsNotFound(err) {
		return Transaction{}, ErrTransactionNotFound
	}
	if err != nil {
		return Transaction{}, fmt.Errorf("get transaction %s: %w", id, err)
	}
	entries, err := qs.ListJournalEntries(ctx, id)
	if err != nil {
		return Transaction{}, fmt.Errorf("entries of %s: %w", id, err)
	}
	out := Transaction{ID: t.ID, Kind: t.Kind, Reference: t.Reference, Actor: t.Actor, Memo: memo(t.Memo), CreatedAt: t.CreatedAt}
	touches := false
	for _, e := range entries {
		out.Entries = append(out.Entries, EntryView{WalletID: e.WalletID, Bucket: e.Bucket, Amount: Credits(e.Amount)})
		if e.WalletID == wallet {
			touches = true
			if e.Bucket == string(Available) {
				out.AvailableChange += Credits(e.Amount)
			} else {
				out.ReservedChange += Credits(e.Amount)
			}
		}
	}
	if !touches {
		return Transaction{}, ErrTransactionNotFound
	}
	return out, nil
}

func memo(raw []byte) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(raw, &m)
	return m
}

// TreasuryReport summarises the treasury (all amounts in credits).
type TreasuryReport struct {
	Liability           Credits // what the treasury owes: minus its balance
	CreditsBought       Credits
	CreditsFromVouchers Credits
	CreditsAdjusted     Credits
	CreditsPaidOut      Credits
	PayoutsHeld         Credits
	Reserved            Credits
	UserAvailable       Credits
	AppAvailable        Credits
}

// GetTreasuryReport reads the treasury's totals.
func GetTreasuryReport(ctx context.Context, q dbgen.DBTX) (TreasuryReport, error) {
	r, err := dbgen.New(q).GetTreasuryReport(ctx)
	if err != nil {
		return TreasuryReport{}, fmt.Errorf("treasury report: %w", err)
	}
	return TreasuryReport{Liability: -Credits(r.TreasuryAvailable), CreditsBought: Credits(r.CreditsBought),
		CreditsFromVouchers: Credits(r.CreditsFromVouchers), CreditsAdjusted: Credits(r.CreditsAdjusted),
		CreditsPaidOut: Credits(r.CreditsPaidOut), PayoutsHeld: Credits(r.PayoutsHeld), Reserved: Credits(r.Reserved),
		UserAvailable: Credits(r.UserAvailable), AppAvailable: Credits(r.AppAvailable)}, nil
}

// MaxTreasuryMonths bounds the treasury history one read returns.
const MaxTreasuryMonths = 36

// TreasuryMonth is one UTC month of the treasury: the liability at its end
// and the credits paid out in it (payout burns less restores).
type TreasuryMonth struct {
	Month     string // YYYY-MM
	Liability Credits
	PaidOut   Credits
}

// TreasuryHistory is the last months (at most MaxTreasuryMonths) up to
// now's, oldest first, every month present. The liability is walked back
// from the current one through each month's movements, so it needs no
// journal older than the window.
func TreasuryHistory(ctx context.Context, q dbgen.DBTX, now time.Time, months int) ([]TreasuryMonth, error) {
	months = min(max(months, 1), MaxTreasuryMonths)
	first := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1-months, 0)
	rows, err := dbgen.New(q).ListTreasuryMonths(ctx, first)
	if err != nil {
		return nil, fmt.Errorf("treasury months: %w", err)
	}
	report, err := GetTreasuryReport(ctx, q)
	if err != nil {
		return nil, err
	}
	byMonth := map[string]dbgen.ListTreasuryMonthsRow{}
	for _, r := range rows {
		byMonth[r.Month] = r
	}
	out := make([]TreasuryMonth, months)
	liability := report.Liability
	for i := months - 1; i >= 0; i-- {
		m := first.AddDate(0, i, 0).Format("2006-01")
		out[i] = TreasuryMonth{Month: m, Liability: liability, PaidOut: Credits(byMonth[m].PaidOut)}
		liability -= Credits(byMonth[m].LiabilityChange)
	}
	return out, nil
}
