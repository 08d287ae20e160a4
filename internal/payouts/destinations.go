package payouts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// Errors of payout destinations.
var (
	ErrDestinationNotFound = errors.New("payout destination not found")
	ErrNotYourDestination  = errors.New("the payout destination belongs to another user")
	// ErrAccountTaken: a Stripe connected account is paid to one vendor only.
	ErrAccountTaken = errors.New("this Stripe account is registered to another vendor")
	// ErrNoSuchAccount: Stripe answered that the account does not exist.
	ErrNoSuchAccount = errors.New("Stripe knows no such account")
	// ErrAccountCheckUnavailable: Stripe could not be asked (not configured,
	// unreachable); nothing was registered.
	ErrAccountCheckUnavailable = errors.New("the Stripe account could not be checked now; try again later")
)

// AccountChecker asks Stripe whether a connected account exists (a read,
// safe to repeat). It answers ErrNoSuchAccount for an account Stripe does
// not know, ErrAccountCheckUnavailable when Stripe cannot be asked.
type AccountChecker interface {
	CheckAccount(ctx context.Context, accountID string) error
}

// Destination is a payout destination a vendor registered.
type Destination struct {
	ID                              uuid.UUID
	UserID                          uuid.UUID
	Type, Account, ConnectedAccount string
	CreatedAt                       time.Time
}

func destinationFrom(d dbgen.PayoutDestination) Destination {
	return Destination{ID: d.ID, UserID: d.UserID, Type: d.Type, Account: d.AccountID, ConnectedAccount: d.ConnectedAccountID,
		CreatedAt: d.CreatedAt}
}

// stripeAccountOf is the Stripe connected account a destination pays
// through, or "" for none (USDC).
func stripeAccountOf(typ, account, connected string) string {
	switch typ {
	case TypeStripe:
		return account
	case TypeBank:
		return connected
	}
	return ""
}

// RegisterDestination registers a payout destination of the user, or
// answers the one already registered (created false). A Stripe connected
// account is checked with Stripe first (no database lock is held across the
// call) and is then tied to the user; another vendor's account is
// ErrAccountTaken.
func (s *Service) RegisterDestination(ctx context.Context, user uuid.UUID, typ, account, connected string) (Destination, bool, error) {
	if err := s.validateDestination(typ, account, connected); err != nil {
		return Destination{}, false, err
	}
	q := dbgen.New(s.pool)
	found, err := q.FindPayoutDestination(ctx, dbgen.FindPayoutDestinationParams{UserID: user, Type: typ, AccountID: account,
		ConnectedAccountID: connected})
	if err == nil {
		return destinationFrom(found), false, nil
	}
	if !db.IsNotFound(err) {
		return Destination{}, false, err
	}
	acct := stripeAccountOf(typ, account, connected)
	if acct != "" {
		if err := s.checkAccount(ctx, user, acct); err != nil {
			return Destination{}, false, err
		}
	}
	var out Destination
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		if acct != "" {
			owner, err := q.ClaimConnectedAccount(ctx, dbgen.ClaimConnectedAccountParams{AccountID: acct, UserID: user})
			if err != nil {
				return fmt.Errorf("claim connected account %s: %w", acct, err)
			}
			if owner != user {
				return ErrAccountTaken
			}
		}
		d, err := q.InsertPayoutDestination(ctx, dbgen.InsertPayoutDestinationParams{UserID: user, Type: typ, AccountID: account,
			ConnectedAccountID: connected})
		out = destinationFrom(d)
		return err
	})
	return out, err == nil, err
}

// checkAccount refuses an account another vendor holds (before asking
// Stripe), then asks Stripe whether it exists.
func (s *Service) checkAccount(ctx context.Context, user uuid.UUID, acct string) error {
	owner, err := dbgen.New(s.pool).GetConnectedAccountOwner(ctx, acct)
	switch {
	case err == nil && owner != user:
		return ErrAccountTaken
	case err == nil:
		return nil // checked with Stripe when this vendor first registered it
	case !db.IsNotFound(err):
		return err
	}
	if s.accounts == nil {
		return fmt.Errorf("%w (Stripe is not configured)", ErrAccountCheckUnavailable)
	}
	return s.accounts.CheckAccount(ctx, acct)
}

func (s *Service) validateDestination(typ, account, connected string) error {
	return s.validate(Request{Type: typ, Account: account, ConnectedAccount: connected})
}

// Destination reads one of the user's destinations.
func (s *Service) Destination(ctx context.Context, user, id uuid.UUID) (Destination, error) {
	d, err := dbgen.New(s.pool).GetPayoutDestination(ctx, id)
	if db.IsNotFound(err) {
		return Destination{}, ErrDestinationNotFound
	}
	if err != nil {
		return Destination{}, err
	}
	if d.UserID != user {
		return Destination{}, ErrNotYourDestination
	}
	return destinationFrom(d), nil
}

// ListDestinations lists the user's destinations, newest first.
func (s *Service) ListDestinations(ctx context.Context, user uuid.UUID, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Destination, error) {
	rows, err := dbgen.New(s.pool).ListPayoutDestinations(ctx, dbgen.ListPayoutDestinationsParams{UserID: user, RowLimit: int32(limit),
		AfterCreated: afterCreated, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}})
	if err != nil {
		return nil, err
	}
	out := make([]Destination, len(rows))
	for i, r := range rows {
		out[i] = destinationFrom(r)
	}
	return out, nil
}
