package stripesim

import (
	"fmt"
	"net/http"
	"strings"
)

// Stripe's error types (the "type" of an error object).
const (
	typeInvalidRequest = "invalid_request_error"
	typeCard           = "card_error"
	typeIdempotency    = "idempotency_error"
	typeAPI            = "api_error"
)

// apiError is Stripe's error object. It is both the body of a failed request
// ({"error": ...}) and a PaymentIntent's last_payment_error.
type apiError struct {
	Charge        string         `json:"charge,omitempty"`
	Code          string         `json:"code,omitempty"`
	DeclineCode   string         `json:"decline_code,omitempty"`
	DocURL        string         `json:"doc_url,omitempty"`
	Message       string         `json:"message"`
	Param         string         `json:"param,omitempty"`
	PaymentIntent *paymentIntent `json:"payment_intent,omitempty"`
	PaymentMethod *paymentMethod `json:"payment_method,omitempty"`
	Type          string         `json:"type"`

	status int // the HTTP status the error is answered with
}

// newError builds an error; code may be empty, as for some Stripe errors.
func newError(status int, typ, code, param, format string, args ...any) *apiError {
	e := &apiError{status: status, Type: typ, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
	if code != "" {
		e.DocURL = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	return e
}

// invalid is a 400 invalid_request_error, the answer to any bad parameter.
func invalid(code, param, format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, typeInvalidRequest, code, param, format, args...)
}

func errMissing(param string) *apiError {
	return invalid("parameter_missing", param, "Missing required param: %s.", param)
}

// errNoSuch is Stripe's answer for an id that names nothing: 404 when the id
// is in the URL, 400 when it is a parameter.
func errNoSuch(status int, what, id, param string) *apiError {
	return newError(status, typeInvalidRequest, "resource_missing", param, "No such %s: '%s'", what, id)
}

func errUnexpectedState(format string, args ...any) *apiError {
	return invalid("payment_intent_unexpected_state", "", format, args...)
}

// errCard is the card_error of a declined payment.
func errCard(reason *declineReason) *apiError {
	e := newError(http.StatusPaymentRequired, typeCard, reason.code, reason.param, "%s", reason.message)
	e.DeclineCode = reason.declineCode
	return e
}
