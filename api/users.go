package api

import (
	"net/http"
	"strings"

	"github.com/officex/officex/internal/accounts"
)

func userBody(u accounts.User) map[string]any {
	return map[string]any{
		"user_id": u.ID, "email": u.Email, "wallet_id": u.WalletID, "status": u.Status,
		"email_verified": u.EmailVerified, "has_password": u.HasPassword, "created_at": u.CreatedAt,
	}
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	ok(w, map[string]any{"user": userBody(currentUser(r))})
	return nil
}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email *string `json:"email"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	u := currentUser(r)
	// The email changes only with proof (POST /users/me/email); the same
	// address is accepted as a no-op so clients that send the whole profile work.
	if body.Email != nil && !strings.EqualFold(strings.TrimSpace(*body.Email), u.Email) {
		return accounts.ErrEmailChangeNeedsProof
	}
	ok(w, map[string]any{"user": userBody(u)})
	return nil
}

// emailChangeSentMessage answers every email change request, whether or not
// the address belongs to another account.
const emailChangeSentMessage = "If the address can receive mail and is free, a code is on its way to it. " +
	"It expires in 10 minutes; confirm with POST /users/me/email/confirm {email, code}."

func (s *Server) requestEmailChange(w http.ResponseWriter, r *http.Request) error {
	var body emailBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := s.accounts.RequestEmailChange(r.Context(), currentUser(r).ID, body.Email); err != nil {
		return err
	}
	ok(w, map[string]any{"message": emailChangeSentMessage})
	return nil
}

func (s *Server) confirmEmailChange(w http.ResponseWriter, r *http.Request) error {
	var body emailCodeBody
	if err := decode(r, &body); err != nil {
		return err
	}
	u, err := s.accounts.ConfirmEmailChange(r.Context(), currentUser(r).ID, body.Email, body.Code)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"user": userBody(u)})
	return nil
}

func (s *Server) rotateMyKey(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		NewMasterKey string `json:"new_master_key"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := s.accounts.RotateKeyTo(r.Context(), currentUser(r).ID, body.NewMasterKey); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}
