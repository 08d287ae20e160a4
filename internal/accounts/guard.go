package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/clientaddr"
)

// The guards against guessing, counted in PostgreSQL (auth_guards) so every
// serve process shares them: a lockout per account's password login, a
// failure budget per client address, and a global budget of code checks per
// minute. Every limit is a field of Throttle; zero switches it off.

// verifyGuardKey is the one row counting code checks of the current minute.
const verifyGuardKey = "verify"

func passwordGuardKey(email string) string { return "password:" + email }
func clientGuardKey(client string) string  { return "client:" + client }

// checkPasswordLock refuses a password login while email's lockout runs,
// before any argon2id work. Unknown emails lock alike: the answer says
// nothing about who has an account.
func (s *Service) checkPasswordLock(ctx context.Context, email string) error {
	if s.throttle.PasswordFailures == 0 {
		return nil
	}
	g, err := s.q.GetAuthGuard(ctx, passwordGuardKey(email))
	if db.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("password guard: %w", err)
	}
	if now := s.now(); g.LockedUntil != nil && now.Before(*g.LockedUntil) {
		return &LockedError{RetryAfter: g.LockedUntil.Sub(now)}
	}
	return nil
}

// recordPasswordFailure counts a wrong password for email; the
// PasswordFailures-th in a row locks password login for PasswordLockout,
// doubled for each lockout since the last successful login.
func (s *Service) recordPasswordFailure(ctx context.Context, email string) error {
	if s.throttle.PasswordFailures == 0 {
		return nil
	}
	now := s.now()
	return s.inTx(ctx, func(q *dbgen.Queries) error {
		g, err := q.LockAuthGuard(ctx, dbgen.LockAuthGuardParams{Key: passwordGuardKey(email), WindowStart: now})
		if err != nil {
			return fmt.Errorf("lock password guard: %w", err)
		}
		if g.LockedUntil != nil && now.Before(*g.LockedUntil) {
			return nil // a concurrent attempt already locked it
		}
		g.Failures++
		if int(g.Failures) >= s.throttle.PasswordFailures {
			g.Lockouts++
			g.Failures = 0
			until := now.Add(s.lockoutFor(int(g.Lockouts)))
			g.LockedUntil = &until
		}
		return q.UpdateAuthGuard(ctx, dbgen.UpdateAuthGuardParams{Key: g.Key, Failures: g.Failures,
			WindowStart: g.WindowStart, Lockouts: g.Lockouts, LockedUntil: g.LockedUntil})
	})
}

// lockoutFor is the length of the n-th lockout: PasswordLockout doubled n-1
// times, at most MaxLockout.
func (s *Service) lockoutFor(n int) time.Duration {
	d := s.throttle.PasswordLockout
	for i := 1; i < n && d < MaxLockout; i++ {
		d *= 2
	}
	return min(d, MaxLockout)
}

// clearPasswordFailures forgets email's failures after a successful login.
func (s *Service) clearPasswordFailures(ctx context.Context, email string) error {
	if s.throttle.PasswordFailures == 0 {
		return nil
	}
	return s.q.DeleteAuthGuard(ctx, passwordGuardKey(email))
}

// checkClient refuses sign-ins from a client that failed ClientFailures
// times in the current window, until the window ends.
func (s *Service) checkClient(ctx context.Context) error {
	client := clientaddr.FromContext(ctx)
	if s.throttle.ClientFailures == 0 || client == "" {
		return nil
	}
	g, err := s.q.GetAuthGuard(ctx, clientGuardKey(client))
	if db.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("client guard: %w", err)
	}
	now := s.now()
	window := now.Truncate(s.throttle.ClientWindow)
	if g.WindowStart.Equal(window) && int(g.Failures) >= s.throttle.ClientFailures {
		return &LockedError{RetryAfter: window.Add(s.throttle.ClientWindow).Sub(now)}
	}
	return nil
}

// recordClientFailure counts a failed sign-in of the request's client.
func (s *Service) recordClientFailure(ctx context.Context) error {
	client := clientaddr.FromContext(ctx)
	if s.throttle.ClientFailures == 0 || client == "" {
		return nil
	}
	window := s.now().Truncate(s.throttle.ClientWindow)
	_, err := s.q.HitAuthWindow(ctx, dbgen.HitAuthWindowParams{Key: clientGuardKey(client), WindowStart: window})
	return err
}

// countVerify counts one code check in the current minute and refuses it
// beyond VerifyPerMinute, whichever account or client it is for: spread over
// many accounts and addresses, guesses still meet this bound.
func (s *Service) countVerify(ctx context.Context) error {
	if s.throttle.VerifyPerMinute == 0 {
		return nil
	}
	now := s.now()
	window := now.Truncate(time.Minute)
	n, err := s.q.HitAuthWindow(ctx, dbgen.HitAuthWindowParams{Key: verifyGuardKey, WindowStart: window})
	if err != nil {
		return fmt.Errorf("count code check: %w", err)
	}
	if int(n) > s.throttle.VerifyPerMinute {
		return &LockedError{RetryAfter: window.Add(time.Minute).Sub(now)}
	}
	return nil
}
