// Package billing runs reservations: reserve -> sip -> settle | cancel |
// expire, with the per-install limits. Every money movement goes through the
// ledger in the request's one transaction, together with the reservation row,
// its vendor-inbox event and an outbox row for ReservationWorkflow; nothing
// on the request path waits on Temporal.
package billing

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/auth"
	"github.com/officex/officex/ledger"
)

// StartDebounce lets a reservation live this long before its
// ReservationWorkflow's start is due (sooner when it expires sooner): most
// close within it and never cost the outbox a row or Temporal a start and a
// signal (migration 00026; PromoteStarts queues the ones still open).
const StartDebounce = 2 * time.Second

// Errors of billing, mapped to the reference's codes by the API.
var (
	ErrInstallExpired      = errors.New("billing authorization expired (allowed_until has passed)")
	ErrLifetimeLimit       = errors.New("this reservation would exceed the install's lifetime_spend_limit")
	ErrDuplicateJob        = errors.New("this job_id already has a reservation")
	ErrReservationNotFound = errors.New("reservation not found")
	ErrReservationClosed   = errors.New("reservation is closed (completed, cancelled or expired)")
	ErrInvalid             = errors.New("invalid billing request")
)

// RateLimitedError names the window that is full and when it resets.
type RateLimitedError struct {
	Window     string
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%s reservation limit reached; it resets in %d s", e.Window, int(e.RetryAfter.Seconds()+0.999))
}

// Limits of a reservation.
const (
	DefaultTimeout    = time.Hour
	MaxTimeout        = 7 * 24 * time.Hour
	MaxMetadataBytes  = 16 << 10
	MaxJobIDLen       = 200
	ReservationPrefix = "RESV#"
)

// jobIDPattern keeps job ids usable in a URL path: printable, no spaces,
// slashes, question marks or percent signs.
var jobIDPattern = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`)

// Caller is an app acting for one install, as billing needs it.
type Caller struct {
	InstallID, UserID, AppID, UserWallet, AppWallet uuid.UUID
}

// Service runs billing.
type Service struct {
	pool *pgxpool.Pool
}

// New makes a Service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// Authenticate checks an install secret with one read (the hot path's auth).
// installID, or else userID + appID, names the install.
func (s *Service) Authenticate(ctx context.Context, installID, userID, appID uuid.UUID, secret string) (Caller, error) {
	q := dbgen.New(s.pool)
	if installID == uuid.Nil {
		id, err := q.GetActiveInstallIDOfUserApp(ctx, dbgen.GetActiveInstallIDOfUserAppParams{UserID: userID, AppID: appID})
		if db.IsNotFound(err) {
			// The same answer as a wrong secret: nobody learns which
			// users installed which apps.
			return Caller{}, apps.ErrInvalidSecret
		}
		if err != nil {
			return Caller{}, err
		}
		installID = id
	}
	r, err := q.GetInstallForBilling(ctx, installID)
	if db.IsNotFound(err) {
		return Caller{}, apps.ErrInstallNotFound
	}
	if err != nil {
		return Caller{}, fmt.Errorf("install for billing: %w", err)
	}
	if len(secret) > auth.MaxSecretLength || subtle.ConstantTimeCompare(auth.Hash(secret), r.SecretHash) != 1 {
		return Caller{}, apps.ErrInvalidSecret
	}
	switch {
	case r.Status != "active":
		return Caller{}, apps.ErrUninstalled
	case r.AppStatus != apps.StatusActive:
		return Caller{}, apps.ErrAppSuspended
	}
	if err := apps.CheckAccountStatuses(r.UserStatus, r.VendorStatus); err != nil {
		return Caller{}, err
	}
	return Caller{InstallID: r.ID, UserID: r.UserID, AppID: r.AppID, UserWallet: r.UserWalletID, AppWallet: r.AppWalletID}, nil
}

// ReserveRequest is a validated reserve.
type ReserveRequest struct {
	Amount   ledger.Credits
	JobID    string
	Metadata json.RawMessage // a JSON object, or nil
	Timeout  time.Duration   // 0: DefaultTimeout
}

func (r *ReserveRequest) validate() error {
	switch {
	case r.Amount <= 0 || r.Amount > ledger.MaxCredits:
		return fmt.Errorf("%w: amount must be more than 0", ErrInvalid)
	case !jobIDPattern.MatchString(r.JobID) || strings.ContainsAny(r.JobID, "/?%"):
		return fmt.Errorf("%w: job_id must be 1-%d printable characters without spaces, '/', '?' or '%%'", ErrInvalid, MaxJobIDLen)
	case len(r.Metadata) > MaxMetadataBytes:
		return fmt.Errorf("%w: metadata must be at most %d bytes", ErrInvalid, MaxMetadataBytes)
	case r.Timeout < 0 || r.Timeout > MaxTimeout:
		return fmt.Errorf("%w: timeout_seconds must be 1-%d", ErrInvalid, int(MaxTimeout.Seconds()))
	}
	if r.Metadata == nil {
		r.Metadata = json.RawMessage("{}")
	} else if t := strings.TrimSpace(string(r.Metadata)); !strings.HasPrefix(t, "{") {
		return fmt.Errorf("%w: metadata must be a JSON object", ErrInvalid)
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	return nil
}

// Reservation is a reservation's state.
type Reservation struct {
	ID                        uuid.UUID
	JobID                     string
	InstallID, AppID, UserID  uuid.UUID
	UserWallet, AppWallet     uuid.UUID
	Amount, Settled, Refunded ledger.Credits
	Status                    string
	Sips                      int // settles so far, numbering each settle's ledger reference
	Metadata                  json.RawMessage
	CreatedAt, ExpiresAt      time.Time
	ClosedAt                  *time.Time
}

// PublicID is the reference's reservation id, RESV#<job_id>.
func (r Reservation) PublicID() string { return ReservationPrefix + r.JobID }

// Remaining is what is still reserved.
func (r Reservation) Remaining() ledger.Credits { return r.Amount - r.Settled - r.Refunded }

// Open says whether the reservation can still be settled.
func (r Reservation) Open() bool { return r.Status == "reserved" || r.Status == "partial" }

func reservationFrom(r dbgen.Reservation) Reservation {
	return Reservation{ID: r.ID, JobID: r.JobID, InstallID: r.InstallID, AppID: r.AppID, UserID: r.UserID,
		UserWallet: r.UserWalletID, AppWallet: r.AppWalletID, Amount: ledger.Credits(r.Amount),
		Settled: ledger.Credits(r.Settled), Refunded: ledger.Credits(r.Refunded), Status: r.Status, Sips: int(r.Sips),
		Metadata: r.Metadata, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, ClosedAt: r.ClosedAt}
}

// Reserve locks amount of the user's credits for a job, within the install's
// limits, its workflow's start due after StartDebounce: billing_reserve
// (migrations 00023, 00026) in one statement, one round trip.
func (s *Service) Reserve(ctx context.Context, c Caller, req ReserveRequest) (Reservation, error) {
	if err := req.validate(); err != nil {
		return Reservation{}, err
	}
	rows, err := s.pool.Query(ctx, reserveSQL, c.InstallID, c.AppID, c.UserID, c.UserWallet, c.AppWallet, req.JobID,
		int64(req.Amount), req.Metadata, time.Now().Add(req.Timeout),
		pgtype.Interval{Microseconds: StartDebounce.Microseconds(), Valid: true}, ledger.NextSlot())
	row, err := oneReservation(rows, err)
	if err != nil {
		if isCode(err, "OXLIM") {
			return Reservation{}, refusal(ctx, dbgen.New(s.pool), c.InstallID, req.Amount)
		}
		return Reservation{}, billingError(err)
	}
	return reservationFrom(row), nil
}

func actor(c Caller) string { return "install:" + c.InstallID.String() }

// refusal explains why billing_reserve refused the install's limits, in the reference's order.
func refusal(ctx context.Context, q *dbgen.Queries, installID uuid.UUID, amount ledger.Credits) error {
	r, err := q.GetReserveRefusal(ctx, installID)
	if err != nil {
		return fmt.Errorf("reserve refusal: %w", err)
	}
	now := time.Now()
	switch {
	case r.Status != "active":
		return apps.ErrUninstalled
	case r.AllowedUntil != -1 && r.AllowedUntil <= r.NowUnix:
		return ErrInstallExpired
	case r.LifetimeSpendLimit != -1 && r.SpendCommitted+int64(amount) > r.LifetimeSpendLimit:
		return ErrLifetimeLimit
	case r.HourUsed >= r.MaxPerHour:
		return &RateLimitedError{Window: "hourly", RetryAfter: r.HourEnds.Sub(now)}
	case r.DayUsed >= r.MaxPerDay:
		return &RateLimitedError{Window: "daily", RetryAfter: r.DayEnds.Sub(now)}
	default:
		return &RateLimitedError{Window: "monthly", RetryAfter: r.MonthEnds.Sub(now)}
	}
}

// JobID extracts the job id from a reservation id ("RESV#job-1").
func JobID(reservationID string) (string, error) {
	job, ok := strings.CutPrefix(reservationID, ReservationPrefix)
	if !ok || job == "" {
		return "", ErrReservationNotFound
	}
	return job, nil
}

// Settle settles amount of the caller's reservation. final=false is a sip
// (the rest stays reserved); final=true settles amount and refunds the rest.
func (s *Service) Settle(ctx context.Context, c Caller, reservationID string, amount ledger.Credits, final bool) (Reservation, error) {
	if amount < 0 || amount > ledger.MaxCredits || (!final && amount == 0) {
		return Reservation{}, fmt.Errorf("%w: amount must be more than 0 (0 is allowed only with final: true)", ErrInvalid)
	}
	job, err := JobID(reservationID)
	if err != nil {
		return Reservation{}, err
	}
	rows, err := s.pool.Query(ctx, settleSQL, c.InstallID, job, int64(amount), final, ledger.NextSlot())
	row, err := oneReservation(rows, err)
	if isCode(err, "OXAMT") {
		return Reservation{}, fmt.Errorf("%w: amount %s is more than the %s still reserved", ErrInvalid, amount, remainingOf(err))
	}
	if err != nil {
		return Reservation{}, billingError(err)
	}
	return reservationFrom(row), nil
}

// Cancel refunds what is still reserved and closes the reservation; it
// returns the reservation and what this cancel refunded.
func (s *Service) Cancel(ctx context.Context, c Caller, reservationID string) (Reservation, ledger.Credits, error) {
	var refunded ledger.Credits
	res, err := s.withOpenReservation(ctx, c, reservationID, func(tx pgx.Tx, r Reservation) (Reservation, error) {
		refunded = r.Remaining()
		return s.close(ctx, tx, r, 0, refunded, "cancelled")
	})
	return res, refunded, err
}

func (s *Service) withOpenReservation(ctx context.Context, c Caller, reservationID string,
	fn func(tx pgx.Tx, r Reservation) (Reservation, error)) (Reservation, error) {
	job, err := JobID(reservationID)
	if err != nil {
		return Reservation{}, err
	}
	var out Reservation
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := dbgen.New(tx).GetReservationByJobForUpdate(ctx, dbgen.GetReservationByJobForUpdateParams{InstallID: c.InstallID, JobID: job})
		if db.IsNotFound(err) {
			return ErrReservationNotFound
		}
		if err != nil {
			return fmt.Errorf("lock reservation: %w", err)
		}
		r := reservationFrom(row)
		if !r.Open() {
			return ErrReservationClosed
		}
		out, err = fn(tx, r)
		return err
	})
	return out, err
}

// close moves settle to the app and refund back to the user, and records the
// new state; status is partial (a sip), completed, cancelled or expired.
// The caller holds the reservation's row lock.
func (s *Service) close(ctx context.Context, tx pgx.Tx, r Reservation, settle, refund ledger.Credits, status string) (Reservation, error) {
	// Locks are taken in one order everywhere: reservation, install, wallets
	// (a reserve takes install then wallet), app wallet slot last, so
	// billing never deadlocks. billing_close does it in one round trip.
	kind, amount := eventOf(status, settle, refund)
	rows, err := tx.Query(ctx, closeSQL, r.ID, int64(settle), int64(refund), status, kind, int64(amount), ledger.NextSlot())
	row, err := oneReservation(rows, err)
	if err != nil {
		return Reservation{}, billingError(err)
	}
	return reservationFrom(row), nil
}

func eventOf(status string, settle, refund ledger.Credits) (string, ledger.Credits) {
	switch status {
	case "partial":
		return "sipped", settle
	case "completed":
		return "settled", settle
	case "cancelled":
		return "cancelled", refund
	}
	return "expired", refund
}
