package billing

import (
	"context"
	"fmt"
)

// PromoteBatch bounds the starts one PromoteStarts queues.
const PromoteBatch = 500

// PromoteStarts moves the ReservationWorkflow starts that came due (open
// reservations past StartDebounce) into the outbox, once each; the outbox
// relay runs it before every lease (outbox.Relay.Promote).
func (s *Service) PromoteStarts(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, promoteSQL, PromoteBatch); err != nil {
		return fmt.Errorf("queue due reservation starts: %w", err)
	}
	return nil
}
