package payouts

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/ledger"
)

// SelfBilled returns, for each payout that has any, the credits its app was
// paid by its own vendor's installs (reservations of the app's owner settled
// into the app's wallet, made after the wallet's previous payout request and
// before this one). Finance sees them as self_billing before approving: a
// vendor billing itself turns purchased (or voucher) credits into a payout.
func (s *Service) SelfBilled(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]ledger.Credits, error) {
	out := map[uuid.UUID]ledger.Credits{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := dbgen.New(s.pool).ListSelfBilledAmounts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("self-billed amounts: %w", err)
	}
	for _, r := range rows {
		if r.SelfBilled > 0 {
			out[r.PayoutID] = ledger.Credits(r.SelfBilled)
		}
	}
	return out, nil
}
