package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// DATABASE_URL may carry pgxpool's own settings (pool_max_conns, which Open
// honours); creating the database must not send them to the server, which
// refuses unknown parameters.
func TestEnsureDatabase_AcceptsPoolSettingsInTheURL(t *testing.T) {
	ctx := context.Background()
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	dsn := "postgres://postgres@127.0.0.1:5432/officex_pool_" + hex.EncodeToString(suffix) + "?sslmode=disable&pool_max_conns=3"
	if err := EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("EnsureDatabase with pool_max_conns: %v", err)
	}
	t.Cleanup(func() { _ = DropDatabase(context.Background(), dsn) })
	pool, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Config().MaxConns; got != 3 {
		t.Errorf("pool of %d connections, want DATABASE_URL's 3", got)
	}
}
