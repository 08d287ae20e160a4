package api

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/clientaddr"
)

// Auth headers of the reference (Go canonicalises header names, so any case works).
const (
	hdrUserID      = "X-Officex-User-Id"
	hdrMasterKey   = "X-Officex-Master-Key"
	hdrAdminSecret = "X-Officex-Admin-Secret"
)

// masterKey authenticates x-officex-user-id + x-officex-master-key.
func (s *Server) masterKey(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		user, err := s.authenticate(r)
		if err != nil {
			return err
		}
		return next(w, r.WithContext(context.WithValue(r.Context(), ctxUser, user)))
	}
}

func (s *Server) authenticate(r *http.Request) (accounts.User, error) {
	id, err := uuid.Parse(r.Header.Get(hdrUserID))
	key := r.Header.Get(hdrMasterKey)
	if err != nil || key == "" {
		return accounts.User{}, errUnauthorized
	}
	return s.accounts.Authenticate(r.Context(), id, key)
}

// signedInUser authenticates the master-key headers on a route that works
// without them: signed false when the request carries none.
func (s *Server) signedInUser(r *http.Request) (user accounts.User, signed bool, err error) {
	if r.Header.Get(hdrUserID) == "" && r.Header.Get(hdrMasterKey) == "" {
		return accounts.User{}, false, nil
	}
	user, err = s.authenticate(r)
	return user, err == nil, err
}

// withClientAddr stores the request's client address for the sign-in limits:
// the socket's, or OFFICEX_TRUSTED_PROXY_HEADER's when configured.
func (s *Server) withClientAddr(next http.Handler) http.Handler {
	return clientaddr.Middleware(s.cfg.TrustedProxyHeader, next)
}

// currentUser is the user masterKey authenticated.
func currentUser(r *http.Request) accounts.User {
	u, _ := r.Context().Value(ctxUser).(accounts.User)
	return u
}

// admin authenticates x-officex-admin-secret; with no secret configured the
// admin routes do not exist.
func (s *Server) admin(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.AdminSecret == "" {
			return errAdminDisabled
		}
		if !s.adminSecretMatches(r.Header.Get(hdrAdminSecret)) {
			return errUnauthorized
		}
		return next(w, r)
	}
}
