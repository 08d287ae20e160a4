package billing

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/chargebacks"
	"github.com/officex/officex/ledger"
)

// The billing functions of migration 00023: a reserve and a settle each run
// as one statement (one round trip, its own transaction), a close inside the
// caller's transaction. Measured against the multi-statement transaction
// they replace in bench/results.md.
const (
	reserveSQL = `SELECT * FROM billing_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	settleSQL  = `SELECT * FROM billing_settle($1, $2, $3, $4, $5)`
	closeSQL   = `SELECT * FROM billing_close($1, $2, $3, $4, $5, $6, $7)`
	// expireSQL (migration 00025): the expiry of one reservation, as its
	// workflow's activity and the sweeper make it.
	expireSQL = `SELECT billing_expire($1, $2, $3)`
	// expireOverdueSQL (migration 00025): a batch of the sweeper's.
	expireOverdueSQL = `SELECT billing_expire_overdue($1, $2, $3)`
	// promoteSQL (migration 00026): starts of reservations that came due,
	// into the outbox.
	promoteSQL = `SELECT reservation_starts_promote($1)`
)

// oneReservation reads the reservation a billing function returns.
func oneReservation(rows pgx.Rows, err error) (dbgen.Reservation, error) {
	if err != nil {
		return dbgen.Reservation{}, err
	}
	return pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[dbgen.Reservation])
}

// remainingOf is the amount a billing function's refusal names in its
// message (micro-credits).
func remainingOf(err error) ledger.Credits {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return 0
	}
	micro, _ := strconv.ParseInt(pgErr.Message, 10, 64)
	return ledger.Credits(micro)
}

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// billingError maps what a billing function refused to billing's errors
// (the SQLSTATEs of class OX are raised by the functions; the message
// carries the figure the error names).
func billingError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "OXNF0":
		return ErrReservationNotFound
	case "OXCL0":
		return ErrReservationClosed
	case "OXEXP":
		return fmt.Errorf("%w: it timed out at %s", ErrReservationClosed, pgErr.Message)
	case "OXAMT":
		return fmt.Errorf("%w: the amount is more than the %s still reserved", ErrInvalid, remainingOf(err))
	case "OXDBT":
		return &chargebacks.DebtError{Debt: remainingOf(err)}
	}
	if db.IsUniqueViolation(err, "reservations_job") {
		return ErrDuplicateJob
	}
	if refused := ledger.PostRefusal(err); refused != nil {
		return refused
	}
	return fmt.Errorf("billing: %w", err)
}
