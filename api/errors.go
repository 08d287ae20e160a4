package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/auth"
	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/internal/chargebacks"
	"github.com/officex/officex/internal/chat"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/prompts"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/refs"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/uploads"
	"github.com/officex/officex/internal/vouchers"
	"github.com/officex/officex/ledger"
)

// Error is an answer in the reference's error format. Handlers return it (or
// a domain error that errorTable maps to one); anything else is a 500.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration // sets Retry-After when positive
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func invalid(format string, args ...any) *Error {
	return &Error{http.StatusBadRequest, "INVALID_REQUEST", fmt.Sprintf(format, args...), 0}
}

var (
	errUnauthorized  = &Error{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "missing or invalid credentials"}
	errForbidden     = &Error{Status: http.StatusForbidden, Code: "FORBIDDEN", Message: "you do not have access to this resource"}
	errNotFound      = &Error{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "no such route"}
	errMethod        = &Error{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED", Message: "method not allowed on this route"}
	errInternal      = &Error{Status: http.StatusInternalServerError, Code: "INTERNAL_ERROR", Message: "unexpected server error"}
	errAdminDisabled = &Error{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "admin routes are disabled (OFFICEX_ADMIN_SECRET is not set)"}
)

// errorTable maps each domain error to the reference's code and status; the
// domain's own message is used, since domain errors are written for callers.
var errorTable = []struct {
	err    error
	status int
	code   string
}{
	{accounts.ErrInvalidCode, http.StatusUnauthorized, "UNAUTHORIZED"},
	{accounts.ErrInvalidLogin, http.StatusUnauthorized, "UNAUTHORIZED"},
	{accounts.ErrUnauthorized, http.StatusUnauthorized, "UNAUTHORIZED"},
	{accounts.ErrSuspended, http.StatusForbidden, "FORBIDDEN"},
	{accounts.ErrUserNotFound, http.StatusNotFound, "USER_NOT_FOUND"},
	{accounts.ErrEmailTaken, http.StatusConflict, "DUPLICATE_REQUEST"},
	{accounts.ErrInvalidInput, http.StatusBadRequest, "INVALID_REQUEST"},

	{ledger.ErrInvalidAmount, http.StatusBadRequest, "INVALID_REQUEST"},
	{ledger.ErrInsufficientFunds, http.StatusPaymentRequired, "INSUFFICIENT_FUNDS"},
	{ledger.ErrWalletNotFound, http.StatusNotFound, "WALLET_NOT_FOUND"},
	{ledger.ErrTransactionNotFound, http.StatusNotFound, "NOT_FOUND"},
	{ledger.ErrInvalidMovement, http.StatusBadRequest, "INVALID_REQUEST"},

	{purchases.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},
	{purchases.ErrDuplicate, http.StatusConflict, "DUPLICATE_REQUEST"},
	{purchases.ErrPreviousFailure, http.StatusConflict, "PREVIOUS_FAILURE"},
	{purchases.ErrStripeNotConfigured, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},
	{purchases.ErrCardLookup, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},

	{chargebacks.ErrOutstandingDebt, http.StatusPaymentRequired, "INSUFFICIENT_FUNDS"},
	{chargebacks.ErrPurchasesSuspended, http.StatusForbidden, "FORBIDDEN"},
	{chargebacks.ErrPurchaseOpen, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},
	{chargebacks.ErrNoHold, http.StatusNotFound, "NOT_FOUND"},
	{chargebacks.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},

	{apps.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},
	{apps.ErrAppNotFound, http.StatusNotFound, "APP_NOT_FOUND"},
	{apps.ErrNotOwner, http.StatusForbidden, "FORBIDDEN"},
	{apps.ErrAppSuspended, http.StatusForbidden, "FORBIDDEN"},
	{apps.ErrAppsPerVendor, http.StatusBadRequest, "INVALID_REQUEST"},
	{apps.ErrInstallNotFound, http.StatusNotFound, "INSTALL_NOT_FOUND"},
	{apps.ErrNotYourInstall, http.StatusForbidden, "FORBIDDEN"},
	{apps.ErrAlreadyInstalled, http.StatusConflict, "DUPLICATE_REQUEST"},
	{apps.ErrInvalidSecret, http.StatusUnauthorized, "INVALID_SECRET"},
	{apps.ErrUninstalled, http.StatusForbidden, "FORBIDDEN"},
	{apps.ErrUserSuspended, http.StatusForbidden, "FORBIDDEN"},
	{apps.ErrVendorSuspended, http.StatusForbidden, "FORBIDDEN"},
	{apps.ErrDeliveryNotFound, http.StatusNotFound, "NOT_FOUND"},
	{apps.ErrDeliveryRunning, http.StatusConflict, "DUPLICATE_REQUEST"},
	{apps.ErrInstallEventOfInactive, http.StatusConflict, "INVALID_REQUEST"},
	{apps.ErrMessageNotFound, http.StatusNotFound, "NOT_FOUND"},
	{apps.ErrNotYourMessage, http.StatusForbidden, "FORBIDDEN"},

	{billing.ErrInstallExpired, http.StatusForbidden, "INSTALL_EXPIRED"},
	{billing.ErrLifetimeLimit, http.StatusForbidden, "LIFETIME_LIMIT_REACHED"},
	{billing.ErrDuplicateJob, http.StatusConflict, "DUPLICATE_JOB"},
	{billing.ErrReservationNotFound, http.StatusNotFound, "RESERVATION_NOT_FOUND"},
	{billing.ErrReservationClosed, http.StatusConflict, "RESERVATION_CLOSED"},
	{billing.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},
	{billing.ErrEventNotFound, http.StatusNotFound, "NOT_FOUND"},

	{payouts.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},
	{payouts.ErrNotFound, http.StatusNotFound, "NOT_FOUND"},
	{payouts.ErrNotYourWallet, http.StatusForbidden, "FORBIDDEN"},
	{payouts.ErrDuplicate, http.StatusConflict, "DUPLICATE_REQUEST"},
	{payouts.ErrPreviousFailure, http.StatusConflict, "PREVIOUS_FAILURE"},
	{payouts.ErrWrongState, http.StatusConflict, "INVALID_REQUEST"},
	{payouts.ErrUSDCNotAvailable, http.StatusBadRequest, "INVALID_REQUEST"},
	{payouts.ErrDestinationNotFound, http.StatusNotFound, "NOT_FOUND"},
	{payouts.ErrNotYourDestination, http.StatusForbidden, "FORBIDDEN"},
	{payouts.ErrAccountTaken, http.StatusConflict, "DUPLICATE_REQUEST"},
	{payouts.ErrNoSuchAccount, http.StatusBadRequest, "INVALID_REQUEST"},
	{payouts.ErrAccountCheckUnavailable, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},

	{chat.ErrThreadNotFound, http.StatusNotFound, "NOT_FOUND"},
	{chat.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},

	{prompts.ErrNotFound, http.StatusNotFound, "NOT_FOUND"},
	{prompts.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},

	{refs.ErrNotFound, http.StatusNotFound, "NOT_FOUND"},
	{refs.ErrThreadNotFound, http.StatusNotFound, "NOT_FOUND"},
	{refs.ErrSlugTaken, http.StatusConflict, "DUPLICATE_REQUEST"},
	{refs.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},

	{schedules.ErrNotFound, http.StatusNotFound, "NOT_FOUND"},
	{schedules.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},
	{schedules.ErrTemporal, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},

	{vouchers.ErrNotFound, http.StatusNotFound, "NOT_FOUND"},
	{vouchers.ErrNotRedeemable, http.StatusBadRequest, "INVALID_REQUEST"},
	{vouchers.ErrAlreadyRedeemed, http.StatusConflict, "DUPLICATE_REQUEST"},
	{vouchers.ErrExists, http.StatusConflict, "DUPLICATE_REQUEST"},
	{vouchers.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},

	{uploads.ErrInvalid, http.StatusBadRequest, "INVALID_REQUEST"},
	{uploads.ErrForbidden, http.StatusForbidden, "FORBIDDEN"},
	{uploads.ErrTooLarge, http.StatusRequestEntityTooLarge, "INVALID_REQUEST"},
	{uploads.ErrNotFound, http.StatusNotFound, "NOT_FOUND"},
}

// toAPIError turns any handler error into the answer to send, logging the
// ones that are not the caller's fault.
func toAPIError(r *http.Request, err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var declined *purchases.DeclinedError
	if errors.As(err, &declined) {
		return &Error{Status: http.StatusPaymentRequired, Code: "PAYMENT_FAILED", Message: declined.Message}
	}
	var limited *billing.RateLimitedError
	if errors.As(err, &limited) {
		return &Error{http.StatusTooManyRequests, "RATE_LIMITED", limited.Error(), limited.RetryAfter}
	}
	var velocity *purchases.RateLimitedError
	if errors.As(err, &velocity) {
		return &Error{http.StatusTooManyRequests, "RATE_LIMITED", velocity.Error(), velocity.RetryAfter}
	}
	var budget *chat.BudgetExceededError
	if errors.As(err, &budget) {
		return &Error{http.StatusTooManyRequests, "RATE_LIMITED", budget.Error(), budget.RetryAfter}
	}
	if errors.Is(err, auth.ErrPasswordHashingBusy) {
		return &Error{http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", err.Error(), auth.PasswordHashRetryAfter}
	}
	var throttled *accounts.ThrottledError
	if errors.As(err, &throttled) {
		return &Error{http.StatusTooManyRequests, "RATE_LIMITED", throttled.Error(), throttled.RetryAfter}
	}
	var locked *accounts.LockedError
	if errors.As(err, &locked) {
		return &Error{http.StatusTooManyRequests, "RATE_LIMITED", locked.Error(), locked.RetryAfter}
	}
	for _, m := range errorTable {
		if errors.Is(err, m.err) {
			return &Error{Status: m.status, Code: m.code, Message: err.Error()}
		}
	}
	slog.ErrorContext(r.Context(), "request failed", "error", err.Error())
	return errInternal
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toAPIError(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.Status, map[string]any{
		"success": false,
		"error":   map[string]string{"code": e.Code, "message": e.Message},
	})
}
