package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/vouchers"
	"github.com/officex/officex/ledger"
)

// publicVoucherBody never says who redeemed a voucher.
func publicVoucherBody(v vouchers.Voucher) map[string]any {
	return map[string]any{"code": v.Code, "amount": v.Amount, "redeemable": v.Redeemable(time.Now()), "expires_at": v.ExpiresAt}
}

// adminVoucherBody: code is the full code only in the answer that creates the
// voucher; afterwards admins see its display prefix and address it by id.
func adminVoucherBody(v vouchers.Voucher) map[string]any {
	body := publicVoucherBody(v)
	body["id"], body["code_prefix"] = v.ID, v.Prefix
	body["max_redemptions"], body["redemptions"], body["disabled"], body["created_at"] = v.MaxRedemptions, v.Redemptions, v.Disabled, v.CreatedAt
	return body
}

func (s *Server) getVoucher(w http.ResponseWriter, r *http.Request) error {
	v, err := s.vouchers.Get(r.Context(), mux.Vars(r)["code"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"voucher": publicVoucherBody(v)})
	return nil
}

// errEmailNotVerified refuses a voucher to an account whose email was never
// proven with a code (issue 11 item 7).
var errEmailNotVerified = &Error{Status: http.StatusForbidden, Code: "FORBIDDEN",
	Message: "verify your email address before redeeming a voucher: sign in with a code sent to it (POST /auth/login {email}, then POST /auth/verify-otp)"}

// redeemVoucher credits a voucher to the caller's own wallet: {wallet_id}.
func (s *Server) redeemVoucher(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		WalletID string `json:"wallet_id"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	wallet, err := uuid.Parse(body.WalletID)
	if err != nil {
		return invalid("wallet_id must be a wallet id")
	}
	wl, err := ledger.GetWallet(r.Context(), s.pool, wallet)
	if err != nil {
		return err
	}
	u := currentUser(r)
	if wl.OwnerUserID != u.ID || wl.Kind != "user" {
		return errForbidden // vouchers credit a user's own wallet, never an app's
	}
	if !u.EmailVerified { // vouchers are free money: one per proven address, not per throwaway account
		return errEmailNotVerified
	}
	red, balance, err := s.vouchers.Redeem(r.Context(), u.ID, wallet, mux.Vars(r)["code"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"credits_added": red.Amount, "new_balance": balance, "transaction_id": red.TransactionID, "code": red.Code})
	return nil
}

func (s *Server) myVouchers(w http.ResponseWriter, r *http.Request) error {
	limit, _, err := pageParams(r)
	if err != nil {
		return err
	}
	reds, err := s.vouchers.UserRedemptions(r.Context(), currentUser(r).ID, limit)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(reds))
	for i, red := range reds {
		out[i] = map[string]any{"code": red.Code, "wallet_id": red.WalletID, "credits_added": red.Amount,
			"transaction_id": red.TransactionID, "redeemed_at": red.CreatedAt}
	}
	ok(w, map[string]any{"vouchers": out})
	return nil
}
