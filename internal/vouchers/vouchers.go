// Package vouchers owns voucher codes: creating them (admin), showing them
// (public, without who redeemed them) and redeeming them into a wallet, which
// credits it through the ledger in the same transaction. A code is bearer
// money: it is stored only as an HMAC under a key derived from
// OFFICEX_ENCRYPTION_KEY, beside a short display prefix, and shown in full
// once, in the answer that creates it.
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
	"github.com/officex/officex/internal/auth"
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
	// MaxDisplayPrefix is the most of a code kept in clear (and never more
	// than half of it): "OFX-7KQ2…".
	MaxDisplayPrefix = 8
	// sealBatch is how many clear codes of earlier versions SealLegacyCodes
	// seals per query.
	sealBatch = 100
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

// Voucher is a voucher's state. Code is the full code only where the caller
// gave it or it was just created; otherwise it is the display prefix.
type Voucher struct {
	ID             uuid.UUID
	Code           string
	Prefix         string
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
	return Voucher{ID: v.ID, Code: v.CodePrefix, Prefix: v.CodePrefix, Amount: ledger.Credits(v.Amount), MaxRedemptions: int(v.MaxRedemptions),
		Redemptions: int(v.Redemptions), ExpiresAt: v.ExpiresAt, Disabled: v.DisabledAt != nil, CreatedAt: v.CreatedAt}
}

// withCode is from(v) for a caller who gave the full code.
func withCode(v dbgen.Voucher, code string) Voucher {
	out := from(v)
	out.Code = code
	return out
}

// DisplayPrefix is the part of code shown after creation: at most
// MaxDisplayPrefix characters and at most half of the code, then "…".
func DisplayPrefix(code string) string {
	return code[:min(MaxDisplayPrefix, len(code)/2)] + "…"
}

// Service runs voucher operations.
type Service struct {
	pool *pgxpool.Pool
	key  []byte // HMAC key of codes
}

// New makes a Service whose codes are MACed under a key derived from
// encryptionKey (OFFICEX_ENCRYPTION_KEY) with auth.VoucherKeyLabel.
func New(pool *pgxpool.Pool, encryptionKey []byte) *Service {
	return &Service{pool: pool, key: auth.DeriveKey(encryptionKey, auth.VoucherKeyLabel)}
}

func (s *Service) hash(code string) []byte { return auth.MAC(s.key, code) }

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
		if _, err := uuid.Parse(code); err == nil {
			return Voucher{}, fmt.Errorf("%w: a code can't have the form of a voucher id", ErrInvalid)
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
		v, err := q.InsertVoucher(ctx, dbgen.InsertVoucherParams{CodeHash: s.hash(code), CodePrefix: DisplayPrefix(code),
			Amount: int64(p.Amount), MaxRedemptions: int32(p.MaxRedemptions), ExpiresAt: p.ExpiresAt})
		if db.IsUniqueViolation(err, "") {
			return ErrExists
		}
		if err != nil {
			return fmt.Errorf("insert voucher: %w", err)
		}
		out = withCode(v, code) // the one answer that shows the code
		return audit(ctx, q, actor, "voucher.create", v.ID, map[string]any{"code_prefix": v.CodePrefix,
			"amount": out.Amount, "max_redemptions": p.MaxRedemptions})
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

// Get reads a voucher by its code.
func (s *Service) Get(ctx context.Context, rawCode string) (Voucher, error) {
	code, err := NormalizeCode(rawCode)
	if err != nil {
		return Voucher{}, ErrNotFound
	}
	v, err := s.byCode(ctx, dbgen.New(s.pool), code)
	if err != nil {
		return Voucher{}, err
	}
	return withCode(v, code), nil
}

// AdminGet reads a voucher by its id or its code (admins see only the
// display prefix after creation, so they address vouchers by id).
func (s *Service) AdminGet(ctx context.Context, ref string) (Voucher, error) {
	v, err := s.byRef(ctx, dbgen.New(s.pool), ref)
	if err != nil {
		return Voucher{}, err
	}
	return from(v), nil
}

func (s *Service) byCode(ctx context.Context, q *dbgen.Queries, code string) (dbgen.Voucher, error) {
	v, err := q.GetVoucherByHash(ctx, s.hash(code))
	if db.IsNotFound(err) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("get voucher: %w", err)
	}
	return v, nil
}

// byRef finds a voucher by id, else by code.
func (s *Service) byRef(ctx context.Context, q *dbgen.Queries, ref string) (dbgen.Voucher, error) {
	if id, err := uuid.Parse(ref); err == nil {
		v, err := q.GetVoucherByID(ctx, id)
		if db.IsNotFound(err) {
			return v, ErrNotFound
		}
		if err != nil {
			return v, fmt.Errorf("get voucher %s: %w", id, err)
		}
		return v, nil
	}
	code, err := NormalizeCode(ref)
	if err != nil {
		return dbgen.Voucher{}, ErrNotFound
	}
	return s.byCode(ctx, q, code)
}

// List lists vouchers newest first; afterID with afterCreated is the cursor.
func (s *Service) List(ctx context.Context, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Voucher, error) {
	p := dbgen.ListVouchersParams{RowLimit: int32(limit), AfterCreated: afterCreated}
	if afterCreated != nil {
		p.AfterID = uuid.NullUUID{UUID: afterID, Valid: true}
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

// Update changes a voucher (admin; ref is its id or code) and records it in
// the audit log.
func (s *Service) Update(ctx context.Context, actor, ref string, p UpdateParams) (Voucher, error) {
	params := dbgen.UpdateVoucherParams{Disabled: p.Disabled, SetExpires: p.ExpiresAt != nil || p.ClearExpiry, ExpiresAt: p.ExpiresAt}
	if p.MaxRedemptions != nil {
		if *p.MaxRedemptions < 1 || *p.MaxRedemptions > MaxRedemptionsCap {
			return Voucher{}, fmt.Errorf("%w: max_redemptions must be 1-%d", ErrInvalid, MaxRedemptionsCap)
		}
		n := int32(*p.MaxRedemptions)
		params.MaxRedemptions = &n
	}
	var out Voucher
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		cur, err := s.byRef(ctx, q, ref)
		if err != nil {
			return err
		}
		params.ID = cur.ID
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
		return audit(ctx, q, actor, "voucher.update", v.ID, map[string]any{"max_redemptions": p.MaxRedemptions,
			"expires_at": p.ExpiresAt, "clear_expiry": p.ClearExpiry, "disabled": p.Disabled})
	})
	return out, err
}

// Disable stops a voucher for good; its redemptions stay in the history.
func (s *Service) Disable(ctx context.Context, actor, ref string) (Voucher, error) {
	t := true
	return s.Update(ctx, actor, ref, UpdateParams{Disabled: &t})
}

// Redemption is one redeemed voucher; Code is the full code in Redeem's
// answer and the display prefix in the history.
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
		v, err := s.byCode(ctx, q, code)
		if err != nil {
			return err
		}
		amount, err := q.ClaimVoucherRedemption(ctx, v.ID)
		if db.IsNotFound(err) {
			return ErrNotRedeemable
		}
		if err != nil {
			return fmt.Errorf("claim voucher: %w", err)
		}
		red.Amount = ledger.Credits(amount)
		posted, err := ledger.Voucher(ctx, tx, wallet, red.Amount, red.ID.String(), "user:"+userID.String(), v.CodePrefix)
		if err != nil {
			return err
		}
		red.TransactionID = posted.TransactionID
		balance = ledger.Credits(posted.Wallets[wallet].Available)
		err = q.InsertVoucherRedemption(ctx, dbgen.InsertVoucherRedemptionParams{ID: red.ID, VoucherID: v.ID, WalletID: wallet,
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
		out[i] = Redemption{ID: r.ID, Code: r.CodePrefix, WalletID: r.WalletID, Amount: ledger.Credits(r.Amount),
			TransactionID: r.JournalTransactionID, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// SealLegacyCodes replaces the clear code of vouchers made by earlier
// versions with its HMAC and display prefix (migration 00015 can't: the
// database does not hold the key). It is idempotent; officex migrate and
// serve run it.
func (s *Service) SealLegacyCodes(ctx context.Context) (int, error) {
	q, sealed := dbgen.New(s.pool), 0
	for {
		rows, err := q.ListUnsealedVouchers(ctx, sealBatch)
		if err != nil || len(rows) == 0 {
			return sealed, err
		}
		for _, r := range rows {
			if err := q.SealVoucher(ctx, dbgen.SealVoucherParams{ID: r.ID, CodeHash: s.hash(*r.Code),
				CodePrefix: DisplayPrefix(*r.Code)}); err != nil {
				return sealed, fmt.Errorf("seal voucher %s: %w", r.ID, err)
			}
			sealed++
		}
	}
}

func audit(ctx context.Context, q *dbgen.Queries, actor, action string, id uuid.UUID, details map[string]any) error {
	raw, _ := json.Marshal(details)
	return q.InsertAudit(ctx, dbgen.InsertAuditParams{Actor: actor, Action: action, TargetType: "voucher", TargetID: id.String(), Details: raw})
}
