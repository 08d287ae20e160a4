package ledger

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Violation is one broken invariant, naming what it concerns.
type Violation struct {
	Invariant string `json:"invariant"`
	Subject   string `json:"subject"` // e.g. "wallet <id>"
	Detail    string `json:"detail"`
}

// Report is the result of an invariant check.
type Report struct {
	OK         bool        `json:"ok"`
	Violations []Violation `json:"violations"`
}

// querier is what the check reads through: a pool, a connection or a tx.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// maxViolations bounds a report; a broken ledger can have millions.
const maxViolations = 1000

// CheckInvariants runs every ledger invariant of DESIGN.md section 5 that the
// schema holds so far. It only reads.
func CheckInvariants(ctx context.Context, q querier) (Report, error) {
	var vs []Violation
	rows, err := q.Query(ctx, `SELECT 'all wallets', 'sum of available + reserved is ' || sum(available + reserved)
		FROM wallets HAVING sum(available + reserved) <> 0`)
	if err != nil {
		return Report{}, fmt.Errorf("zero-sum check: %w", err)
	}
	if vs, err = collect(rows, "zero_sum", vs); err != nil {
		return Report{}, err
	}
	rows, err = q.Query(ctx, `SELECT 'wallet ' || id, kind || ' wallet has available ' || available || ', reserved ' || reserved
		FROM wallets WHERE kind <> 'treasury' AND (available < 0 OR reserved < 0) LIMIT $1`, maxViolations)
	if err != nil {
		return Report{}, fmt.Errorf("non-negative check: %w", err)
	}
	if vs, err = collect(rows, "non_negative", vs); err != nil {
		return Report{}, err
	}
	return Report{OK: len(vs) == 0, Violations: vs}, nil
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
