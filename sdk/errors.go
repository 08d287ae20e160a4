package officex

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an answer of the API that is not a success: its HTTP status and
// the reference's error envelope {"success": false, "error": {code, message}}.
type Error struct {
	StatusCode int
	Code       string // CodeInsufficientFunds, ...; empty when the body was not the envelope
	Message    string
	RequestID  string // X-Request-Id, when known: quote it to support
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("officex: HTTP %d: %s", e.StatusCode, e.Message)
	}
	return fmt.Sprintf("officex: %s (HTTP %d): %s", e.Code, e.StatusCode, e.Message)
}

// The reference's error codes (api/openapi.yaml, ErrorCode).
const (
	CodeUnauthorized         = "UNAUTHORIZED"
	CodeInvalidSecret        = "INVALID_SECRET"
	CodeInvalidRequest       = "INVALID_REQUEST"
	CodeAppNotFound          = "APP_NOT_FOUND"
	CodeUserNotFound         = "USER_NOT_FOUND"
	CodeWalletNotFound       = "WALLET_NOT_FOUND"
	CodeReservationNotFound  = "RESERVATION_NOT_FOUND"
	CodeInstallNotFound      = "INSTALL_NOT_FOUND"
	CodeInstallExpired       = "INSTALL_EXPIRED"
	CodeRateLimited          = "RATE_LIMITED"
	CodeInsufficientFunds    = "INSUFFICIENT_FUNDS"
	CodeLifetimeLimitReached = "LIFETIME_LIMIT_REACHED"
	CodeForbidden            = "FORBIDDEN"
	CodeDuplicateRequest     = "DUPLICATE_REQUEST"
	CodeDuplicateJob         = "DUPLICATE_JOB"
	CodePreviousFailure      = "PREVIOUS_FAILURE"
	CodePaymentFailed        = "PAYMENT_FAILED"
	CodePayoutFailed         = "PAYOUT_FAILED"
	CodeInternalError        = "INTERNAL_ERROR"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeReservationClosed    = "RESERVATION_CLOSED"
	CodeServiceUnavailable   = "SERVICE_UNAVAILABLE"
)

// IsCode says whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Answer is what every generated ...WithResponse method returns.
type Answer interface {
	StatusCode() int
	Bytes() []byte
}

// Check turns a generated call's answer into an *Error unless it is a 2xx,
// so the typed body (JSON200, JSON201) can be used without more checks:
//
//	me, err := officex.Check(c.GetMeWithResponse(ctx))
//	if err != nil { ... }
//	fmt.Println(me.JSON200.User.Email)
func Check[A Answer](res A, err error) (A, error) {
	if err != nil {
		return res, err
	}
	if code := res.StatusCode(); code < 200 || code > 299 {
		return res, errorFrom(code, res.Bytes(), nil)
	}
	return res, nil
}

// errorFrom reads the error envelope; any other body becomes the message.
func errorFrom(status int, body []byte, h http.Header) *Error {
	e := &Error{StatusCode: status, RequestID: h.Get("X-Request-Id")}
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message = env.Error.Code, env.Error.Message
		return e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = msg
	return e
}
