package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/vouchers"
	"github.com/officex/officex/ledger"
)

// payoutDollarsScale: at $0.01 per credit, 1 micro-credit is $0.00000001.
const payoutDollarsScale = 8

func (s *Server) adminListWallets(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	kind := r.URL.Query().Get("kind")
	if kind != "" && kind != "user" && kind != "app" && kind != "treasury" {
		return invalid("kind must be user, app or treasury")
	}
	p := ledger.Page{Limit: limit + 1}
	if cursor != nil {
		p.AfterCreated, p.AfterID = &cursor.Created, cursor.ID
	}
	wallets, err := ledger.ListWallets(r.Context(), s.pool, kind, p)
	if err != nil {
		return err
	}
	return writePage(w, "wallets", wallets, limit, noErr(adminWalletBody),
		func(wl ledger.Wallet) keysetCursor { return keysetCursor{Created: wl.CreatedAt, ID: wl.ID} })
}

func adminWalletBody(wl ledger.Wallet) map[string]any {
	body := walletBody(wl)
	if wl.OwnerUserID != uuid.Nil {
		body["owner_user_id"] = wl.OwnerUserID
	}
	return body
}

func (s *Server) adminGetWallet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", ledger.ErrWalletNotFound)
	if err != nil {
		return err
	}
	wl, err := ledger.GetWallet(r.Context(), s.pool, id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"wallet": adminWalletBody(wl)})
	return nil
}

// adminAdjust moves credits between the treasury and a wallet: {amount, reason}.
// The amount is signed; a wallet never goes negative.
// maxAdjustKeyLength bounds an adjustment's idempotency_key (the journal
// reference holds it).
const maxAdjustKeyLength = 100

func (s *Server) adminAdjust(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", ledger.ErrWalletNotFound)
	if err != nil {
		return err
	}
	var body struct {
		Amount         *ledger.SignedCredits `json:"amount"`
		Reason         string                `json:"reason"`
		IdempotencyKey *string               `json:"idempotency_key"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	reason := strings.TrimSpace(body.Reason)
	switch {
	case body.Amount == nil || *body.Amount == 0:
		return invalid("amount is required and must not be 0")
	case reason == "" || len(reason) > maxReasonLength:
		return invalid("reason is required (at most %d characters)", maxReasonLength)
	case body.IdempotencyKey != nil && (*body.IdempotencyKey == "" || len(*body.IdempotencyKey) > maxAdjustKeyLength):
		return invalid("idempotency_key: 1-%d characters", maxAdjustKeyLength)
	}
	txID, replayed, err := s.adjustOnce(r.Context(), id, ledger.Credits(*body.Amount), reason, body.IdempotencyKey)
	if err != nil {
		return err
	}
	wl, err := ledger.GetWallet(r.Context(), s.pool, id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"transaction_id": txID, "wallet_id": id, "available": wl.Available, "reserved": wl.Reserved,
		"replayed": replayed})
	return nil
}

// adjustOnce posts the adjustment; with a key, a repeat of the same request
// answers the first posting (replayed) and a different one 409.
func (s *Server) adjustOnce(ctx context.Context, wallet uuid.UUID, n ledger.Credits, reason string, key *string) (uuid.UUID, bool, error) {
	ref := "adjust-" + uuid.NewString()
	if key != nil {
		ref = ledger.AdjustmentReference(*key)
	}
	var posted ledger.Posted
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) (err error) {
		posted, err = ledger.Adjust(ctx, tx, wallet, n, ref, "admin", reason)
		return err
	})
	if key == nil || !errors.Is(err, ledger.ErrAlreadyPosted) {
		return posted.TransactionID, false, err
	}
	prior, err := ledger.PriorAdjustment(ctx, s.pool, ref, wallet, n, reason)
	if errors.Is(err, ledger.ErrKeyReused) {
		return uuid.Nil, false, &Error{Status: http.StatusConflict, Code: "DUPLICATE_REQUEST", Message: err.Error()}
	}
	return prior, err == nil, err
}

// usd formats micro-credits at the $0.01-per-credit payout rate, exactly.
func usd(c ledger.Credits) string {
	neg := c < 0
	if neg {
		c = -c
	}
	s := strconv.FormatInt(int64(c), 10)
	for len(s) <= payoutDollarsScale {
		s = "0" + s
	}
	whole, frac := s[:len(s)-payoutDollarsScale], strings.TrimRight(s[len(s)-payoutDollarsScale:], "0")
	if frac != "" {
		whole += "." + frac
	}
	if neg {
		whole = "-" + whole
	}
	return whole
}

func (s *Server) adminTreasury(w http.ResponseWriter, r *http.Request) error {
	t, err := ledger.GetTreasuryReport(r.Context(), s.pool)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"treasury": map[string]any{
		"liability": t.Liability, "liability_usd": usd(t.Liability),
		"credits_bought": t.CreditsBought, "credits_from_vouchers": t.CreditsFromVouchers,
		"credits_adjusted": t.CreditsAdjusted, "credits_paid_out": t.CreditsPaidOut,
		"payouts_held": t.PayoutsHeld, "reserved": t.Reserved,
		"user_available": t.UserAvailable, "app_available": t.AppAvailable,
	}})
	return nil
}

func (s *Server) adminReconcile(w http.ResponseWriter, r *http.Request) error {
	rep, err := ledger.CheckInvariants(r.Context(), s.pool)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"report": rep})
	return nil
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	p := dbgen.ListAuditEventsParams{RowLimit: int32(limit + 1)}
	if cursor != nil {
		p.AfterCreated, p.AfterID = &cursor.Created, &cursor.Key
	}
	rows, err := dbgen.New(s.pool).ListAuditEvents(r.Context(), p)
	if err != nil {
		return err
	}
	return writePage(w, "events", rows, limit, noErr(func(e dbgen.ListAuditEventsRow) map[string]any {
		return map[string]any{"event_id": e.EventID, "actor": e.Actor, "action": e.Action, "target_type": e.TargetType,
			"target_id": e.TargetID, "details": json.RawMessage(e.Details), "created_at": e.CreatedAt}
	}), func(e dbgen.ListAuditEventsRow) keysetCursor {
		return keysetCursor{Created: e.CreatedAt, Key: e.EventID}
	})
}

type voucherBody struct {
	Code           string          `json:"code"`
	Amount         *ledger.Credits `json:"amount"`
	MaxRedemptions *int            `json:"max_redemptions"`
	ExpiresAt      *time.Time      `json:"expires_at"`
}

func (s *Server) adminCreateVoucher(w http.ResponseWriter, r *http.Request) error {
	var body voucherBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Amount == nil {
		return invalid("amount is required")
	}
	p := vouchers.CreateParams{Code: body.Code, Amount: *body.Amount, ExpiresAt: body.ExpiresAt}
	if body.MaxRedemptions != nil {
		if *body.MaxRedemptions < 1 {
			return invalid("max_redemptions must be at least 1")
		}
		p.MaxRedemptions = *body.MaxRedemptions
	}
	v, err := s.vouchers.Create(r.Context(), "admin", p)
	if err != nil {
		return err
	}
	okStatus(w, http.StatusCreated, map[string]any{"voucher": adminVoucherBody(v)})
	return nil
}

func (s *Server) adminListVouchers(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	var after *time.Time
	var afterID uuid.UUID
	if cursor != nil {
		after, afterID = &cursor.Created, cursor.ID
	}
	vs, err := s.vouchers.List(r.Context(), limit+1, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "vouchers", vs, limit, noErr(adminVoucherBody),
		func(v vouchers.Voucher) keysetCursor { return keysetCursor{Created: v.CreatedAt, ID: v.ID} })
}

// adminGetVoucher: {code} is the voucher's id or its full code.
func (s *Server) adminGetVoucher(w http.ResponseWriter, r *http.Request) error {
	v, err := s.vouchers.AdminGet(r.Context(), mux.Vars(r)["code"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"voucher": adminVoucherBody(v)})
	return nil
}

// adminPatchVoucher: {max_redemptions?, expires_at? (null clears), disabled?}.
func (s *Server) adminPatchVoucher(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		MaxRedemptions *int            `json:"max_redemptions"`
		ExpiresAt      json.RawMessage `json:"expires_at"`
		Disabled       *bool           `json:"disabled"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	p := vouchers.UpdateParams{MaxRedemptions: body.MaxRedemptions, Disabled: body.Disabled}
	switch {
	case string(body.ExpiresAt) == "null":
		p.ClearExpiry = true
	case body.ExpiresAt != nil:
		var t time.Time
		if err := json.Unmarshal(body.ExpiresAt, &t); err != nil {
			return invalid("expires_at must be an RFC 3339 time or null")
		}
		p.ExpiresAt = &t
	}
	v, err := s.vouchers.Update(r.Context(), "admin", mux.Vars(r)["code"], p)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"voucher": adminVoucherBody(v)})
	return nil
}

func (s *Server) adminDeleteVoucher(w http.ResponseWriter, r *http.Request) error {
	v, err := s.vouchers.Disable(r.Context(), "admin", mux.Vars(r)["code"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"voucher": adminVoucherBody(v)})
	return nil
}
