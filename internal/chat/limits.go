package chat

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// streamLease is how long a claimed stream slot lasts: longer than any turn,
// so a slot of a process that died mid-stream frees itself.
const streamLease = TurnTimeout + time.Minute

// ClaimStream takes one of the user's MaxStreamsPerUser slots and returns
// the function that gives it back; ErrTooManyStreams when all are in use.
func (s *Service) ClaimStream(ctx context.Context, user uuid.UUID) (release func(), err error) {
	q := dbgen.New(s.pool)
	if err := q.DeleteExpiredStreamSlots(ctx, user); err != nil {
		return nil, err
	}
	stream := uuid.New()
	_, err = q.ClaimStreamSlot(ctx, dbgen.ClaimStreamSlotParams{UserID: user, StreamID: stream,
		LeaseSeconds: int32(streamLease / time.Second), MaxSlots: MaxStreamsPerUser})
	if err != nil {
		if db.IsNotFound(err) {
			return nil, ErrTooManyStreams
		}
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		defer cancel()
		_ = q.ReleaseStreamSlot(ctx, dbgen.ReleaseStreamSlotParams{UserID: user, StreamID: stream}) // the lease frees it otherwise
	}, nil
}

// utcDay is the budget day of t.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// CheckBudget refuses when user has spent the day's tokens.
func (s *Service) CheckBudget(ctx context.Context, user uuid.UUID) error {
	now := time.Now()
	day := utcDay(now)
	used, err := dbgen.New(s.pool).GetTokenUsage(ctx, user)
	if err != nil {
		return err
	}
	if used >= s.DailyTokens {
		return &BudgetExceededError{Used: used, Budget: s.DailyTokens, RetryAfter: day.AddDate(0, 0, 1).Sub(now)}
	}
	return nil
}

// addUsage counts a model call's tokens on today's budget; it runs even
// after the caller went away, since the tokens were spent.
func (s *Service) addUsage(ctx context.Context, user uuid.UUID, u Usage) error {
	if u.Total() == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	return dbgen.New(s.pool).AddTokenUsage(ctx, dbgen.AddTokenUsageParams{UserID: user, Tokens: u.Total()})
}
