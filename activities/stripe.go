package activities

import (
	"errors"
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/temporal"
)

// stripeNetworkRetries lets stripe-go retry a dropped connection itself, with
// the same idempotency key; Temporal retries the activity beyond that.
const stripeNetworkRetries = 2

// NewStripeClient returns a Stripe API client; apiBase (STRIPE_API_BASE)
// points it at stripe-mock or the dev simulator instead of Stripe.
func NewStripeClient(secretKey, apiBase string) *client.API {
	cfg := func() *stripe.BackendConfig {
		c := &stripe.BackendConfig{MaxNetworkRetries: stripe.Int64(stripeNetworkRetries),
			LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelError}}
		if apiBase != "" {
			c.URL = stripe.String(apiBase)
		}
		return c
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg()),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg()),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg()),
	}
	return client.New(secretKey, backends)
}

// stripeError classifies a failed Stripe call: a request Stripe refused as
// invalid is final (non-retryable, of type rejectedType); anything else
// (network, rate limit, Stripe down, bad key) is retried by Temporal.
func stripeError(err error, rejectedType string) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch se.HTTPStatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusPaymentRequired:
			return temporal.NewNonRetryableApplicationError(se.Msg, rejectedType, err)
		}
	}
	return err
}
