// Package payouts runs vendor payouts: the request (credits held from an app
// wallet), approval or rejection, and the steps PayoutWorkflow drives: burn
// (held credits leave the books as the money leaves), then completed, or
// failed with the credits restored. Money moves only through the ledger; the
// calls to Stripe and Solana are activities.
package payouts

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/usdc"
	"github.com/officex/officex/ledger"
)

// Errors of payouts.
var (
	ErrInvalid          = errors.New("invalid payout")
	ErrNotFound         = errors.New("payout not found")
	ErrNotYourWallet    = errors.New("payouts come only from an app wallet you own")
	ErrDuplicate        = errors.New("idempotency_key was already used with a different request")
	ErrPreviousFailure  = errors.New("the payout with this idempotency_key failed; use a new key")
	ErrWrongState       = errors.New("the payout is not in a state that allows this")
	ErrUSDCNotAvailable = errors.New("USDC payouts are not configured on this server")
)

// Destination types.
const (
	TypeStripe = "stripe"
	TypeBank   = "bank"
	TypeUSDC   = "usdc_solana"
)

// Limits: fiat pays whole cents (1 credit = $0.01), USDC whole base units
// (1 base unit = 0.0001 credit); every payout is at least $1.
const (
	MinCredits           = 100
	MaxCredits           = 10_000_000
	MaxIdempotencyKeyLen = 255
)

var (
	stripeAccount = regexp.MustCompile(`^acct_[A-Za-z0-9]{16,32}$`)
	bankAccount   = regexp.MustCompile(`^ba_[A-Za-z0-9]{14,32}$`)
)

// Request asks for a payout. It names a registered destination
// (DestinationID), or gives one inline (Type, Account, ConnectedAccount),
// which is registered on first use.
type Request struct {
	WalletID         uuid.UUID
	DestinationID    uuid.UUID
	Amount           ledger.Credits
	Type             string
	Account          string
	ConnectedAccount string // bank: the Stripe account that owns the bank account
	IdempotencyKey   string
}

// Service runs payouts.
type Service struct {
	pool      *pgxpool.Pool
	usdcReady bool
	accounts  AccountChecker // nil: Stripe is not configured, no Stripe destination can be registered
}

// WithAccounts sets how Stripe connected accounts are checked when a
// destination is registered.
func (s *Service) WithAccounts(c AccountChecker) *Service {
	s.accounts = c
	return s
}

// New makes a Service; usdcReady says whether USDC payouts are configured.
func New(pool *pgxpool.Pool, usdcReady bool) *Service {
	return &Service{pool: pool, usdcReady: usdcReady}
}

// PayoutAmount converts credits to what the destination is paid in: cents
// for Stripe and bank, USDC base units on Solana.
func PayoutAmount(typ string, amount ledger.Credits) (int64, error) {
	if amount < MinCredits*ledger.Scale || amount > MaxCredits*ledger.Scale {
		return 0, fmt.Errorf("%w: amount must be %d-%d credits", ErrInvalid, MinCredits, MaxCredits)
	}
	if typ == TypeUSDC {
		units, err := usdc.BaseUnitsFromMicroCredits(int64(amount))
		if err != nil {
			return 0, fmt.Errorf("%w: USDC payouts are in steps of 0.0001 credit", ErrInvalid)
		}
		return int64(units), nil
	}
	if amount%ledger.Scale != 0 {
		return 0, fmt.Errorf("%w: %s payouts are in whole credits (1 credit = 1 cent)", ErrInvalid, typ)
	}
	return int64(amount / ledger.Scale), nil
}

func (s *Service) validate(r Request) error {
	switch r.Type {
	case TypeStripe:
		if !stripeAccount.MatchString(r.Account) {
			return fmt.Errorf("%w: a stripe destination is a connected account id (acct_...)", ErrInvalid)
		}
	case TypeBank:
		if !bankAccount.MatchString(r.Account) || !stripeAccount.MatchString(r.ConnectedAccount) {
			return fmt.Errorf("%w: a bank destination is a bank account id (ba_...) with its connected_account_id (acct_...)", ErrInvalid)
		}
	case TypeUSDC:
		if !s.usdcReady {
			return ErrUSDCNotAvailable
		}
		if err := usdc.ValidateAddress(r.Account); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	default:
		return fmt.Errorf("%w: destination.type must be stripe, bank or usdc_solana", ErrInvalid)
	}
	if r.Type != TypeBank && r.ConnectedAccount != "" {
		return fmt.Errorf("%w: connected_account_id is only for bank destinations", ErrInvalid)
	}
	if len(r.IdempotencyKey) > MaxIdempotencyKeyLen {
		return fmt.Errorf("%w: idempotency_key must be at most %d characters", ErrInvalid, MaxIdempotencyKeyLen)
	}
	return nil
}

func requestHash(r Request) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%s\x00%s\x00%s", r.WalletID, int64(r.Amount), r.Type, r.Account, r.ConnectedAccount))
	return h[:]
}

// Payout is a payout's state.
type Payout struct {
	ID, AppID, WalletID, RequestedBy uuid.UUID
	Amount                           ledger.Credits
	PayoutAmount                     int64
	Type, Account, ConnectedAccount  string
	Status                           string
	Approved                         bool
	BatchID                          *uuid.UUID
	ExternalRef, FailureReason       string
	SolanaSignature                  string
	StripeID                         string // tr_ or po_, stored by the step that created it
	DestinationID                    *uuid.UUID
	TransferID                       string // bank: the transfer to the connected account
	BankStatus                       string // bank: the first final status Stripe's webhook reported
	Alert                            string // an unresolved problem for an operator
	AlertAt                          *time.Time
	CreatedAt, UpdatedAt             time.Time
}

func from(p dbgen.Payout) Payout {
	out := Payout{ID: p.ID, AppID: p.AppID, WalletID: p.WalletID, RequestedBy: p.RequestedBy, Amount: ledger.Credits(p.Amount),
		PayoutAmount: p.PayoutAmount, Type: p.DestinationType, Account: p.DestinationAccount, Status: p.Status,
		Approved: p.ApprovedAt != nil, ExternalRef: deref(p.ExternalRef), FailureReason: deref(p.FailureReason),
		SolanaSignature: deref(p.SolanaSignature), ConnectedAccount: deref(p.ConnectedAccount),
		StripeID: deref(p.StripeID), Alert: deref(p.Alert), AlertAt: p.AlertAt,
		TransferID: deref(p.TransferID), BankStatus: deref(p.BankStatus),
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.BatchID.Valid {
		out.BatchID = &p.BatchID.UUID
	}
	if p.DestinationID.Valid {
		out.DestinationID = &p.DestinationID.UUID
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Request holds the credits and records the payout as pending. A replayed
// idempotency key answers the first payout. The destination is one the user
// registered; an inline one is registered first (a Stripe account checked
// with Stripe and tied to the user), before any transaction opens.
func (s *Service) Request(ctx context.Context, user uuid.UUID, r Request) (Payout, error) {
	if r.DestinationID != uuid.Nil {
		d, err := s.Destination(ctx, user, r.DestinationID)
		if err != nil {
			return Payout{}, err
		}
		r.Type, r.Account, r.ConnectedAccount = d.Type, d.Account, d.ConnectedAccount
	}
	if err := s.validate(r); err != nil {
		return Payout{}, err
	}
	amount, err := PayoutAmount(r.Type, r.Amount)
	if err != nil {
		return Payout{}, err
	}
	q := dbgen.New(s.pool)
	w, err := q.GetWallet(ctx, r.WalletID)
	if db.IsNotFound(err) {
		return Payout{}, ledger.ErrWalletNotFound
	}
	if err != nil {
		return Payout{}, err
	}
	if w.Kind != "app" || w.OwnerUserID.UUID != user {
		return Payout{}, ErrNotYourWallet
	}
	app, err := q.GetAppByWallet(ctx, r.WalletID)
	if err != nil {
		return Payout{}, fmt.Errorf("app of wallet %s: %w", r.WalletID, err)
	}
	key := r.IdempotencyKey
	if key == "" {
		key = "auto-" + uuid.NewString()
	}
	dest, _, err := s.RegisterDestination(ctx, user, r.Type, r.Account, r.ConnectedAccount)
	if err != nil {
		return Payout{}, err
	}
	var out Payout
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var connected *string
		if r.ConnectedAccount != "" {
			connected = &r.ConnectedAccount
		}
		row, err := dbgen.New(tx).InsertPayout(ctx, dbgen.InsertPayoutParams{ID: uuid.New(), AppID: app.ID, WalletID: r.WalletID,
			RequestedBy: user, Amount: int64(r.Amount), PayoutAmount: amount, DestinationType: r.Type,
			DestinationAccount: r.Account, ConnectedAccount: connected, IdempotencyKey: key, RequestHash: requestHash(r),
			DestinationID: uuid.NullUUID{UUID: dest.ID, Valid: true}})
		if err != nil {
			return err
		}
		if _, err := ledger.HoldPayout(ctx, tx, r.WalletID, r.Amount, row.ID.String(), "user:"+user.String()); err != nil {
			return err
		}
		out = from(dbgen.Payout(row))
		return nil
	})
	if db.IsUniqueViolation(err, "payouts_idempotency") {
		return s.replay(ctx, user, key, r)
	}
	return out, err
}

func (s *Service) replay(ctx context.Context, user uuid.UUID, key string, r Request) (Payout, error) {
	row, err := dbgen.New(s.pool).GetPayoutByKey(ctx, dbgen.GetPayoutByKeyParams{RequestedBy: user, IdempotencyKey: key})
	if err != nil {
		return Payout{}, err
	}
	switch {
	case string(row.RequestHash) != string(requestHash(r)):
		return Payout{}, ErrDuplicate
	case row.Status == "failed" || row.Status == "rejected":
		return Payout{}, ErrPreviousFailure
	}
	return from(row), nil
}

// Get reads a payout.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Payout, error) {
	row, err := dbgen.New(s.pool).GetPayout(ctx, id)
	if db.IsNotFound(err) {
		return Payout{}, ErrNotFound
	}
	if err != nil {
		return Payout{}, err
	}
	return from(row), nil
}

// Event is one step of a payout's history.
type Event struct {
	Status, Detail string
	At             time.Time
}

// History lists a payout's status changes.
func (s *Service) History(ctx context.Context, id uuid.UUID) ([]Event, error) {
	rows, err := dbgen.New(s.pool).ListPayoutEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]Event, len(rows))
	for i, e := range rows {
		out[i] = Event{Status: e.Status, Detail: e.Detail, At: e.CreatedAt}
	}
	return out, nil
}

// ListWallet lists a wallet's payouts, newest first.
func (s *Service) ListWallet(ctx context.Context, wallet uuid.UUID, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Payout, error) {
	rows, err := dbgen.New(s.pool).ListWalletPayouts(ctx, dbgen.ListWalletPayoutsParams{WalletID: wallet, RowLimit: int32(limit),
		AfterCreated: afterCreated, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}})
	if err != nil {
		return nil, err
	}
	return fromRows(rows), nil
}

func fromRows(rows []dbgen.Payout) []Payout {
	out := make([]Payout, len(rows))
	for i, r := range rows {
		out[i] = from(r)
	}
	return out
}

var periodPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// ValidPeriod checks a YYYY-MM period.
func ValidPeriod(p string) bool { return periodPattern.MatchString(p) }

// AdminList lists payouts, newest first, by status and batch period.
func (s *Service) AdminList(ctx context.Context, status, period string, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Payout, error) {
	p := dbgen.ListAllPayoutsParams{RowLimit: int32(limit), AfterCreated: afterCreated, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}}
	if status != "" {
		p.Status = &status
	}
	if period != "" {
		if !ValidPeriod(period) {
			return nil, fmt.Errorf("%w: period must be YYYY-MM", ErrInvalid)
		}
		p.Period = &period
	}
	rows, err := dbgen.New(s.pool).ListAllPayouts(ctx, p)
	if err != nil {
		return nil, err
	}
	return fromRows(rows), nil
}
