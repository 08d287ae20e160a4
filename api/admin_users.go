package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/ledger"
)

// maxReasonLength bounds free-text reasons admins give.
const maxReasonLength = 500

// statusChange is an admin's {status, reason?} for a user or an app.
type statusChange struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func decodeStatusChange(r *http.Request) (statusChange, error) {
	var body statusChange
	if err := decode(r, &body); err != nil {
		return body, err
	}
	if len(body.Reason) > maxReasonLength {
		return body, invalid("reason must be at most %d characters", maxReasonLength)
	}
	return body, nil
}

func pathUUID(r *http.Request, name string, notFound error) (uuid.UUID, error) {
	id, err := uuid.Parse(mux.Vars(r)[name])
	if err != nil {
		return uuid.Nil, notFound
	}
	return id, nil
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	f := accounts.ListFilter{Status: r.URL.Query().Get("status"), EmailContains: r.URL.Query().Get("email"), Limit: limit + 1}
	if cursor != nil {
		f.AfterCreated, f.AfterID = &cursor.Created, cursor.ID
	}
	users, err := s.accounts.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, "users", users, limit, noErr(userBody),
		func(u accounts.User) keysetCursor { return keysetCursor{Created: u.CreatedAt, ID: u.ID} })
}

func (s *Server) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", accounts.ErrUserNotFound)
	if err != nil {
		return err
	}
	u, err := s.accounts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"user": userBody(u)})
	return nil
}

// adminPatchUser suspends or reactivates a user: {status, reason?}.
func (s *Server) adminPatchUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", accounts.ErrUserNotFound)
	if err != nil {
		return err
	}
	body, err := decodeStatusChange(r)
	if err != nil {
		return err
	}
	u, err := s.accounts.SetStatus(r.Context(), "admin", id, body.Status, body.Reason)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"user": userBody(u)})
	return nil
}

func (s *Server) adminUserWallets(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", accounts.ErrUserNotFound)
	if err != nil {
		return err
	}
	wallets, err := s.accounts.Wallets(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(wallets))
	for i, wl := range wallets {
		a, rs := ledger.Credits(wl.Available), ledger.Credits(wl.Reserved)
		out[i] = map[string]any{"wallet_id": wl.ID, "owner_type": wl.Kind, "available": a, "reserved": rs,
			"total": a + rs, "created_at": wl.CreatedAt}
	}
	ok(w, map[string]any{"wallets": out})
	return nil
}
