// Package purchases is the API side of buying credits: it validates a
// purchase, records it with its idempotency key, starts CreditPurchaseWorkflow
// and reports the outcome. The money moves only in the workflow's activities,
// through the ledger.
package purchases

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/outbox"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/workflows"
)

// Price and limits of a purchase. A credit costs 3 cents, so only whole
// credits make whole cents; Stripe's smallest USD charge is 50 cents.
const (
	CentsPerCredit       = 3
	MinCredits           = 17        // $0.51
	MaxCredits           = 1_000_000 // $30,000 per purchase
	MaxIdempotencyKeyLen = 255
	MaxTokenLen          = 255
	// WaitForOutcome bounds how long the request waits for Stripe's answer
	// before answering "processing".
	WaitForOutcome = 30 * time.Second
)

// Errors of a purchase request.
var (
	ErrInvalid         = errors.New("invalid purchase")
	ErrDuplicate       = errors.New("idempotency_key was already used with a different request")
	ErrPreviousFailure = errors.New("the purchase with this idempotency_key failed; use a new key")
	// ErrStripeNotConfigured: this process has no Stripe key (STRIPE_SECRET_KEY
	// outside make dev), so a purchase could never be charged.
	ErrStripeNotConfigured = errors.New("credit purchases are unavailable: the server has no Stripe configuration (STRIPE_SECRET_KEY is not set)")
)

// DeclinedError is a payment Stripe declined: nothing was credited.
type DeclinedError struct{ Code, Message string }

func (e *DeclinedError) Error() string { return e.Message }

var tokenPattern = regexp.MustCompile(`^(tok|pm)_[A-Za-z0-9_]{1,250}$`)

// Request is a validated purchase request.
type Request struct {
	Amount         ledger.Credits
	PaymentType    string
	Token          string
	IdempotencyKey string // empty: the purchase can't be replayed
}

// Result is the answer to a purchase.
type Result struct {
	PurchaseID      uuid.UUID
	Status          string // succeeded, requires_action, processing
	CreditsAdded    ledger.Credits
	NewBalance      ledger.Credits
	TransactionID   uuid.UUID
	PaymentIntentID string
	ClientSecret    string
}

// Service runs purchases.
type Service struct {
	pool      *pgxpool.Pool
	temporal  client.Client
	taskQueue string
	box       *secretbox.Box
	// stripeConfigured is false when no Stripe key (nor the dev simulator)
	// is set up: every purchase is refused at once, before anything is recorded.
	stripeConfigured bool
	// cards reads card fingerprints for the velocity limits (Admit).
	cards *stripeclient.API
}

// New makes a Service; without stripeConfigured every purchase answers
// ErrStripeNotConfigured and records nothing.
func New(pool *pgxpool.Pool, tc client.Client, taskQueue string, box *secretbox.Box, stripeConfigured bool) *Service {
	return &Service{pool: pool, temporal: tc, taskQueue: taskQueue, box: box, stripeConfigured: stripeConfigured}
}

// Validate checks a request against the limits and the price grid.
func Validate(r Request) error {
	switch {
	case r.Amount%ledger.Scale != 0:
		return fmt.Errorf("%w: amount must be a whole number of credits (1 credit = $0.03)", ErrInvalid)
	case r.Amount < MinCredits*ledger.Scale || r.Amount > MaxCredits*ledger.Scale:
		return fmt.Errorf("%w: amount must be between %d and %d credits", ErrInvalid, MinCredits, MaxCredits)
	case r.PaymentType != "stripe" && r.PaymentType != "card":
		return fmt.Errorf("%w: payment_method.type must be \"stripe\"", ErrInvalid)
	case len(r.Token) > MaxTokenLen || !tokenPattern.MatchString(r.Token):
		return fmt.Errorf("%w: payment_method.token must be a Stripe token (tok_...) or payment method (pm_...)", ErrInvalid)
	case len(r.IdempotencyKey) > MaxIdempotencyKeyLen:
		return fmt.Errorf("%w: idempotency_key must be at most %d characters", ErrInvalid, MaxIdempotencyKeyLen)
	}
	return nil
}

func requestHash(r Request) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s\x00%s", int64(r.Amount), r.PaymentType, r.Token))
	return h[:]
}

// Purchase records the purchase with the outbox row that starts its workflow
// and waits (bounded) for
// the outcome. A replayed idempotency key gets the first purchase's answer.
func (s *Service) Purchase(ctx context.Context, userID, walletID uuid.UUID, r Request) (Result, error) {
	if err := Validate(r); err != nil {
		return Result{}, err
	}
	if !s.stripeConfigured {
		return Result{}, ErrStripeNotConfigured
	}
	key := r.IdempotencyKey
	if key == "" {
		key = "auto-" + uuid.NewString()
	}
	id := uuid.New()
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		_, err := q.InsertCreditPurchase(ctx, dbgen.InsertCreditPurchaseParams{
			ID: id, UserID: userID, WalletID: walletID, Amount: int64(r.Amount), AmountCents: int64(r.Amount/ledger.Scale) * CentsPerCredit,
			IdempotencyKey: key, RequestHash: requestHash(r), PaymentMethodType: r.PaymentType})
		if err != nil {
			return err
		}
		err = q.InsertCreditPurchaseToken(ctx, dbgen.InsertCreditPurchaseTokenParams{PurchaseID: id,
			TokenEnc: s.box.Seal([]byte(r.Token), TokenContext(id))})
		if err != nil {
			return err
		}
		// Started by the outbox relay once this commits: the workflow always
		// finds its purchase, and the request waits on no Temporal call. It
		// is findable in the Temporal UI by buyer, wallet, amount and status.
		business := workflows.Business{UserID: userID.String(), WalletID: walletID.String(),
			AmountMicro: int64(r.Amount), Status: "processing", DestinationType: "stripe"}
		return outbox.Enqueue(ctx, tx, outbox.Start{Kind: "purchase", WorkflowID: workflows.CreditPurchaseWorkflowID(id.String()),
			WorkflowType: workflows.CreditPurchaseWorkflowName, TaskQueue: s.taskQueue,
			Input:            workflows.CreditPurchaseInput{PurchaseID: id.String()},
			SearchAttributes: business.AttributeMap(), Memo: workflows.Memo(business)})
	})
	if db.IsUniqueViolation(err, "credit_purchases_idempotency") {
		return s.replay(ctx, userID, key, r)
	}
	if err != nil {
		return Result{}, fmt.Errorf("record purchase: %w", err)
	}
	return s.await(ctx, id)
}

// TokenContext binds a purchase's sealed payment token to the purchase.
func TokenContext(purchaseID uuid.UUID) string { return "purchase-token:" + purchaseID.String() }

// replay answers a request whose idempotency key was used before.
func (s *Service) replay(ctx context.Context, userID uuid.UUID, key string, r Request) (Result, error) {
	row, err := dbgen.New(s.pool).GetCreditPurchaseByKey(ctx, dbgen.GetCreditPurchaseByKeyParams{UserID: userID, IdempotencyKey: key})
	if err != nil {
		return Result{}, fmt.Errorf("load purchase by key: %w", err)
	}
	if string(row.RequestHash) != string(requestHash(r)) {
		return Result{}, ErrDuplicate
	}
	if row.Status == "failed" {
		return Result{}, ErrPreviousFailure
	}
	return s.await(ctx, row.ID)
}

// await polls the purchase row, the source of truth, until the workflow has
// an outcome or WaitForOutcome passes.
func (s *Service) await(ctx context.Context, id uuid.UUID) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, WaitForOutcome)
	defer cancel()
	q := dbgen.New(s.pool)
	delay := 10 * time.Millisecond
	for {
		row, err := q.GetCreditPurchase(ctx, id)
		if err != nil && ctx.Err() == nil {
			return Result{}, fmt.Errorf("load purchase %s: %w", id, err)
		}
		if err == nil && row.Status != "processing" {
			return s.result(row)
		}
		select {
		case <-ctx.Done():
			return Result{PurchaseID: id, Status: "processing"}, nil
		case <-time.After(delay):
			delay = min(delay*2, 200*time.Millisecond)
		}
	}
}

func (s *Service) result(row dbgen.CreditPurchase) (Result, error) {
	res := Result{PurchaseID: row.ID, Status: row.Status}
	if row.StripePaymentIntentID != nil {
		res.PaymentIntentID = *row.StripePaymentIntentID
	}
	switch row.Status {
	case "succeeded":
		res.CreditsAdded = ledger.Credits(row.Amount)
		res.NewBalance = ledger.Credits(*row.BalanceAfter)
		res.TransactionID = row.JournalTransactionID.UUID
	case "failed":
		return Result{}, &DeclinedError{Code: deref(row.FailureCode), Message: deref(row.FailureMessage)}
	case "requires_action":
		if row.ClientSecretEnc != nil {
			secret, err := s.box.Open(row.ClientSecretEnc, ClientSecretContext(row.ID))
			if err != nil {
				return Result{}, err
			}
			res.ClientSecret = string(secret)
		}
	}
	return res, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// PaymentEvent is Stripe's word on a PaymentIntent, from a signed webhook.
type PaymentEvent struct {
	PaymentIntentID string
	// PurchaseID is the PaymentIntent's metadata purchase_id (ChargeCard sets
	// it): it finds a purchase that failed before its PaymentIntent id was
	// stored.
	PurchaseID  string
	AmountCents int64
	Outcome     workflows.PaymentOutcome
}

// maxOutcomeMessage bounds Stripe's message in the signal (outbox rows
// carry at most outbox.MaxInputBytes).
const maxOutcomeMessage = 500

// PaymentOutcome forwards Stripe's verdict on a payment intent to its
// purchase's workflow: the signal is written to the outbox in the
// transaction that locks the purchase and decides that its workflow still
// waits for it, and the relay sends it after the commit. A success reported
// for a purchase we already failed is credited here (the money was taken),
// once, with an audit entry. Unknown intents are ignored (false).
func (s *Service) PaymentOutcome(ctx context.Context, ev PaymentEvent) (bool, error) {
	row, found, err := s.purchaseOf(ctx, ev)
	if err != nil || !found {
		return false, err
	}
	if r := []rune(ev.Outcome.Message); len(r) > maxOutcomeMessage {
		ev.Outcome.Message = string(r[:maxOutcomeMessage])
	}
	late := false
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		locked, err := dbgen.New(tx).GetCreditPurchaseForUpdate(ctx, row.ID)
		if err != nil {
			return err
		}
		switch {
		case locked.Status == "failed" && ev.Outcome.Succeeded:
			late = true
			return nil
		case locked.Status != "requires_action" && locked.Status != "processing":
			return nil // already decided; a replayed webhook changes nothing
		}
		return outbox.EnqueueSignal(ctx, tx, outbox.Signal{Kind: "purchase", WorkflowID: workflows.CreditPurchaseWorkflowID(row.ID.String()),
			SignalName: workflows.PaymentOutcomeSignal, Input: ev.Outcome})
	})
	if err != nil {
		return false, fmt.Errorf("payment outcome of purchase %s: %w", row.ID, err)
	}
	if late {
		if ev.AmountCents != row.AmountCents {
			return false, fmt.Errorf("purchase %s: Stripe reports %d cents paid by %s, the purchase is %d cents",
				row.ID, ev.AmountCents, ev.PaymentIntentID, row.AmountCents)
		}
		if _, err := CreditPaid(ctx, s.pool, row.ID, ev.PaymentIntentID, "stripe_webhook"); err != nil {
			return false, fmt.Errorf("credit late payment of %s: %w", row.ID, err)
		}
	}
	return true, nil
}

// purchaseOf finds the purchase of a PaymentIntent: by the id stored on the
// purchase, else by the PaymentIntent's metadata when the purchase stored no
// other PaymentIntent.
func (s *Service) purchaseOf(ctx context.Context, ev PaymentEvent) (dbgen.CreditPurchase, bool, error) {
	q := dbgen.New(s.pool)
	row, err := q.GetCreditPurchaseByPaymentIntent(ctx, &ev.PaymentIntentID)
	if err == nil {
		return row, true, nil
	}
	if !db.IsNotFound(err) {
		return row, false, fmt.Errorf("purchase of %s: %w", ev.PaymentIntentID, err)
	}
	id, perr := uuid.Parse(ev.PurchaseID)
	if perr != nil {
		return row, false, nil
	}
	row, err = q.GetCreditPurchase(ctx, id)
	if db.IsNotFound(err) || (err == nil && row.StripePaymentIntentID != nil) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("purchase %s: %w", id, err)
	}
	return row, true, nil
}
