package console

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// The sign-in failure limit: a client address that gave a wrong secret
// SignInFailures times in a SignInWindow is refused until the window ends.
// Counted in auth_guards, like the user sign-in limits, so every serve
// process shares the count (and the workers' pruning forgets old windows).
const (
	SignInFailures = 5
	SignInWindow   = 15 * time.Minute
)

func guardKey(client string) string { return "console:" + client }

// Guard counts failed console sign-ins per client address.
type Guard struct {
	pool *pgxpool.Pool
}

// NewGuard counts in pool's auth_guards.
func NewGuard(pool *pgxpool.Pool) *Guard { return &Guard{pool: pool} }

// Locked says how long client must wait before it may try again (0: it may).
func (g *Guard) Locked(ctx context.Context, client string, now time.Time) (time.Duration, error) {
	if client == "" {
		return 0, nil
	}
	row, err := dbgen.New(g.pool).GetAuthGuard(ctx, guardKey(client))
	if db.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	window := now.Truncate(SignInWindow)
	if row.WindowStart.Equal(window) && int(row.Failures) >= SignInFailures {
		return window.Add(SignInWindow).Sub(now), nil
	}
	return 0, nil
}

// Fail counts one failed sign-in of client.
func (g *Guard) Fail(ctx context.Context, client string, now time.Time) error {
	if client == "" {
		return nil
	}
	_, err := dbgen.New(g.pool).HitAuthWindow(ctx, dbgen.HitAuthWindowParams{Key: guardKey(client), WindowStart: now.Truncate(SignInWindow)})
	return err
}

// Cookie is one of the console's cookies: HttpOnly, SameSite=Strict, sent
// only under CookiePath, Secure when the console is served over TLS. A zero
// maxAge deletes it.
func Cookie(name, value string, maxAge time.Duration, secure bool) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: CookiePath, HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())}
	if maxAge <= 0 {
		c.MaxAge = -1
	}
	return c
}
