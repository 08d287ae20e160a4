package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ReservationWorkflowID is the workflow id of one reservation.
func ReservationWorkflowID(reservationID string) string { return "reservation-" + reservationID }

// ReservationClosedSignal tells the workflow its reservation was settled or
// cancelled, so it ends instead of waiting for the timeout.
const ReservationClosedSignal = "reservation_closed"

// ChangeReservationStatusAttribute (issue 15): the workflow sets
// OfficexStatus to how the reservation ended (the outbox row started it with
// "reserved" and the buyer, app, wallet and amount).
const ChangeReservationStatusAttribute = "issue15-reservation-status-attribute"

// ReservationWorkflowName is the name Reservation.ReservationWorkflow is
// registered and started under; recorded histories carry it, so it never
// changes.
const ReservationWorkflowName = "ReservationWorkflow"

// ReservationActivities are the activities of ReservationWorkflow; the worker
// binds activities.Reservations, tests a fake. The method name is the
// activity type name in recorded histories, so it never changes.
type ReservationActivities interface {
	// ExpireReservation refunds an open reservation past its timeout and
	// answers the reservation's status.
	ExpireReservation(ctx context.Context, reservationID string) (string, error)
}

// Reservation is ReservationWorkflow bound to its activities, which it calls
// by method reference. Register it under ReservationWorkflowName.
type Reservation struct {
	Acts ReservationActivities
}

// ReservationInput names the reservation and when it times out.
type ReservationInput struct {
	ReservationID string
	ExpiresAt     time.Time
}

// ReservationResult is how the reservation's life ended for the workflow.
type ReservationResult struct {
	Status string // closed (settled or cancelled first), expired, or the status found at expiry
}

// ReservationWorkflow waits for its reservation to be closed or to time out;
// at the timeout it refunds whatever is still reserved. The database row is
// the truth: the expiry activity changes nothing on a closed reservation, so
// a lost signal can at worst leave the workflow waiting until the timeout.
func (w Reservation) ReservationWorkflow(ctx workflow.Context, in ReservationInput) (ReservationResult, error) {
	res, err := w.wait(ctx, in)
	if err == nil {
		UpsertBusiness(ctx, ChangeReservationStatusAttribute, Business{Status: res.Status})
	}
	return res, err
}

func (w Reservation) wait(ctx workflow.Context, in ReservationInput) (ReservationResult, error) {
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	wait := in.ExpiresAt.Sub(workflow.Now(ctx))
	if wait < 0 {
		wait = 0
	}
	timer := workflow.NewTimer(timerCtx, wait)
	closed := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, ReservationClosedSignal), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		closed = true
	})
	sel.AddFuture(timer, func(workflow.Future) {})
	sel.Select(ctx)
	if closed {
		cancelTimer()
		return ReservationResult{Status: "closed"}, nil
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// One short transaction; an attempt lost with a killed worker is
		// retried after this, so it bounds how late the refund can be.
		StartToCloseTimeout: 10 * time.Second,
		// Money must come back: retry until it does, backing off to a minute.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	var status string
	if err := workflow.ExecuteActivity(ctx, w.Acts.ExpireReservation, in.ReservationID).Get(ctx, &status); err != nil {
		return ReservationResult{}, err
	}
	return ReservationResult{Status: status}, nil
}
