package activities

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"

	"github.com/officex/officex/ledger"
	"github.com/officex/officex/workflows"
)

// Reconcile holds the ledger check's dependencies.
type Reconcile struct{ Pool *pgxpool.Pool }

// CheckLedger runs every ledger invariant. It only reads, so it is idempotent.
// Violations and warnings (purchases left open) are logged at error level
// with what they concern, for the worker's log and its alerts.
func (r *Reconcile) CheckLedger(ctx context.Context) (workflows.ReconcileResult, error) {
	rep, err := ledger.CheckInvariants(ctx, r.Pool)
	if err != nil {
		return workflows.ReconcileResult{}, err
	}
	for _, v := range rep.Violations {
		activity.GetLogger(ctx).Error("ledger invariant violated", "invariant", v.Invariant, "subject", v.Subject, "detail", v.Detail)
	}
	for _, w := range rep.Warnings {
		activity.GetLogger(ctx).Error("reconcile warning", "check", w.Check, "subject", w.Subject, "detail", w.Detail)
	}
	return workflows.ReconcileResult{OK: rep.OK, Violations: len(rep.Violations), Warnings: len(rep.Warnings)}, nil
}
