package db

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// EnsureDatabase creates the database named in dsn when it does not exist,
// connecting to the server's "postgres" database to do so. make dev uses it so
// a fresh machine needs nothing but a reachable PostgreSQL.
func EnsureDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return fmt.Errorf("DATABASE_URL names no database")
	}
	conn, err := pgx.Connect(ctx, adminURL(u))
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if IsUniqueViolation(err, "") { // created concurrently by another process
		return nil
	}
	return err
}

// DropDatabase removes a database, closing its connections; tests use it.
func DropDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	conn, err := pgx.Connect(ctx, adminURL(u))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// adminURL is u pointed at the postgres database, for one plain connection:
// without pgxpool's own settings (pool_max_conns, ...), which Open honours but
// a single connection would send to the server as unknown parameters.
func adminURL(u *url.URL) string {
	admin := *u
	admin.Path = "/postgres"
	q := admin.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	admin.RawQuery = q.Encode()
	return admin.String()
}
