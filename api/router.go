package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/console"
)

// routes registers every route with its auth mode, grouped like the reference.
// none: no auth; mk: master key; is and bill: install secret (bill: the lean
// check of the billing hot path); admin: superadmin secret; signed: the URL's
// own signature (upload files).
func (s *Server) routes() http.Handler {
	return chain(s.router(), withMetrics(s.metrics), withRequestID, withLogging(s.log), withRecovery(s.log), withoutNUL, s.withClientAddr)
}

// router is the route table without the middleware around it.
func (s *Server) router() *mux.Router {
	root := mux.NewRouter()
	root.Use(withRouteTemplate)
	root.NotFoundHandler = handlerFunc(func(http.ResponseWriter, *http.Request) error { return errNotFound })
	root.MethodNotAllowedHandler = handlerFunc(func(http.ResponseWriter, *http.Request) error { return errMethod })
	root.Handle("/healthz", handlerFunc(s.healthz)).Methods(http.MethodGet)
	root.Handle("/readyz", handlerFunc(s.readyz)).Methods(http.MethodGet)
	// The contract (api/openapi.yaml) and its reference page.
	root.Handle("/docs", handlerFunc(s.docs)).Methods(http.MethodGet)

	// Routes are registered on root with the /v1 prefix (not a subrouter) so
	// a wrong method answers 405, which mux subrouters do not. Every body is
	// capped at MaxBodyBytes here, per route rather than around the whole
	// router, so the signed upload files below can take the store's own cap
	// (25 MiB by default) without a path exemption in the middleware.
	route := func(path string, h handlerFunc, method string) {
		root.Handle("/v1"+path, withBodyLimit(h)).Methods(method)
	}
	// mkText: master key, for bodies that carry a long text in any script
	// (a ref's 100,000 characters can take 4 bytes each).
	mkText := func(path string, h handlerFunc, method string) {
		root.Handle("/v1"+path, withBodyLimitOf(MaxTextBodyBytes)(s.masterKey(h))).Methods(method)
	}
	// signed: authenticated by the URL's signature alone; no body limit here,
	// the handler reads the body through the upload store's own cap.
	signed := func(path string, h handlerFunc, method string) { root.Handle("/v1"+path, h).Methods(method) }
	none := route
	mk := func(path string, h handlerFunc, method string) { route(path, s.masterKey(h), method) }
	is := func(path string, h handlerFunc, method string) { route(path, s.installSecret(h), method) }
	bill := func(path string, h handlerFunc, method string) { route(path, s.billingAuth(h), method) }
	// billOp: a billing route whose outcome is counted (metrics.go).
	billOp := func(op, path string, h handlerFunc, method string) {
		route(path, s.countBilling(op, s.billingAuth(h)), method)
	}
	admin := func(path string, h handlerFunc, method string) { route(path, s.admin(h), method) }

	none("/openapi.yaml", s.openapiYAML, http.MethodGet)
	none("/openapi.json", s.openapiJSON, http.MethodGet)

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
	mk("/users/me/email", s.requestEmailChange, http.MethodPost)
	mk("/users/me/email/confirm", s.confirmEmailChange, http.MethodPost)
	mk("/users/me/rotate-key", s.rotateMyKey, http.MethodPost)

	mk("/users/me/vouchers", s.myVouchers, http.MethodGet)
	mk("/users/me/inbox", s.myInbox, http.MethodGet)
	mk("/users/me/inbox/{message_id}/read", s.markInboxRead, http.MethodPost)

	// Installations
	mk("/install/{app_id}", s.install, http.MethodPost)
	mk("/users/me/installs", s.myInstalls, http.MethodGet)
	mk("/users/me/installs/{id}", s.myInstall, http.MethodGet)
	mk("/users/me/installs/{id}", s.uninstall, http.MethodDelete)
	mk("/users/me/installs/{id}", s.patchInstall, http.MethodPatch)
	mk("/users/me/installs/{id}/rotate-secret", s.rotateInstallSecret, http.MethodPost)
	mk("/users/me/installs/{id}/context", s.myInstallContext, http.MethodPatch)
	mk("/users/me/installs/{id}/launch", s.launchInstall, http.MethodGet)
	is("/installs/{install_id}/context", s.installContext, http.MethodPatch)
	is("/installs/{install_id}/inbox", s.installInbox, http.MethodPost)

	// Vendor apps
	mk("/register-app", s.registerApp, http.MethodPost)
	mk("/users/me/apps", s.myApps, http.MethodGet)
	mk("/users/me/apps/{app_id}", s.myApp, http.MethodGet)
	mk("/users/me/apps/{app_id}", s.patchMyApp, http.MethodPatch)
	mk("/users/me/apps/{app_id}", s.deleteMyApp, http.MethodDelete)
	mk("/users/me/apps/{app_id}/installs", s.myAppInstalls, http.MethodGet)
	mk("/users/me/apps/{app_id}/webhooks", s.myAppWebhooks, http.MethodGet)
	mk("/users/me/apps/{app_id}/webhooks/{delivery_id}/redeliver", s.redeliverWebhook, http.MethodPost)
	mk("/users/me/apps/{app_id}/rotate-webhook-secret", s.rotateWebhookSecret, http.MethodPost)
	mk("/users/me/apps/{app_id}/inbox", s.appInbox, http.MethodGet)
	mk("/users/me/apps/{app_id}/inbox/{log_id}/ack", s.ackAppInbox, http.MethodPost)

	// Public catalog
	none("/apps", s.catalog, http.MethodGet)
	none("/apps/{app_id}", s.catalogApp, http.MethodGet)

	// Credits & Balance
	mk("/purchase-credits", s.purchaseCredits, http.MethodPost)
	mk("/balance", s.balance, http.MethodGet)
	none("/webhooks/stripe", s.stripeWebhook, http.MethodPost) // authenticated by Stripe's signature

	// Reserve & Settle (install secret; the hot path)
	billOp("reserve", "/reserve", s.reserve, http.MethodPost)
	billOp("settle", "/settle", s.settleByBody, http.MethodPost)
	bill("/reservations/{id}", s.getReservation, http.MethodGet)
	billOp("settle", "/reservations/{id}/settle", s.settleByPath, http.MethodPost)
	billOp("cancel", "/reservations/{id}/cancel", s.cancelReservation, http.MethodPost)

	// Wallets
	mk("/wallets/{id}", s.getWallet, http.MethodGet)
	mk("/wallets/{id}/reservations", s.walletReservations, http.MethodGet)
	mk("/wallets/{id}/reservations/{resv_id}", s.walletReservation, http.MethodGet)
	mk("/wallets/{id}/payouts", s.walletPayouts, http.MethodGet)
	mk("/wallets/{id}/payouts/{payout_id}", s.walletPayout, http.MethodGet)

	// Payouts
	mk("/payout", s.requestPayout, http.MethodPost)
	mk("/users/me/payout-destinations", s.registerPayoutDestination, http.MethodPost)
	mk("/users/me/payout-destinations", s.myPayoutDestinations, http.MethodGet)
	mk("/wallets/{id}/transactions", s.walletTransactions, http.MethodGet)
	mk("/wallets/{id}/transactions/{log_id}", s.walletTransaction, http.MethodGet)

	// Vouchers
	none("/vouchers/{code}", s.getVoucher, http.MethodGet)
	mk("/vouchers/{code}/redeem", s.redeemVoucher, http.MethodPost)

	// Chat (the stream itself is on the chat listener: chat_stream.go)
	mk("/users/me/chats", s.listChats, http.MethodGet)
	mk("/users/me/chats", s.createChat, http.MethodPost)
	mk("/users/me/chats/{id}", s.getChat, http.MethodGet)
	mk("/users/me/chats/{id}", s.patchChat, http.MethodPatch)
	mk("/users/me/chats/{id}", s.deleteChat, http.MethodDelete)
	mk("/users/me/tracers/{tracer_id}", s.tracer, http.MethodGet)

	// Schedules (scheduled agent runs; each is a Temporal Schedule chat-schedule-<id>)
	mk("/users/me/schedules", s.listSchedules, http.MethodGet)
	mk("/users/me/schedules", s.createSchedule, http.MethodPost)
	mk("/users/me/schedules/{id}", s.getSchedule, http.MethodGet)
	mk("/users/me/schedules/{id}", s.patchSchedule, http.MethodPatch)
	mk("/users/me/schedules/{id}", s.deleteSchedule, http.MethodDelete)
	mk("/users/me/schedules/{id}/trigger", s.triggerSchedule, http.MethodPost)
	mk("/users/me/schedules/{id}/runs", s.scheduleRuns, http.MethodGet)

	// Uploads (the local store's files: PUT and GET at URLs presign signed;
	// keys contain "/", so {key} takes the rest of the path)
	mk("/uploads/presign", s.presignUpload, http.MethodPost)
	signed("/uploads/files/{key:.+}", s.putUploadFile, http.MethodPut)
	signed("/uploads/files/{key:.+}", s.getUploadFile, http.MethodGet)

	// Prompts, refs (a ref's public page needs no auth: anyone with the link reads it)
	mk("/users/me/prompts", s.listPrompts, http.MethodGet)
	mk("/users/me/prompts", s.createPrompt, http.MethodPost)
	mk("/users/me/prompts/{id}", s.getPrompt, http.MethodGet)
	mk("/users/me/prompts/{id}", s.patchPrompt, http.MethodPatch)
	mk("/users/me/prompts/{id}", s.deletePrompt, http.MethodDelete)
	mk("/users/me/refs", s.listRefs, http.MethodGet)
	mkText("/users/me/refs", s.createRef, http.MethodPost)
	mk("/users/me/refs/{slug}", s.getRef, http.MethodGet)
	mk("/users/me/refs/{slug}", s.deleteRef, http.MethodDelete)
	none("/refs/{slug}", s.publicRef, http.MethodGet)

	// Admin: users
	admin("/admin/users", s.adminListUsers, http.MethodGet)
	admin("/admin/users/{id}", s.adminGetUser, http.MethodGet)
	admin("/admin/users/{id}", s.adminPatchUser, http.MethodPatch)
	admin("/admin/users/{id}/wallets", s.adminUserWallets, http.MethodGet)
	admin("/admin/users/{id}/payment-hold", s.adminGetPaymentHold, http.MethodGet)
	admin("/admin/users/{id}/payment-hold/clear", s.adminClearPaymentHold, http.MethodPost)

	// Admin: apps
	admin("/admin/apps", s.adminListApps, http.MethodGet)
	admin("/admin/apps/{id}", s.adminGetApp, http.MethodGet)
	admin("/admin/apps/{id}", s.adminPatchApp, http.MethodPatch)
	admin("/admin/apps/{id}", s.adminDeleteApp, http.MethodDelete)

	// Admin: wallets, treasury, audit
	admin("/admin/wallets", s.adminListWallets, http.MethodGet)
	admin("/admin/wallets/{id}", s.adminGetWallet, http.MethodGet)
	admin("/admin/wallets/{id}/adjust", s.adminAdjust, http.MethodPost)
	admin("/admin/treasury", s.adminTreasury, http.MethodGet)
	admin("/admin/reconcile", s.adminReconcile, http.MethodPost)
	admin("/admin/audit", s.adminAudit, http.MethodGet)

	// Admin: payouts
	admin("/admin/payouts", s.adminListPayouts, http.MethodGet)
	admin("/admin/payouts/batches", s.adminRunBatch, http.MethodPost)
	admin("/admin/payouts/batches/{period}", s.adminGetBatch, http.MethodGet)
	admin("/admin/payouts/{id}", s.adminGetPayout, http.MethodGet)
	admin("/admin/payouts/{id}/approve", s.adminApprovePayout, http.MethodPost)
	admin("/admin/payouts/{id}/reject", s.adminRejectPayout, http.MethodPost)
	admin("/admin/payouts/{id}/review", s.adminReviewPayout, http.MethodPost)

	// Admin: vouchers
	admin("/admin/vouchers", s.adminCreateVoucher, http.MethodPost)
	admin("/admin/vouchers", s.adminListVouchers, http.MethodGet)
	admin("/admin/vouchers/{code}", s.adminGetVoucher, http.MethodGet)
	admin("/admin/vouchers/{code}", s.adminPatchVoucher, http.MethodPatch)
	admin("/admin/vouchers/{code}", s.adminDeleteVoucher, http.MethodDelete)

	// Admin: the finance console (HTML; signed in with the admin secret,
	// then a session cookie and a CSRF token on every form: console.go)
	page := func(path string, h consoleHandler, method string) {
		root.Handle("/admin/console"+path, withBodyLimit(s.consolePage(h))).Methods(method)
	}
	root.Handle("/admin/console/login", consoleErrors(s.consoleLoginForm)).Methods(http.MethodGet)
	root.Handle("/admin/console/login", withBodyLimit(consoleErrors(s.consoleLogin))).Methods(http.MethodPost)
	root.Handle("/admin/console/static/{file:[a-z]+\\.(?:css|js)}", console.Static("/admin/console/static/")).Methods(http.MethodGet)
	page("", s.consoleHome, http.MethodGet)
	page("/logout", s.consoleLogout, http.MethodPost)
	page("/treasury", s.consoleTreasury, http.MethodGet)
	page("/payouts", s.consolePayouts, http.MethodGet)
	page("/payouts", s.consoleDecide, http.MethodPost)
	page("/batches", s.consoleBatches, http.MethodGet)
	page("/batches", s.consoleRunBatch, http.MethodPost)
	page("/batches/{period}", s.consoleBatches, http.MethodGet)
	page("/batches/{period}/progress", s.consoleBatchProgress, http.MethodGet)
	page("/reconcile", s.consoleReconcile, http.MethodGet)
	page("/audit", s.consoleAudit, http.MethodGet)

	return root
}

// chain wraps h so the first middleware listed runs first.
func chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
