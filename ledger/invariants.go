package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Violation is one broken invariant, naming what it concerns.
type Violation struct {
	Invariant string `json:"invariant"`
	Subject   string `json:"subject"` // e.g. "wallet <id>"
	Detail    string `json:"detail"`
}

// Warning is something an operator must look at that breaks no invariant
// (yet), such as a purchase left open: the books balance, but a customer may
// have paid for credits they don't have.
type Warning struct {
	Check   string `json:"check"`
	Subject string `json:"subject"` // e.g. "purchase <id>"
	Detail  string `json:"detail"`
}

// Report is the result of an invariant check. Warnings don't make it fail.
type Report struct {
	OK         bool        `json:"ok"`
	Violations []Violation `json:"violations"`
	Warnings   []Warning   `json:"warnings"`
}

// How long a purchase may stay open before the report lists it. A purchase
// is processing for seconds while Stripe answers; requires_action lasts up
// to the workflow's 24 h PaymentActionTimeout, then the PaymentIntent is
// cancelled. Past these, its workflow has stopped or is stuck retrying.
const (
	StuckProcessingAfter     = time.Hour
	StuckRequiresActionAfter = 25 * time.Hour
)

// maxWarnings bounds the warnings of a report.
const maxWarnings = 1000

// warningChecks are the checks that list what needs an operator; each
// returns (subject, detail) rows and takes ($1 limit, $2 processing age in
// seconds, $3 requires_action age in seconds).
var warningChecks = []struct{ name, sql string }{
	{"purchase_stuck", `SELECT 'purchase ' || id,
			status || ' since ' || to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
			': ' || trim_scale(amount::numeric / 1000000) || ' credits (' || amount_cents || ' cents) for user ' || user_id ||
			', PaymentIntent ' || COALESCE(stripe_payment_intent_id, 'none') || '; see workflow credit-purchase-' || id
		FROM credit_purchases
		WHERE (status = 'processing' AND updated_at < now() - make_interval(secs => $2))
		   OR (status = 'requires_action' AND updated_at < now() - make_interval(secs => $3))
		ORDER BY updated_at, id LIMIT $1`},
}

// querier is what the check reads through: a pool, a connection or a tx.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// maxViolations bounds a report; a broken ledger can have millions.
const maxViolations = 1000

// invariantChecks are the SQL checks of DESIGN.md section 5; each returns
// (subject, detail) rows for its violations. Later issues add the
// reservation and payout invariants here.
var invariantChecks = []struct{ name, sql string }{
	// Balances are read through wallet_balances: an app wallet's available
	// credits are its row plus its slots (migration 00022).
	{"zero_sum", `SELECT 'all wallets', 'sum of available + reserved is ' || sum(available + reserved)
		FROM wallet_balances HAVING sum(available + reserved) <> 0`},
	{"non_negative", `SELECT 'wallet ' || id, kind || ' wallet has available ' || available || ', reserved ' || reserved
		FROM wallets WHERE kind <> 'treasury' AND (available < 0 OR reserved < 0) LIMIT $1`},
	{"non_negative_slots", `SELECT 'wallet ' || wallet_id, 'slot ' || slot || ' has available ' || available
		FROM wallet_slots WHERE available < 0 LIMIT $1`},
	{"slots_of_app_wallets", `SELECT 'wallet ' || w.id, w.kind || ' wallet has ' || count(s.slot) || ' slots'
		FROM wallets w LEFT JOIN wallet_slots s ON s.wallet_id = w.id
		GROUP BY w.id, w.kind HAVING count(s.slot) <> CASE WHEN w.kind = 'app' THEN 16 ELSE 0 END LIMIT $1`},
	{"wallet_matches_journal", `SELECT 'wallet ' || w.id,
			'balances available ' || w.available || ', reserved ' || w.reserved ||
			' but the journal sums to ' || COALESCE(j.available, 0) || ', ' || COALESCE(j.reserved, 0)
		FROM wallet_balances w LEFT JOIN (
			SELECT wallet_id,
			       sum(amount) FILTER (WHERE bucket = 'available') AS available,
			       sum(amount) FILTER (WHERE bucket = 'reserved') AS reserved
			FROM journal_entries GROUP BY wallet_id) j ON j.wallet_id = w.id
		WHERE w.available <> COALESCE(j.available, 0) OR w.reserved <> COALESCE(j.reserved, 0) LIMIT $1`},
	{"reserved_matches_reservations", `SELECT 'wallet ' || w.id,
			'reserved ' || w.reserved || ' but its open reservations hold ' || COALESCE(r.remaining, 0)
		FROM wallets w LEFT JOIN (
			SELECT user_wallet_id, sum(amount - settled - refunded) AS remaining
			FROM reservations WHERE status IN ('reserved', 'partial') GROUP BY user_wallet_id) r ON r.user_wallet_id = w.id
		WHERE w.kind = 'user' AND w.reserved <> COALESCE(r.remaining, 0) LIMIT $1`},
	{"reservation_accounted", `SELECT 'reservation ' || id,
			'amount ' || amount || ', settled ' || settled || ', refunded ' || refunded || ', status ' || status
		FROM reservations
		WHERE settled < 0 OR refunded < 0 OR settled + refunded > amount
		   OR (status NOT IN ('reserved', 'partial') AND settled + refunded <> amount) LIMIT $1`},
	{"payout_in_one_place", `SELECT 'payout ' || p.id, 'status ' || p.status || ' but the journal has ' ||
			COALESCE(string_agg(t.kind, ',' ORDER BY t.kind), 'nothing')
		FROM payouts p LEFT JOIN journal_transactions t ON t.reference = p.id::text AND t.kind LIKE 'payout%'
		GROUP BY p.id, p.status
		HAVING COALESCE(string_agg(t.kind, ',' ORDER BY t.kind), '') NOT IN (
			CASE p.status WHEN 'pending' THEN 'payout_hold'
			              WHEN 'burned' THEN 'payout_burn,payout_hold'
			              WHEN 'needs_review' THEN 'payout_burn,payout_hold'
			              WHEN 'completed' THEN 'payout_burn,payout_hold'
			              WHEN 'rejected' THEN 'payout_hold,payout_release' END,
			CASE WHEN p.status = 'failed' THEN 'payout_burn,payout_hold,payout_restore' END,
			CASE WHEN p.status = 'failed' THEN 'payout_hold,payout_release' END)
		LIMIT $1`},
	{"payout_amounts", `SELECT 'payout ' || p.id, t.kind || ' moved ' || sum(abs(e.amount)) / 2 || ' for a payout of ' || p.amount
		FROM payouts p JOIN journal_transactions t ON t.reference = p.id::text AND t.kind LIKE 'payout%'
		JOIN journal_entries e ON e.transaction_id = t.id
		GROUP BY p.id, p.amount, t.id, t.kind HAVING sum(abs(e.amount)) <> 2 * p.amount LIMIT $1`},
	{"held_matches_payouts", `SELECT 'wallet ' || w.id, 'reserved ' || w.reserved || ' but pending payouts hold ' || COALESCE(h.held, 0)
		FROM wallets w LEFT JOIN (SELECT wallet_id, sum(amount) AS held FROM payouts WHERE status = 'pending' GROUP BY wallet_id) h
		ON h.wallet_id = w.id
		WHERE w.kind = 'app' AND w.reserved <> COALESCE(h.held, 0) LIMIT $1`},
	{"balanced_transactions", `SELECT 'journal transaction ' || transaction_id, 'entries sum to ' || sum(amount)
		FROM journal_entries GROUP BY transaction_id HAVING sum(amount) <> 0 OR count(*) < 2 LIMIT $1`},
}

// InvariantNames are the invariants CheckInvariants checks, in its order
// (a report lists only the broken ones; the console shows each).
func InvariantNames() []string {
	names := make([]string, len(invariantChecks))
	for i, c := range invariantChecks {
		names[i] = c.name
	}
	return names
}

// CheckInvariants runs every ledger invariant check and reports each
// violation with what it concerns, and the warnings (purchases left open).
// It only reads.
func CheckInvariants(ctx context.Context, q querier) (Report, error) {
	vs := []Violation{}
	for _, c := range invariantChecks {
		args := []any{}
		if strings.Contains(c.sql, "$1") {
			args = append(args, maxViolations)
		}
		rows, err := q.Query(ctx, c.sql, args...)
		if err != nil {
			return Report{}, fmt.Errorf("invariant %s: %w", c.name, err)
		}
		if vs, err = collect(rows, c.name, vs); err != nil {
			return Report{}, fmt.Errorf("invariant %s: %w", c.name, err)
		}
	}
	ws, err := checkWarnings(ctx, q)
	if err != nil {
		return Report{}, err
	}
	return Report{OK: len(vs) == 0, Violations: vs, Warnings: ws}, nil
}

func checkWarnings(ctx context.Context, q querier) ([]Warning, error) {
	ws := []Warning{}
	for _, c := range warningChecks {
		rows, err := q.Query(ctx, c.sql, maxWarnings, StuckProcessingAfter.Seconds(), StuckRequiresActionAfter.Seconds())
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.name, err)
		}
		ws, err = pgx.AppendRows(ws, rows, func(row pgx.CollectableRow) (Warning, error) {
			w := Warning{Check: c.name}
			return w, row.Scan(&w.Subject, &w.Detail)
		})
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.name, err)
		}
	}
	return ws[:min(len(ws), maxWarnings)], nil
}

func collect(rows pgx.Rows, invariant string, vs []Violation) ([]Violation, error) {
	defer rows.Close()
	for rows.Next() {
		v := Violation{Invariant: invariant}
		if err := rows.Scan(&v.Subject, &v.Detail); err != nil {
			return nil, err
		}
		if len(vs) < maxViolations {
			vs = append(vs, v)
		}
	}
	return vs, rows.Err()
}
