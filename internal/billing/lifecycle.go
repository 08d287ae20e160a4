package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/ledger"
)

// Expire refunds what is still reserved of a reservation whose timeout has
// passed and tells the user through the inbox, in one round trip
// (billing_expire, migration 00025). Idempotent: a closed reservation is
// left alone, so a retry never refunds twice. It answers the status the
// reservation ended with.
func (s *Service) Expire(ctx context.Context, id uuid.UUID) (string, error) {
	var status *string
	err := s.pool.QueryRow(ctx, expireSQL, id, false, ledger.NextSlot()).Scan(&status)
	if err != nil {
		return "", fmt.Errorf("expire reservation %s: %w", id, billingError(err))
	}
	return *status, nil
}

// CancelOpenForInstall cancels every open reservation of an install inside
// the caller's transaction (an uninstall), refunding what is still reserved.
func (s *Service) CancelOpenForInstall(ctx context.Context, tx pgx.Tx, installID uuid.UUID) error {
	q := dbgen.New(tx)
	ids, err := q.ListOpenReservationIDsOfInstall(ctx, installID)
	if err != nil {
		return err
	}
	for _, id := range ids { // ordered by id: concurrent cancels lock alike
		row, err := q.GetReservationForUpdate(ctx, id)
		if err != nil {
			return err
		}
		r := reservationFrom(row)
		if !r.Open() {
			continue
		}
		if _, err := s.close(ctx, tx, r, 0, r.Remaining(), "cancelled"); err != nil {
			return err
		}
	}
	return nil
}

// Event is one line of a reservation's history (and of the vendor inbox).
type Event struct {
	LogID     int64
	Kind      string
	Amount    ledger.Credits
	CreatedAt time.Time
	Acked     bool
	// Set in the vendor inbox only.
	Reservation *Reservation
}

// Get reads one of the caller's reservations with its history.
func (s *Service) Get(ctx context.Context, c Caller, reservationID string) (Reservation, []Event, error) {
	job, err := JobID(reservationID)
	if err != nil {
		return Reservation{}, nil, err
	}
	row, err := dbgen.New(s.pool).GetReservationByJob(ctx, dbgen.GetReservationByJobParams{InstallID: c.InstallID, JobID: job})
	if db.IsNotFound(err) {
		return Reservation{}, nil, ErrReservationNotFound
	}
	if err != nil {
		return Reservation{}, nil, err
	}
	events, err := s.events(ctx, row.ID)
	return reservationFrom(row), events, err
}

// GetByID reads a reservation by its internal id, with its history.
func (s *Service) GetByID(ctx context.Context, id uuid.UUID) (Reservation, []Event, error) {
	row, err := dbgen.New(s.pool).GetReservation(ctx, id)
	if db.IsNotFound(err) {
		return Reservation{}, nil, ErrReservationNotFound
	}
	if err != nil {
		return Reservation{}, nil, err
	}
	events, err := s.events(ctx, id)
	return reservationFrom(row), events, err
}

func (s *Service) events(ctx context.Context, id uuid.UUID) ([]Event, error) {
	rows, err := dbgen.New(s.pool).ListReservationEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]Event, len(rows))
	for i, e := range rows {
		out[i] = Event{LogID: e.ID, Kind: e.Kind, Amount: ledger.Credits(e.Amount), CreatedAt: e.CreatedAt, Acked: e.AckedAt != nil}
	}
	return out, nil
}

// WalletReservations lists a wallet's reservations, newest first: outgoing
// for a user wallet, incoming for an app wallet.
func (s *Service) WalletReservations(ctx context.Context, wallet uuid.UUID, incoming bool, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Reservation, error) {
	rows, err := dbgen.New(s.pool).ListWalletReservations(ctx, dbgen.ListWalletReservationsParams{Incoming: incoming, WalletID: wallet,
		RowLimit: int32(limit), AfterCreated: afterCreated, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}})
	if err != nil {
		return nil, err
	}
	out := make([]Reservation, len(rows))
	for i, r := range rows {
		out[i] = reservationFrom(r)
	}
	return out, nil
}

// AppInbox lists an app's reservation events, newest first; beforeID is the
// cursor (0 for the first page).
func (s *Service) AppInbox(ctx context.Context, appID uuid.UUID, unackedOnly bool, limit int, beforeID int64) ([]Event, error) {
	p := dbgen.ListAppInboxEventsParams{AppID: appID, UnackedOnly: unackedOnly, RowLimit: int32(limit)}
	if beforeID > 0 {
		p.BeforeID = &beforeID
	}
	rows, err := dbgen.New(s.pool).ListAppInboxEvents(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Event, len(rows))
	for i, e := range rows {
		r := Reservation{ID: e.ReservationID, JobID: e.JobID, InstallID: e.InstallID, UserID: e.UserID, AppID: e.AppID, Status: e.ReservationStatus}
		out[i] = Event{LogID: e.ID, Kind: e.Kind, Amount: ledger.Credits(e.Amount), CreatedAt: e.CreatedAt, Acked: e.AckedAt != nil, Reservation: &r}
	}
	return out, nil
}

// ErrEventNotFound is an unknown event of the app's inbox.
var ErrEventNotFound = fmt.Errorf("inbox event not found")

// Ack acknowledges one event of the app's inbox.
func (s *Service) Ack(ctx context.Context, appID uuid.UUID, logID int64) error {
	_, err := dbgen.New(s.pool).AckReservationEvent(ctx, dbgen.AckReservationEventParams{ID: logID, AppID: appID})
	if db.IsNotFound(err) {
		return ErrEventNotFound
	}
	return err
}

// Usage counts an install's reservations in the current UTC hour, day, month.
func (s *Service) Usage(ctx context.Context, installID uuid.UUID) (hour, day, month int, err error) {
	u, err := dbgen.New(s.pool).GetInstallUsage(ctx, installID)
	if err != nil {
		return 0, 0, 0, err
	}
	return int(u.HourUsed), int(u.DayUsed), int(u.MonthUsed), nil
}
