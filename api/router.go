package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// routes registers every route with its auth mode, grouped like the reference.
// none: no auth; mk: master key; admin: superadmin secret.
func (s *Server) routes() http.Handler {
	root := mux.NewRouter()
	root.NotFoundHandler = handlerFunc(func(http.ResponseWriter, *http.Request) error { return errNotFound })
	root.MethodNotAllowedHandler = handlerFunc(func(http.ResponseWriter, *http.Request) error { return errMethod })
	root.Handle("/healthz", handlerFunc(s.healthz)).Methods(http.MethodGet)
	root.Handle("/readyz", handlerFunc(s.readyz)).Methods(http.MethodGet)

	// Routes are registered on root with the /v1 prefix (not a subrouter) so
	// a wrong method answers 405, which mux subrouters do not.
	none := func(path string, h handlerFunc, method string) { root.Handle("/v1"+path, h).Methods(method) }
	mk := func(path string, h handlerFunc, method string) {
		root.Handle("/v1"+path, s.masterKey(h)).Methods(method)
	}
	admin := func(path string, h handlerFunc, method string) { root.Handle("/v1"+path, s.admin(h)).Methods(method) }

	// Auth
	none("/auth/register", s.register, http.MethodPost)
	none("/auth/login", s.login, http.MethodPost)
	none("/auth/verify-otp", s.verifyOTP, http.MethodPost)
	none("/auth/resend", s.resend, http.MethodPost)
	none("/auth/forgot-password", s.forgotPassword, http.MethodPost)
	none("/auth/reset-password", s.resetPassword, http.MethodPost)
	mk("/auth/set-password", s.setPassword, http.MethodPost)
	none("/auth/rotate-key", s.rotateKey, http.MethodPost)
	none("/auth/confirm-rotate-key", s.confirmRotateKey, http.MethodPost)
	none("/register-user", s.registerUserLegacy, http.MethodPost)

	// Users
	mk("/users/me", s.getMe, http.MethodGet)
	mk("/users/me", s.patchMe, http.MethodPatch)
	mk("/users/me/rotate-key", s.rotateMyKey, http.MethodPost)

	// Admin: users
	admin("/admin/users", s.adminListUsers, http.MethodGet)
	admin("/admin/users/{id}", s.adminGetUser, http.MethodGet)
	admin("/admin/users/{id}", s.adminPatchUser, http.MethodPatch)
	admin("/admin/users/{id}/wallets", s.adminUserWallets, http.MethodGet)

	return chain(root, withRequestID, withLogging(s.log), withRecovery(s.log), withBodyLimit)
}

// chain wraps h so the first middleware listed runs first.
func chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
