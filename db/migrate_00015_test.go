package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// migrationDB is a throwaway database of its own, dropped after the test.
func migrationDB(t *testing.T) (*pgxpool.Pool, *goose.Provider) {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv("OFFICEX_TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	u.Path = "/officex_mig_" + hex.EncodeToString(suffix)
	if err := EnsureDatabase(ctx, u.String()); err != nil {
		t.Skipf("no PostgreSQL: %v", err)
	}
	pool, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		_ = DropDatabase(context.Background(), u.String())
	})
	dir, _ := fs.Sub(migrations, "migrations")
	sqlDB := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { sqlDB.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, dir)
	if err != nil {
		t.Fatal(err)
	}
	return pool, p
}

// Migration 00015 moves vouchers of earlier versions to ids (their
// redemptions follow), keeps their clear code only until the application
// seals it, takes the code out of the audit log and journal memos, and kills
// one-time codes hashed the old way.
func TestMigration00015_MovesVouchersToIDsAndRedactsTheirCodes(t *testing.T) {
	ctx := context.Background()
	pool, p := migrationDB(t)
	if _, err := p.UpTo(ctx, 13); err != nil {
		t.Fatal(err)
	}
	const code = "OFX-LEGACY7KQ2ABCD"
	_, err := pool.Exec(ctx, `
		WITH u AS (INSERT INTO users (email) VALUES ('old@example.com') RETURNING id),
		     w AS (INSERT INTO wallets (kind, owner_user_id) SELECT 'user', id FROM u RETURNING id, owner_user_id),
		     v AS (INSERT INTO vouchers (code, amount) VALUES ('`+code+`', 1000000) RETURNING code),
		     j AS (INSERT INTO journal_transactions (kind, reference, actor, memo)
		           VALUES ('voucher', 'r1', 'user:x', '{"code": "`+code+`"}') RETURNING id),
		     e AS (INSERT INTO journal_entries (transaction_id, wallet_id, bucket, amount)
		           SELECT j.id, t.id, 'available', -1000000 FROM j, wallets t WHERE t.kind = 'treasury'
		           UNION ALL SELECT j.id, w.id, 'available', 1000000 FROM j, w RETURNING 1),
		     r AS (INSERT INTO voucher_redemptions (code, wallet_id, user_id, amount, journal_transaction_id)
		           SELECT '`+code+`', w.id, w.owner_user_id, 1000000, j.id FROM w, j RETURNING 1),
		     a AS (INSERT INTO audit_log (actor, action, target_type, target_id) VALUES ('admin', 'voucher.create', 'voucher', '`+code+`') RETURNING 1),
		     o AS (INSERT INTO otp_codes (email, purpose, code_hash, expires_at)
		           VALUES ('old@example.com', 'login', sha256('x'), now() + interval '5 minutes') RETURNING 1)
		SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM r) + (SELECT count(*) FROM a) + (SELECT count(*) FROM o)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	var id, prefix string
	var clear *string
	if err := pool.QueryRow(ctx, `SELECT id::text, code, code_prefix FROM vouchers`).Scan(&id, &clear, &prefix); err != nil {
		t.Fatal(err)
	}
	if clear == nil || *clear != code || prefix != "OFX-LEGA…" {
		t.Fatalf("voucher code %v prefix %q: the clear code stays until the application seals it", clear, prefix)
	}
	var redeemedID, auditTarget, memoPrefix, memoID string
	var memoCode *string
	var liveCodes int
	if err := pool.QueryRow(ctx, `SELECT voucher_id::text FROM voucher_redemptions`).Scan(&redeemedID); err != nil || redeemedID != id {
		t.Fatalf("redemption names voucher %q (%v), want %s", redeemedID, err, id)
	}
	if err := pool.QueryRow(ctx, `SELECT target_id FROM audit_log WHERE target_type = 'voucher'`).Scan(&auditTarget); err != nil || auditTarget != id {
		t.Fatalf("audit target %q (%v), want %s", auditTarget, err, id)
	}
	if err := pool.QueryRow(ctx, `SELECT memo->>'code', memo->>'code_prefix', memo->>'voucher_id'
		FROM journal_transactions WHERE kind = 'voucher'`).Scan(&memoCode, &memoPrefix, &memoID); err != nil {
		t.Fatal(err)
	}
	if memoCode != nil || memoPrefix != prefix || memoID != id {
		t.Fatalf("journal memo code %v prefix %q voucher %q", memoCode, memoPrefix, memoID)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM otp_codes WHERE consumed_at IS NULL`).Scan(&liveCodes); err != nil || liveCodes != 0 {
		t.Fatalf("%d codes hashed the old way still live (%v)", liveCodes, err)
	}
	// The journal is append-only again.
	if _, err := pool.Exec(ctx, `UPDATE journal_transactions SET memo = '{}'`); err == nil {
		t.Fatal("the journal accepted an update after the migration")
	}
	// And back down, for a rollback before any code was sealed.
	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatal(err)
	}
	var back string
	if err := pool.QueryRow(ctx, `SELECT code FROM voucher_redemptions`).Scan(&back); err != nil || back != code {
		t.Fatalf("down: redemption code %q (%v)", back, err)
	}
}
