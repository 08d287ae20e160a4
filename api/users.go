package api

import (
	"net/http"

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
	if body.Email != nil {
		var err error
		if u, err = s.accounts.UpdateEmail(r.Context(), u.ID, *body.Email); err != nil {
			return err
		}
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
