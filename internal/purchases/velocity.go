package purchases

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/chargebacks"
)

// Velocity limits of purchases (issue 11 item 7): a stolen card tried from
// many accounts, or many cards tried from one account, is stopped before
// Stripe is asked to charge. Every new purchase attempt counts, declined ones
// included; a replayed idempotency key is the same attempt.
const (
	VelocityWindow = time.Hour
	// MaxPurchasesPerUser is how many purchases one user may start per VelocityWindow.
	MaxPurchasesPerUser = 10
	// MaxPurchasesPerCard is how many purchases one card (Stripe's card
	// fingerprint) may pay per VelocityWindow, whichever users start them.
	MaxPurchasesPerCard = 20
)

// RateLimitedError is a purchase over a velocity limit.
type RateLimitedError struct {
	Limit      string // "user" or "card"
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	what := map[string]string{"user": fmt.Sprintf("this account may start %d purchases", MaxPurchasesPerUser),
		"card": fmt.Sprintf("this card may pay %d purchases", MaxPurchasesPerCard)}[e.Limit]
	return fmt.Sprintf("too many purchases: %s per hour; try again in %d s", what, int(e.RetryAfter.Seconds()+0.999))
}

// ErrCardLookup: Stripe could not tell the card's fingerprint (Stripe
// unreachable); nothing was recorded and the purchase can be retried.
var ErrCardLookup = errors.New("could not check the payment method with Stripe; try again shortly")

// WithCardLookup gives the service the Stripe client Admit reads card
// fingerprints with (the worker's client: STRIPE_SECRET_KEY, STRIPE_API_BASE).
func (s *Service) WithCardLookup(sc *stripeclient.API) *Service {
	s.cards = sc
	return s
}

// Admit lets a new purchase attempt through the fraud checks, before
// anything is charged or recorded as a purchase: the user's purchases are
// not suspended by a payment hold, and the user and the card are under their
// velocity limits. It fixes r.IdempotencyKey (generating one when empty) so
// the purchase records the card fingerprint of its attempt. A replayed key
// is admitted again without counting (Purchase answers it).
func (s *Service) Admit(ctx context.Context, userID uuid.UUID, r *Request) error {
	if err := Validate(*r); err != nil || !s.stripeConfigured {
		return nil // Purchase answers these before recording anything
	}
	q := dbgen.New(s.pool)
	if r.IdempotencyKey == "" {
		r.IdempotencyKey = "auto-" + uuid.NewString()
	}
	_, err := q.GetPurchaseAttempt(ctx, dbgen.GetPurchaseAttemptParams{UserID: userID, IdempotencyKey: r.IdempotencyKey})
	if err == nil {
		return nil // a replay: Purchase answers it as the first time
	}
	if !db.IsNotFound(err) {
		return fmt.Errorf("purchase attempt: %w", err)
	}
	if err := chargebacks.CheckCanPurchase(ctx, q, userID); err != nil {
		return err
	}
	fp, err := s.cardFingerprint(ctx, r.Token) // a Stripe read, no lock held
	if err != nil {
		return err
	}
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error { return claimAttempt(ctx, dbgen.New(tx), userID, r.IdempotencyKey, fp) })
}

// claimAttempt counts and records one attempt under advisory locks on the
// user and the card (taken in that order by every claim), so concurrent
// attempts can't both take the last slot.
func claimAttempt(ctx context.Context, q *dbgen.Queries, userID uuid.UUID, key, fp string) error {
	for _, lock := range []string{"purchase-velocity:user:" + userID.String(), "purchase-velocity:card:" + fp} {
		if err := q.LockPurchaseVelocity(ctx, lock); err != nil {
			return fmt.Errorf("lock %s: %w", lock, err)
		}
	}
	if _, err := q.GetPurchaseAttempt(ctx, dbgen.GetPurchaseAttemptParams{UserID: userID, IdempotencyKey: key}); err == nil {
		return nil // a concurrent request with the same key claimed it
	}
	now := time.Now()
	since := now.Add(-VelocityWindow)
	user, err := q.CountUserPurchaseAttemptsSince(ctx, dbgen.CountUserPurchaseAttemptsSinceParams{UserID: userID, Since: since})
	if err != nil {
		return fmt.Errorf("count attempts of user: %w", err)
	}
	if user.Attempts >= MaxPurchasesPerUser {
		return &RateLimitedError{Limit: "user", RetryAfter: retryAfter(user.Oldest, now)}
	}
	card, err := q.CountCardPurchaseAttemptsSince(ctx, dbgen.CountCardPurchaseAttemptsSinceParams{CardFingerprint: fp, Since: since})
	if err != nil {
		return fmt.Errorf("count attempts of card: %w", err)
	}
	if card.Attempts >= MaxPurchasesPerCard {
		return &RateLimitedError{Limit: "card", RetryAfter: retryAfter(card.Oldest, now)}
	}
	return q.InsertPurchaseAttempt(ctx, dbgen.InsertPurchaseAttemptParams{UserID: userID, IdempotencyKey: key,
		CardFingerprint: fp, CreatedAt: now})
}

// retryAfter is when the oldest attempt in the window leaves it (at least 1 s).
func retryAfter(oldest time.Time, now time.Time) time.Duration {
	return max(oldest.Add(VelocityWindow).Sub(now), time.Second).Round(time.Second)
}

// cardFingerprint asks Stripe for the card behind a token (tok_: the token,
// which retrieving does not use up; pm_: the PaymentMethod). A card without a
// fingerprint counts under its token. Without a card lookup configured every
// card counts as one ("unknown"), so the per-card limit fails safe.
func (s *Service) cardFingerprint(ctx context.Context, token string) (string, error) {
	if s.cards == nil {
		return "unknown", nil
	}
	var card *stripe.PaymentMethodCard
	var err error
	if strings.HasPrefix(token, "tok_") {
		p := &stripe.TokenParams{}
		p.Context = ctx
		var t *stripe.Token
		if t, err = s.cards.Tokens.Get(token, p); err == nil && t.Card != nil {
			card = &stripe.PaymentMethodCard{Fingerprint: t.Card.Fingerprint}
		}
	} else {
		p := &stripe.PaymentMethodParams{}
		p.Context = ctx
		var pm *stripe.PaymentMethod
		if pm, err = s.cards.PaymentMethods.Get(token, p); err == nil {
			card = pm.Card
		}
	}
	var se *stripe.Error
	switch {
	case errors.As(err, &se) && (se.HTTPStatusCode == http.StatusNotFound || se.HTTPStatusCode == http.StatusBadRequest):
		return "", fmt.Errorf("%w: payment_method.token is not a usable Stripe token or payment method", ErrInvalid)
	case err != nil:
		return "", ErrCardLookup
	case card == nil || card.Fingerprint == "":
		return "token:" + token, nil
	}
	return card.Fingerprint, nil
}
