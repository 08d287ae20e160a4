package api

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/chargebacks"
)

func holdBody(h chargebacks.Hold) map[string]any {
	return map[string]any{"user_id": h.UserID, "debt": h.Debt, "purchases_suspended": h.Active,
		"spending_suspended": h.Active && h.Debt > 0, "reason": h.Reason}
}

// holdUser is the {id} of a payment-hold route, which must be a user.
func (s *Server) holdUser(r *http.Request) (uuid.UUID, error) {
	id, err := pathUUID(r, "id", accounts.ErrUserNotFound)
	if err != nil {
		return uuid.Nil, err
	}
	if _, err := s.accounts.Get(r.Context(), id); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// adminGetPaymentHold shows a user's payment hold: the debt a refund or
// dispute left and whether purchases and spending are suspended.
func (s *Server) adminGetPaymentHold(w http.ResponseWriter, r *http.Request) error {
	id, err := s.holdUser(r)
	if err != nil {
		return err
	}
	h, err := s.chargebacks.GetHold(r.Context(), id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"hold": holdBody(h)})
	return nil
}

// adminClearPaymentHold lifts a hold: {reason, collect_debt?} (collect_debt,
// default true, first takes what the wallet now holds toward the debt; the
// rest is written off).
func (s *Server) adminClearPaymentHold(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Reason      string `json:"reason"`
		CollectDebt *bool  `json:"collect_debt"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	id, err := s.holdUser(r)
	if err != nil {
		return err
	}
	req := chargebacks.ClearRequest{Reason: body.Reason, CollectDebt: body.CollectDebt == nil || *body.CollectDebt}
	res, err := s.chargebacks.Clear(r.Context(), id, req)
	if err != nil {
		return err
	}
	h, err := s.chargebacks.GetHold(r.Context(), id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"collected": res.Collected, "written_off": res.WrittenOff, "transaction_id": res.TransactionID,
		"hold": holdBody(h)})
	return nil
}
