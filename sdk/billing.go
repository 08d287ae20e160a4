package officex

import (
	"context"
	"time"

	"github.com/officex/officex/sdk/openapi"
)

// ReservationPrefix starts every reservation id: RESV#<job_id>.
const ReservationPrefix = "RESV#"

// ReserveRequest locks credits of the install's user for one job.
type ReserveRequest struct {
	Amount   Credits
	JobID    string        // your id for the job; one reservation per job
	Metadata any           // stored with the reservation (any JSON, up to 16 KiB)
	Timeout  time.Duration // until the reservation expires and is refunded; 0: the server's default
}

// Reservation is a reserve's answer.
type Reservation struct {
	ID        string // RESV#<job_id>: pass it to Sip, Settle and Cancel
	Amount    Credits
	ExpiresAt time.Time
}

// Settlement is where a reservation stands after a sip, settle or cancel.
type Settlement struct {
	ReservationID string
	Settled       Credits // paid to the app so far
	Remaining     Credits // still reserved
	Refunded      Credits // given back to the user
	Status        string  // reserved, partial, completed, cancelled or expired
}

// Reserve locks req.Amount of the user's credits for req.JobID (install
// secret). The job id is the idempotency key: when a retry finds that an
// earlier attempt of this call reserved before its answer was lost
// (DUPLICATE_JOB), Reserve answers that open reservation if its amount is
// the one asked.
func (c *Client) Reserve(ctx context.Context, req ReserveRequest) (*Reservation, error) {
	ctx, attempts := withAttempts(ctx)
	body := openapi.ReserveJSONRequestBody{Amount: req.Amount, JobId: req.JobID, Metadata: req.Metadata}
	if req.Timeout > 0 {
		secs := int((req.Timeout + time.Second - 1) / time.Second)
		body.TimeoutSeconds = &secs
	}
	res, err := Check(c.ReserveWithResponse(ctx, body))
	if err == nil {
		r := res.JSON200
		return &Reservation{ID: r.ReservationId, Amount: r.AmountReserved, ExpiresAt: r.ExpiresAt}, nil
	}
	if *attempts > 1 && IsCode(err, CodeDuplicateJob) {
		got, getErr := c.GetReservationWithResponse(ctx, ReservationPrefix+req.JobID)
		if getErr == nil && got.JSON200 != nil {
			if r := got.JSON200.Reservation; r.Amount == req.Amount && r.Status == openapi.ReservationStatusReserved {
				return &Reservation{ID: r.ReservationId, Amount: r.Amount, ExpiresAt: r.ExpiresAt}, nil
			}
		}
	}
	return nil, err
}

// Sip moves amount of the reservation to the app and keeps the rest
// reserved (settle with final false). The API has no idempotency key for a
// sip, so the SDK retries one only when its connection was refused: a sip
// sent twice would be paid twice.
func (c *Client) Sip(ctx context.Context, reservationID string, amount Credits) (*Settlement, error) {
	final := false
	return c.settle(ctx, reservationID, openapi.SettleByPathJSONRequestBody{Amount: amount, Final: &final})
}

// Settle moves amount to the app, refunds what is left to the user and
// closes the reservation (settle with final true). Settle(ctx, id, 0) closes
// a reservation after sips. A retried Settle that finds the reservation
// completed (an earlier attempt closed it before its answer was lost)
// answers its final state.
func (c *Client) Settle(ctx context.Context, reservationID string, amount Credits) (*Settlement, error) {
	ctx, attempts := withAttempts(ctx)
	final := true
	s, err := c.settle(ctx, reservationID, openapi.SettleByPathJSONRequestBody{Amount: amount, Final: &final})
	if err != nil {
		if r := c.closedEarlier(ctx, reservationID, *attempts, err, openapi.ReservationStatusCompleted); r != nil {
			return &Settlement{ReservationID: r.ReservationId, Settled: r.Settled, Remaining: r.Remaining,
				Refunded: r.Refunded, Status: string(r.Status)}, nil
		}
	}
	return s, err
}

func (c *Client) settle(ctx context.Context, reservationID string, body openapi.SettleByPathJSONRequestBody) (*Settlement, error) {
	res, err := Check(c.SettleByPathWithResponse(ctx, reservationID, body))
	if err != nil {
		return nil, err
	}
	s := res.JSON200
	return &Settlement{ReservationID: s.ReservationId, Settled: s.SettledAmount, Remaining: s.RemainingReserved,
		Refunded: s.RefundedAmount, Status: string(s.Status)}, nil
}

// Cancel refunds everything still reserved to the user and closes the
// reservation (what sips paid stays paid); it answers the amount refunded.
func (c *Client) Cancel(ctx context.Context, reservationID string) (refunded Credits, err error) {
	ctx, attempts := withAttempts(ctx)
	res, err := Check(c.CancelReservationWithResponse(ctx, reservationID))
	if err != nil {
		if r := c.closedEarlier(ctx, reservationID, *attempts, err, openapi.ReservationStatusCancelled); r != nil {
			return r.Refunded, nil
		}
		return 0, err
	}
	return res.JSON200.RefundedAmount, nil
}

// closedEarlier: a retried call answered RESERVATION_CLOSED, so an earlier
// attempt of it may have closed the reservation before its answer was lost.
// It returns the reservation when its status is the one the call gives.
func (c *Client) closedEarlier(ctx context.Context, id string, attempts int, err error, want openapi.ReservationStatus) *openapi.Reservation {
	if attempts < 2 || !IsCode(err, CodeReservationClosed) {
		return nil
	}
	got, getErr := c.GetReservationWithResponse(ctx, id)
	if getErr != nil || got.JSON200 == nil || got.JSON200.Reservation.Status != want {
		return nil
	}
	return &got.JSON200.Reservation
}
