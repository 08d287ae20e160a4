package api

import (
	"net/http"

	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/ledger"
)

// purchaseCredits buys credits with Stripe: {amount, payment_method: {type, token}, idempotency_key?}.
func (s *Server) purchaseCredits(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Amount        *ledger.Credits `json:"amount"`
		PaymentMethod *struct {
			Type  string `json:"type"`
			Token string `json:"token"`
		} `json:"payment_method"`
		IdempotencyKey *string `json:"idempotency_key"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Amount == nil || body.PaymentMethod == nil {
		return invalid("amount and payment_method are required")
	}
	req := purchases.Request{Amount: *body.Amount, PaymentType: body.PaymentMethod.Type, Token: body.PaymentMethod.Token}
	if body.IdempotencyKey != nil {
		if *body.IdempotencyKey == "" {
			return invalid("idempotency_key must not be empty")
		}
		req.IdempotencyKey = *body.IdempotencyKey
	}
	u := currentUser(r)
	// Fraud checks first (payment hold, velocity limits): nothing is
	// charged or recorded as a purchase when they refuse.
	if err := s.purchases.Admit(r.Context(), u.ID, &req); err != nil {
		return err
	}
	res, err := s.purchases.Purchase(r.Context(), u.ID, u.WalletID, req)
	if err != nil {
		return err
	}
	if res.Status != "succeeded" {
		// 202: the payment needs the customer (3-D Secure) or Stripe is slow;
		// credits arrive when Stripe confirms, through its webhook.
		okStatus(w, http.StatusAccepted, map[string]any{"status": res.Status, "purchase_id": res.PurchaseID,
			"payment_intent_id": res.PaymentIntentID, "client_secret": res.ClientSecret,
			"message": "payment pending: credits are added when the payment completes"})
		return nil
	}
	ok(w, map[string]any{"credits_added": res.CreditsAdded, "new_balance": res.NewBalance,
		"transaction_id": res.TransactionID, "purchase_id": res.PurchaseID, "status": res.Status})
	return nil
}

// balance is the caller's own wallet.
func (s *Server) balance(w http.ResponseWriter, r *http.Request) error {
	wl, err := ledger.UserWallet(r.Context(), s.pool, currentUser(r).ID)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"wallet_id": wl.ID, "available": wl.Available, "reserved": wl.Reserved, "total": wl.Available + wl.Reserved})
	return nil
}
