package payouts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// StripeAccounts checks connected accounts with Stripe's account retrieval
// (GET /v1/accounts/{id}): a read, safe to repeat.
type StripeAccounts struct {
	API *client.API
}

// CheckAccount answers nil when Stripe knows the account, ErrNoSuchAccount
// when Stripe refuses it (missing, or not connected to the platform), and
// ErrAccountCheckUnavailable when Stripe could not answer.
func (c StripeAccounts) CheckAccount(ctx context.Context, accountID string) error {
	params := &stripe.AccountParams{}
	params.Context = ctx
	acct, err := c.API.Accounts.GetByID(accountID, params)
	if err == nil && acct.ID == accountID {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		switch se.HTTPStatusCode {
		case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound:
			return fmt.Errorf("%w: %s", ErrNoSuchAccount, accountID)
		}
	}
	if err == nil {
		err = fmt.Errorf("Stripe answered account %q for %s", acct.ID, accountID)
	}
	// Stripe's error text stays in the log; the caller learns only to retry.
	slog.WarnContext(ctx, "Stripe account check failed", "account", accountID, "error", err.Error())
	return ErrAccountCheckUnavailable
}
