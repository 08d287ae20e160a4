package activities

import (
	"context"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/billing"
)

// Reservations are the activities of ReservationWorkflow.
type Reservations struct{ Billing *billing.Service }

// ExpireReservation refunds an open reservation past its timeout and returns
// its final status. Idempotent: under the row lock, a closed reservation is
// left as it is, so a retry never refunds twice.
func (r *Reservations) ExpireReservation(ctx context.Context, reservationID string) (string, error) {
	id, err := uuid.Parse(reservationID)
	if err != nil {
		return "", err
	}
	return r.Billing.Expire(ctx, id)
}
