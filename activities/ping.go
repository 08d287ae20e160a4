// Package activities holds OfficeX's Temporal activities: every external side
// effect (PostgreSQL writes driven by workflows, Stripe, Solana, webhooks,
// OpenAI, email). Each is idempotent by a business key, said in its comment.
package activities

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Ping holds the dependencies of the wiring check.
type Ping struct {
	Pool *pgxpool.Pool
}

// DatabaseTime reads PostgreSQL's clock. It changes nothing, so it is
// trivially idempotent.
func (p *Ping) DatabaseTime(ctx context.Context) (int64, error) {
	var ms int64
	if err := p.Pool.QueryRow(ctx, "SELECT (extract(epoch FROM now()) * 1000)::bigint").Scan(&ms); err != nil {
		return 0, fmt.Errorf("database time: %w", err)
	}
	return ms, nil
}
