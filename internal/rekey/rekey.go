// Package rekey re-encrypts every secret stored in the database under the
// current OFFICEX_ENCRYPTION_KEY (officex rotate-encryption-key), so an old
// key can leave the keyring. It reads and rewrites only the encrypted
// columns listed in Columns, in short batches, and is safe to re-run: a value
// already under the current key is skipped, and a value changed meanwhile by
// the application is left to the application.
package rekey

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/secretbox"
)

// Column is one encrypted column: a BYTEA sealed by secretbox under a
// context made from the row's UUID primary key "id".
type Column struct {
	Table, Name string
	Context     func(id uuid.UUID) string
	// Key is the UUID primary key column ("" means "id").
	Key string
}

func (c Column) key() string {
	if c.Key == "" {
		return "id"
	}
	return c.Key
}

// Columns are every encrypted column of the schema. TestColumns_CoverTheSchema
// fails when a migration adds a BYTEA column ending in _enc that is missing here.
var Columns = []Column{
	{Table: "credit_purchases", Name: "client_secret_enc", Context: purchases.ClientSecretContext},
	{Table: "apps", Name: "webhook_secret_enc", Context: apps.WebhookSecretContext},
	{Table: "installs", Name: "secret_enc", Context: apps.InstallSecretContext},
	{Table: "installs", Name: "agent_context_enc", Context: apps.AgentContextContext},
	{Table: "credit_purchase_tokens", Name: "token_enc", Context: purchases.TokenContext, Key: "purchase_id"},
}

// Limits of one run.
const (
	DefaultBatch = 500
	MaxBatch     = 10_000
	// MaxReportedFailures bounds the row ids a report lists.
	MaxReportedFailures = 20
)

// ColumnReport is what a run did to one column.
type ColumnReport struct {
	Column    string   `json:"column"`
	Scanned   int      `json:"scanned"`
	Rewritten int      `json:"rewritten"`
	Failed    int      `json:"failed"`
	FailedIDs []string `json:"failed_ids,omitempty"`
}

// Report is a run's summary, printed by the command.
type Report struct {
	KeyID   string         `json:"key_id"`
	Columns []ColumnReport `json:"columns"`
}

// ErrUnreadable: some values open under no key of the keyring.
var ErrUnreadable = errors.New("some values could not be decrypted with OFFICEX_ENCRYPTION_KEY / OFFICEX_ENCRYPTION_KEYS")

// Run re-seals every value of every column under box's current key, batch
// rows at a time, one short transaction per batch. A value no key opens is
// counted and left as it is; Run then returns ErrUnreadable with the report.
func Run(ctx context.Context, pool *pgxpool.Pool, box *secretbox.Box, batch int) (Report, error) {
	if batch < 1 || batch > MaxBatch {
		return Report{}, fmt.Errorf("batch must be between 1 and %d", MaxBatch)
	}
	rep := Report{KeyID: box.CurrentKeyID()}
	var unreadable bool
	for _, col := range Columns {
		cr, err := rotateColumn(ctx, pool, box, col, batch)
		rep.Columns = append(rep.Columns, cr)
		if err != nil {
			return rep, err
		}
		unreadable = unreadable || cr.Failed > 0
	}
	if unreadable {
		return rep, ErrUnreadable
	}
	return rep, nil
}

type sealed struct {
	id    uuid.UUID
	value []byte
}

// rotateColumn walks the column in primary-key order (keyset pagination, so
// rows written during the run are neither skipped for long nor visited twice).
func rotateColumn(ctx context.Context, pool *pgxpool.Pool, box *secretbox.Box, col Column, batch int) (ColumnReport, error) {
	cr := ColumnReport{Column: col.Table + "." + col.Name}
	// Identifiers come from Columns, never from input.
	key := col.key()
	selectSQL := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s > $1 AND %s IS NOT NULL ORDER BY %s LIMIT $2`,
		key, col.Name, col.Table, key, col.Name, key)
	updateSQL := fmt.Sprintf(`UPDATE %s SET %s = $2 WHERE %s = $1 AND %s = $3`, col.Table, col.Name, key, col.Name)
	after := uuid.Nil
	for {
		rows, err := pool.Query(ctx, selectSQL, after, batch)
		if err != nil {
			return cr, fmt.Errorf("read %s: %w", cr.Column, err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sealed, error) {
			var s sealed
			return s, r.Scan(&s.id, &s.value)
		})
		if err != nil {
			return cr, fmt.Errorf("read %s: %w", cr.Column, err)
		}
		if len(page) == 0 {
			return cr, nil
		}
		if err := rewrite(ctx, pool, box, col, updateSQL, page, &cr); err != nil {
			return cr, err
		}
		after = page[len(page)-1].id
	}
}

// rewrite re-seals one batch in one transaction. The update matches the old
// value, so a secret the application replaced meanwhile (already under the
// current key) is not overwritten.
func rewrite(ctx context.Context, pool *pgxpool.Pool, box *secretbox.Box, col Column, updateSQL string, page []sealed, cr *ColumnReport) error {
	return db.InTx(ctx, pool, func(tx pgx.Tx) error {
		for _, s := range page {
			cr.Scanned++
			out, changed, err := box.Reseal(s.value, col.Context(s.id))
			if err != nil {
				cr.Failed++
				if len(cr.FailedIDs) < MaxReportedFailures {
					cr.FailedIDs = append(cr.FailedIDs, s.id.String())
				}
				continue
			}
			if !changed {
				continue
			}
			tag, err := tx.Exec(ctx, updateSQL, s.id, out, s.value)
			if err != nil {
				return fmt.Errorf("rewrite %s of %s: %w", cr.Column, s.id, err)
			}
			cr.Rewritten += int(tag.RowsAffected())
		}
		return nil
	})
}
