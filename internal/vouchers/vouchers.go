// Package vouchers owns voucher codes: creating them (admin), showing them
// (public, without who redeemed them) and redeeming them into a wallet, which
// credits it through the ledger in the same transaction.
package vouchers

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/ledger"
)

// Errors of voucher operations.
var (
	ErrNotFound        = errors.New("voucher not found")
	ErrNotRedeemable   = errors.New("voucher can no longer be redeemed (expired, disabled or used up)")
	ErrAlreadyRedeemed = errors.New("this wallet has already redeemed this voucher")
	ErrExists          = errors.New("a voucher with this code already exists")
	ErrInvalid         = errors.New("invalid voucher")
)

// Limits of vouchers.
const (
	MaxAmount         = 1_000_000 * ledger.Scale // credits per redemption
	MaxRedemptionsCap = 1_000_000
	generatedCodeLen  = 12
)

var codePattern = regexp.MustCompile(`^[A-Z0-9_-]{4,64}$`)

// NormalizeCode upper-cases a code and checks its form: codes are
// case-insensitive for the people who type them.
func NormalizeCode(raw string) (string, error) {
	code := strings.ToUpper(strings.TrimSpace(raw))
	if !codePattern.MatchString(code) {
		return "", fmt.Errorf("%w: code must be 4-64 letters, digits, '-' or '_'", ErrInvalid)
	}
	return code, nil
}

// Voucher is a voucher's state.
type Voucher struct {
	Code           string
	Amount         ledger.Credits
	MaxRedemptions int
	Redemptions    int
	ExpiresAt      *time.Time
	Disabled       bool
	CreatedAt      time.Time
}

// Redeemable says whether a redemption can still succeed (some wallet may
// still be refused for having redeemed it already).
func (v Voucher) Redeemable(now time.Time) bool {
	return !v.Disabled && v.Redemptions < v.MaxRedemptions && (v.ExpiresAt == nil || v.ExpiresAt.After(now))
}

func from(v dbgen.Voucher) Voucher {
	return Voucher{Code: v.Code, Amount: ledger.Credits(v.Amount), MaxRedemptions: int(v.MaxRedemptions),
		Redemptions: int(v.Redemptions), ExpiresAt: v.ExpiresAt, Disabled: v.DisabledAt != nil, CreatedAt: v.CreatedAt}
}

// Service runs voucher operations.
type Service struct{ pool *pgxpool.Pool }

// New makes a Service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// CreateParams is an admin's new voucher; Code is generated when empty.
type CreateParams struct {
	Code           string
	Amount         ledger.Credits
	MaxRedemptions int // 0: 1
	ExpiresAt      *time.Time
}

// Create makes a voucher and records it in the audit log.
func (s *Service) Create(ctx context.Context, actor string, p CreateParams) (Voucher, error) {
	code := p.Code
	if code == "" {
		code = generateCode()
	} else {
		var err error
		if code, err = NormalizeCode(code); err != nil {
			return Voucher{}, err
		}
	}
	if p.MaxRedemptions == 0 {
		p.MaxRedemptions = 1
	}
	switch {
	case p.Amount <= 0 || p.Amount > MaxAmount:
		return Voucher{}, fmt.Errorf("%w: amount must be more than 0 and at most %s credits", ErrInvalid, ledger.Credits(MaxAmount))
	case p.MaxRedemptions < 1 || p.MaxRedemptions > MaxRedemptionsCap:
		return Voucher{}, fmt.Errorf("%w: max_redemptions must be 1-%d", ErrInvalid, MaxRedemptionsCap)
	case p.ExpiresAt != nil && !p.ExpiresAt.After(time.Now()):
		return Voucher{}, fmt.Errorf("%w: expires_at must be in the future", ErrInvalid)
	}
	var out Voucher
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		v, err := q.InsertVoucher(ctx, dbgen.InsertVoucherParams{Code: code, Amount: int64(p.Amount),
			MaxRedemptions: int32(p.MaxRedemptions), ExpiresAt: p.ExpiresAt})
		if db.IsUniqueViolation(err, "") {
			return ErrExists
		}
		if err != nil {
			return fmt.Errorf("insert voucher: %w", err)
		}
		out = from(v)
		return audit(ctx, q, actor, "voucher.create", code, map[string]any{"amount": out.Amount, "max_redemptions": p.MaxRedemptions})
	})
	return out, err
}

// generateCode makes an unambiguous code (no 0/O or 1/I).
func generateCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, generatedCodeLen)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "OFX-" + string(b)
}

// Get reads a voucher.
func (s *Service) Get(ctx context.Context, rawCode string) (Voucher, error) {
	code, err := NormalizeCode(rawCode)
	if err != nil {
		return Voucher{}, ErrNotFound
	}
	v, err := dbgen.New(s.pool).GetVoucher(ctx, code)
	if db.IsNotFound(err) {
		return Voucher{}, ErrNotFound
	}
	if err != nil {
		return Voucher{}, fmt.Errorf("get voucher: %w", err)
	}
	return from(v), nil
}

// List lists vouchers newest first; afterCode with afterCreated is the cursor.
func (s *Service) List(ctx context.Context, limit int, afterCreated *time.Time, afterCode string) ([]Voucher, error) {
	p := dbgen.ListVouchersParams{RowLimit: int32(limit), AfterCreated: afterCreated}
	if afterCreated != nil {
		p.AfterCode = &afterCode
	}
	rows, err := dbgen.New(s.pool).ListVouchers(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list vouchers: %w", err)
	}
	out := make([]Voucher, len(rows))
	for i, v := range rows {
		out[i] = from(v)
	}
	return out, nil
}

// UpdateParams changes a voucher; nil fields stay. ClearExpiry removes the expiry.
type UpdateParams struct {
	MaxRedemptions *int
	ExpiresAt      *time.Time
	ClearExpiry    bool
	Disabled       *bool
}

// Update changes a voucher (admin) and records it in the audit log.
func (s *Service) Update(ctx context.Context, actor, rawCode string, p UpdateParams) (Voucher, error) {
	code, err := NormalizeCode(rawCode)
	if err != nil {
		return Voucher{}, ErrNotFound
	}
	params := dbgen.UpdateVoucherParams{Code: code, Disabled: p.Disabled, SetExpires: p.ExpiresAt != nil || p.ClearExpiry, ExpiresAt: p.ExpiresAt}
	if p.MaxRedemptions != nil {
		if *p.MaxRedemptions < 1 || *p.MaxRedemptions > MaxRedemptionsCap {
			return Voucher{}, fmt.Errorf("%w: max_redemptions must be 1-%d", ErrInvalid, MaxRedemptionsCap)
		}
		n := int32(*p.MaxRedemptions)
		params.MaxRedemptions = &n
	}
	var out Voucher
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		v, err := q.UpdateVoucher(ctx, params)
		if db.IsNotFound(err) {
			return ErrNotFound
		}
		if db.IsCheckViolation(err) {
			return fmt.Errorf("%w: max_redemptions is below the redemptions already made", ErrInvalid)
		}
		if err != nil {
			return fmt.Errorf("update voucher: %w", err)
		}
		out = from(v)
		return audit(ctx, q, actor, "voucher.update", code, map[string]any{"max_redemptions": p.MaxRedemptions,
			"expires_at": p.ExpiresAt, "clear_expiry": p.ClearExpiry, "disabled": p.Disabled})
	})
	return out, err
}

// Disable stops a voucher for good; its redemptions stay in the history.
func (s *Service) Disable(ctx context.Context, actor, rawCode string) (Voucher, error) {
	t := true
	return s.Update(ctx, actor, rawCode, UpdateParams{Disabled: &t})
}

// Redemption is one redeemed voucher.
type Redemption struct {
	ID            uuid.UUID
	Code          string
	WalletID      uuid.UUID
	Amount        ledger.Credits
	TransactionID uuid.UUID
	CreatedAt     time.Time
}

// Redeem credits a voucher to wallet (the caller's own user wallet, checked by
// the caller), once per wallet, in one transaction with its ledger movement.
func (s *Service) Redeem(ctx context.Context, userID, wallet uuid.UUID, rawCode string) (Redemption, ledger.Credits, error) {
	code, err := NormalizeCode(rawCode)
	if err != nil {
		return Redemption{}, 0, ErrNotFound
	}
	red := Redemption{ID: uuid.New(), Code: code, WalletID: wallet}
	var balance ledger.Credits
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		amount, err := q.ClaimVoucherRedemption(ctx, code)
		if db.IsNotFound(err) {
			if _, getErr := q.GetVoucher(ctx, code); db.IsNotFound(getErr) {
				return ErrNotFound
			}
			return ErrNotRedeemable
		}
		if err != nil {
			return fmt.Errorf("claim voucher: %w", err)
		}
		red.Amount = ledger.Credits(amount)
		posted, err := ledger.Voucher(ctx, tx, wallet, red.Amount, red.ID.String(), "user:"+userID.String(), code)
		if err != nil {
			return err
		}
		red.TransactionID = posted.TransactionID
		balance = ledger.Credits(posted.Wallets[wallet].Available)
		err = q.InsertVoucherRedemption(ctx, dbgen.InsertVoucherRedemptionParams{ID: red.ID, Code: code, WalletID: wallet,
			UserID: userID, Amount: amount, JournalTransactionID: posted.TransactionID})
		if db.IsUniqueViolation(err, "voucher_redemptions_once_per_wallet") {
			return ErrAlreadyRedeemed // the whole transaction, credit included, rolls back
		}
		return err
	})
	return red, balance, err
}

// UserRedemptions lists what a user redeemed, newest first.
func (s *Service) UserRedemptions(ctx context.Context, userID uuid.UUID, limit int) ([]Redemption, error) {
	rows, err := dbgen.New(s.pool).ListUserVoucherRedemptions(ctx, dbgen.ListUserVoucherRedemptionsParams{UserID: userID, RowLimit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list redemptions: %w", err)
	}
	out := make([]Redemption, len(rows))
	for i, r := range rows {
		out[i] = Redemption{ID: r.ID, Code: r.Code, WalletID: r.WalletID, Amount: ledger.Credits(r.Amount),
			TransactionID: r.JournalTransactionID, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

func audit(ctx context.Context, q *dbgen.Queries, actor, action, code string, details map[string]any) error {
	raw, _ := json.Marshal(details)
	return q.InsertAudit(ctx, dbgen.InsertAuditParams{Actor: actor, Action: action, TargetType: "voucher", TargetID: code, Details: raw})
}
