package stripesim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// The JSON objects below follow Stripe's (API version 2023-10-16, the one
// stripe-go v76 pins) closely enough for stripe-go to decode them. Fields that
// are always null here are typed any and left nil.

// PaymentIntent statuses.
const (
	statusRequiresPaymentMethod = "requires_payment_method"
	statusRequiresConfirmation  = "requires_confirmation"
	statusRequiresAction        = "requires_action"
	statusSucceeded             = "succeeded"
	statusCanceled              = "canceled"
)

type paymentMethod struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	BillingDetails billingDetails    `json:"billing_details"`
	Card           cardDetails       `json:"card"`
	Created        int64             `json:"created"`
	Customer       any               `json:"customer"`
	Livemode       bool              `json:"livemode"`
	Metadata       map[string]string `json:"metadata"`
	Type           string            `json:"type"`

	testCard *testCard // decides what confirming with this method does
}

type billingDetails struct {
	Address address `json:"address"`
	Email   any     `json:"email"`
	Name    any     `json:"name"`
	Phone   any     `json:"phone"`
}

type address struct {
	City       any `json:"city"`
	Country    any `json:"country"`
	Line1      any `json:"line1"`
	Line2      any `json:"line2"`
	PostalCode any `json:"postal_code"`
	State      any `json:"state"`
}

type cardDetails struct {
	Brand             string         `json:"brand"`
	Checks            cardChecks     `json:"checks"`
	Country           string         `json:"country"`
	ExpMonth          int            `json:"exp_month"`
	ExpYear           int            `json:"exp_year"`
	Fingerprint       string         `json:"fingerprint"`
	Funding           string         `json:"funding"`
	GeneratedFrom     any            `json:"generated_from"`
	Last4             string         `json:"last4"`
	Networks          cardNetworks   `json:"networks"`
	ThreeDSecureUsage threeDSecureUs `json:"three_d_secure_usage"`
	Wallet            any            `json:"wallet"`
}

type cardChecks struct {
	AddressLine1Check      any    `json:"address_line1_check"`
	AddressPostalCodeCheck any    `json:"address_postal_code_check"`
	CVCCheck               string `json:"cvc_check"`
}

type cardNetworks struct {
	Available []string `json:"available"`
	Preferred any      `json:"preferred"`
}

type threeDSecureUs struct {
	Supported bool `json:"supported"`
}

type paymentIntent struct {
	ID                        string                   `json:"id"`
	Object                    string                   `json:"object"`
	Amount                    int64                    `json:"amount"`
	AmountCapturable          int64                    `json:"amount_capturable"`
	AmountReceived            int64                    `json:"amount_received"`
	Application               any                      `json:"application"`
	ApplicationFeeAmount      any                      `json:"application_fee_amount"`
	AutomaticPaymentMethods   *automaticPaymentMethods `json:"automatic_payment_methods"`
	CanceledAt                *int64                   `json:"canceled_at"`
	CancellationReason        *string                  `json:"cancellation_reason"`
	CaptureMethod             string                   `json:"capture_method"`
	ClientSecret              string                   `json:"client_secret"`
	ConfirmationMethod        string                   `json:"confirmation_method"`
	Created                   int64                    `json:"created"`
	Currency                  string                   `json:"currency"`
	Customer                  any                      `json:"customer"`
	Description               *string                  `json:"description"`
	Invoice                   any                      `json:"invoice"`
	LastPaymentError          *apiError                `json:"last_payment_error"`
	LatestCharge              *string                  `json:"latest_charge"`
	Livemode                  bool                     `json:"livemode"`
	Metadata                  map[string]string        `json:"metadata"`
	NextAction                *nextAction              `json:"next_action"`
	OnBehalfOf                any                      `json:"on_behalf_of"`
	PaymentMethod             *string                  `json:"payment_method"`
	PaymentMethodTypes        []string                 `json:"payment_method_types"`
	Processing                any                      `json:"processing"`
	ReceiptEmail              *string                  `json:"receipt_email"`
	Review                    any                      `json:"review"`
	SetupFutureUsage          any                      `json:"setup_future_usage"`
	Shipping                  any                      `json:"shipping"`
	StatementDescriptor       *string                  `json:"statement_descriptor"`
	StatementDescriptorSuffix *string                  `json:"statement_descriptor_suffix"`
	Status                    string                   `json:"status"`
	TransferData              any                      `json:"transfer_data"`
	TransferGroup             *string                  `json:"transfer_group"`

	paymentMethod *paymentMethod // the method last attached, kept across a decline
}

type automaticPaymentMethods struct {
	Enabled bool `json:"enabled"`
}

type nextAction struct {
	Type         string         `json:"type"`
	UseStripeSDK map[string]any `json:"use_stripe_sdk,omitempty"`
}

type transfer struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountReversed     int64             `json:"amount_reversed"`
	BalanceTransaction string            `json:"balance_transaction"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	Description        *string           `json:"description"`
	Destination        string            `json:"destination"`
	DestinationPayment string            `json:"destination_payment"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	Reversals          list              `json:"reversals"`
	Reversed           bool              `json:"reversed"`
	SourceTransaction  any               `json:"source_transaction"`
	SourceType         string            `json:"source_type"`
	TransferGroup      *string           `json:"transfer_group"`
}

type list struct {
	Object     string `json:"object"`
	Data       []any  `json:"data"`
	HasMore    bool   `json:"has_more"`
	TotalCount int    `json:"total_count"`
	URL        string `json:"url"`
}

type payout struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	Amount                    int64             `json:"amount"`
	ArrivalDate               int64             `json:"arrival_date"`
	Automatic                 bool              `json:"automatic"`
	BalanceTransaction        string            `json:"balance_transaction"`
	Created                   int64             `json:"created"`
	Currency                  string            `json:"currency"`
	Description               *string           `json:"description"`
	Destination               string            `json:"destination"`
	FailureBalanceTransaction *string           `json:"failure_balance_transaction"`
	FailureCode               *string           `json:"failure_code"`
	FailureMessage            *string           `json:"failure_message"`
	Livemode                  bool              `json:"livemode"`
	Metadata                  map[string]string `json:"metadata"`
	Method                    string            `json:"method"`
	OriginalPayout            any               `json:"original_payout"`
	ReconciliationStatus      string            `json:"reconciliation_status"`
	ReversedBy                any               `json:"reversed_by"`
	SourceType                string            `json:"source_type"`
	StatementDescriptor       *string           `json:"statement_descriptor"`
	Status                    string            `json:"status"`
	Type                      string            `json:"type"`
}

type event struct {
	ID              string       `json:"id"`
	Object          string       `json:"object"`
	Account         string       `json:"account,omitempty"` // set for events of a connected account
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Data            eventData    `json:"data"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int          `json:"pending_webhooks"`
	Request         eventRequest `json:"request"`
	Type            string       `json:"type"`
}

type eventData struct {
	Object any `json:"object"`
}

type eventRequest struct {
	ID             any `json:"id"`
	IdempotencyKey any `json:"idempotency_key"`
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns a Stripe-shaped id, prefix_ and 24 random alphanumerics.
// Random rather than sequential so ids never repeat across restarts of
// `officex dev`, whose database outlives the simulator's memory; and with
// no further underscore, because Stripe.js splits client secrets on them.
func newID(prefix string) string {
	return prefix + "_" + randomString(24)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// fingerprint is a card's stable fingerprint, the same for every use of the
// same test card, as Stripe's is for the same card number.
func fingerprint(c *testCard) string {
	sum := sha256.Sum256([]byte(c.brand + c.last4))
	return hex.EncodeToString(sum[:8])
}
