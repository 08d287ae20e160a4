package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db/dbgen"
)

// Anyone, signed in or not, adds rows to auth_guards (a failed password for
// any email, a client address) and otp_sends (a code request): pruning keeps
// what an unauthenticated caller makes us store bounded by time.
const (
	// GuardRetention: a guard whose window and lockout ended this long ago
	// is deleted (a lockout's doubling starts again after a quiet week).
	GuardRetention = 7 * 24 * time.Hour
	// SendRetention outlives the longest send budget (the daily cap).
	SendRetention = 25 * time.Hour
	// PruneEvery is how often every worker prunes.
	PruneEvery = 10 * time.Minute
)

// Prune deletes the guards and code sends that no limit reads any more, as
// of now.
func Prune(ctx context.Context, pool *pgxpool.Pool, now time.Time) (guards, sends int64, err error) {
	q := dbgen.New(pool)
	if guards, err = q.PruneAuthGuards(ctx, now.Add(-GuardRetention)); err != nil {
		return 0, 0, fmt.Errorf("prune auth guards: %w", err)
	}
	if sends, err = q.PruneOTPSends(ctx, now.Add(-SendRetention)); err != nil {
		return guards, 0, fmt.Errorf("prune otp sends: %w", err)
	}
	return guards, sends, nil
}

// PruneLoop prunes every PruneEvery until ctx ends (run by every worker;
// concurrent prunes delete the same rows harmlessly).
func PruneLoop(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	t := time.NewTicker(PruneEvery)
	defer t.Stop()
	for {
		if guards, sends, err := Prune(ctx, pool, time.Now()); err != nil && ctx.Err() == nil {
			log.Error("pruning sign-in counters failed", "error", err.Error())
		} else if guards+sends > 0 {
			log.Info("pruned sign-in counters", "auth_guards", guards, "otp_sends", sends)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
