package stripesim

import "strings"

// outcome is what confirming a PaymentIntent with a test card does.
type outcome int

const (
	outcomeSucceed      outcome = iota // charged: status succeeded
	outcomeDecline                     // 402 card_error, status requires_payment_method
	outcomeAuthenticate                // 3D Secure: status requires_action
)

// declineReason is the card_error Stripe answers for a declined card.
type declineReason struct {
	code, declineCode, message, param string
}

// The decline reasons of Stripe's test cards, with Stripe's messages.
var (
	declineGeneric      = &declineReason{"card_declined", "generic_decline", "Your card was declined.", ""}
	declineInsufficient = &declineReason{"card_declined", "insufficient_funds", "Your card has insufficient funds.", ""}
	declineLost         = &declineReason{"card_declined", "lost_card", "Your card was declined.", ""}
	declineStolen       = &declineReason{"card_declined", "stolen_card", "Your card was declined.", ""}
	declineFraudulent   = &declineReason{"card_declined", "fraudulent", "Your card was declined.", ""}
	declineVelocity     = &declineReason{"card_declined", "card_velocity_exceeded",
		"Your card was declined for making repeated attempts too frequently or exceeding its amount limit.", ""}
	declineExpired    = &declineReason{"expired_card", "expired_card", "Your card has expired.", "exp_month"}
	declineCVC        = &declineReason{"incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"}
	declineProcessing = &declineReason{"processing_error", "processing_error",
		"An error occurred while processing your card. Try again in a little bit.", ""}
)

// testCard is one of Stripe's documented test cards.
type testCard struct {
	brand, last4, funding string
	outcome               outcome
	// decline is why an outcomeDecline card is declined, or, for an
	// outcomeAuthenticate card, why it is declined once authenticated (nil:
	// it succeeds then).
	decline *declineReason
}

// testCards maps the name shared by tok_<name> and pm_card_<name> to its card.
var testCards = map[string]*testCard{
	"visa":               {"visa", "4242", "credit", outcomeSucceed, nil},
	"visa_debit":         {"visa", "5556", "debit", outcomeSucceed, nil},
	"mastercard":         {"mastercard", "4444", "credit", outcomeSucceed, nil},
	"mastercard_debit":   {"mastercard", "8210", "debit", outcomeSucceed, nil},
	"mastercard_prepaid": {"mastercard", "5100", "prepaid", outcomeSucceed, nil},
	"amex":               {"amex", "8431", "credit", outcomeSucceed, nil},
	"discover":           {"discover", "1117", "credit", outcomeSucceed, nil},
	"diners":             {"diners", "0004", "credit", outcomeSucceed, nil},
	"jcb":                {"jcb", "0505", "credit", outcomeSucceed, nil},
	"unionpay":           {"unionpay", "0005", "credit", outcomeSucceed, nil},

	"chargeDeclined":                           declined("0002", declineGeneric),
	"visa_chargeDeclined":                      declined("0002", declineGeneric),
	"chargeDeclinedInsufficientFunds":          declined("9995", declineInsufficient),
	"visa_chargeDeclinedInsufficientFunds":     declined("9995", declineInsufficient),
	"chargeDeclinedLostCard":                   declined("9987", declineLost),
	"visa_chargeDeclinedLostCard":              declined("9987", declineLost),
	"chargeDeclinedStolenCard":                 declined("9979", declineStolen),
	"visa_chargeDeclinedStolenCard":            declined("9979", declineStolen),
	"chargeDeclinedExpiredCard":                declined("0069", declineExpired),
	"chargeDeclinedIncorrectCvc":               declined("0127", declineCVC),
	"chargeDeclinedProcessingError":            declined("0119", declineProcessing),
	"visa_chargeDeclinedVelocityLimitExceeded": declined("6975", declineVelocity),
	"chargeDeclinedFraudulent":                 declined("0019", declineFraudulent),
	"radarBlock":                               declined("0019", declineFraudulent),

	"threeDSecure2Required":                                 authenticated("3220", nil),
	"threeDSecureRequired":                                  authenticated("3063", nil),
	"authenticationRequired":                                authenticated("3184", nil),
	"authenticationRequiredOnSetup":                         authenticated("3155", nil),
	"authenticationRequiredChargeDeclinedInsufficientFunds": authenticated("3178", declineInsufficient),
}

// declined is a Visa test card that is declined for reason.
func declined(last4 string, reason *declineReason) *testCard {
	return &testCard{"visa", last4, "credit", outcomeDecline, reason}
}

// authenticated is a Visa test card that requires 3D Secure, then succeeds
// or, when after is set, is declined for it.
func authenticated(last4 string, after *declineReason) *testCard {
	return &testCard{"visa", last4, "credit", outcomeAuthenticate, after}
}

// cardForToken returns the test card of a tok_<name> token.
func cardForToken(token string) *testCard {
	name, ok := strings.CutPrefix(token, "tok_")
	if !ok {
		return nil
	}
	return testCards[name]
}

// cardForTestPaymentMethod returns the test card of a pm_card_<name> id.
func cardForTestPaymentMethod(id string) *testCard {
	name, ok := strings.CutPrefix(id, "pm_card_")
	if !ok {
		return nil
	}
	return testCards[name]
}
