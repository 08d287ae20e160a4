package accounts

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/auth"
)

// Purposes of one-time codes: a code only works for the flow it was sent for.
const (
	purposeLogin     = "login"
	purposeReset     = "reset_password"
	purposeRotateKey = "rotate_key"
)

var purposeSubjects = map[string]string{
	purposeLogin:     "Your OfficeX sign-in code",
	purposeReset:     "Your OfficeX password reset code",
	purposeRotateKey: "Your OfficeX key rotation code",
}

// sendCode throttles email, then, when the account exists, replaces its live
// code for purpose and mails it. Unknown emails are throttled the same way and
// get no mail, so callers answer known and unknown emails alike.
// createIfMissing makes the account first (registration).
func (s *Service) sendCode(ctx context.Context, rawEmail, purpose string, createIfMissing bool) error {
	email, err := NormalizeEmail(rawEmail)
	if err != nil {
		return err
	}
	code := auth.TestingOTP
	if !s.testingMode {
		code = auth.NewOTP()
	}
	send := false
	err = s.inTx(ctx, func(q *dbgen.Queries) error {
		if err := q.LockOTPEmail(ctx, email); err != nil {
			return err
		}
		if err := s.checkThrottle(ctx, q, email); err != nil {
			return err
		}
		if err := q.InsertOTPSend(ctx, email); err != nil {
			return err
		}
		user, err := q.GetUserByEmail(ctx, email)
		switch {
		case db.IsNotFound(err) && createIfMissing:
			if user, _, err = createUser(ctx, q, email, false); err != nil {
				return err
			}
		case db.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("get user by email: %w", err)
		}
		if user.Status != "active" {
			return nil // suspended accounts get no codes, and no hint that they exist
		}
		if err := q.DeleteLiveOTP(ctx, dbgen.DeleteLiveOTPParams{Email: email, Purpose: purpose}); err != nil {
			return err
		}
		send = true
		return q.InsertOTP(ctx, dbgen.InsertOTPParams{
			Email: email, Purpose: purpose, CodeHash: auth.HashOTP(email, purpose, code),
			ExpiresAt: time.Now().Add(OTPValidity),
		})
	})
	var throttled *ThrottledError
	switch {
	case errors.As(err, &throttled):
		s.codeOutcome(purpose, CodeThrottled)
	case err == nil && !send:
		s.codeOutcome(purpose, CodeNone)
	}
	if err != nil || !send {
		return err
	}
	body := fmt.Sprintf("Your OfficeX code is %s. It expires in %d minutes. If you did not ask for it, ignore this email.",
		code, int(OTPValidity.Minutes()))
	if err := s.mail.Send(ctx, email, purposeSubjects[purpose], body); err != nil {
		// The code is stored; the user can ask again once the throttle allows.
		s.log.ErrorContext(ctx, "sending one-time code failed", "purpose", purpose, "error", err.Error())
		s.codeOutcome(purpose, CodeSendFailed)
		return nil
	}
	s.codeOutcome(purpose, CodeSent)
	return nil
}

func (s *Service) checkThrottle(ctx context.Context, q *dbgen.Queries, email string) error {
	now := time.Now()
	stats, err := q.GetOTPSendStats(ctx, dbgen.GetOTPSendStatsParams{Email: email, Since: now.Add(-time.Hour)})
	if err != nil {
		return fmt.Errorf("otp send stats: %w", err)
	}
	if stats.Sent == 0 {
		return nil
	}
	if wait := stats.LastSent.Add(s.throttle.MinInterval).Sub(now); wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	if int(stats.Sent) >= s.throttle.PerHour {
		return &ThrottledError{RetryAfter: max(stats.FirstSent.Add(time.Hour).Sub(now), time.Second)}
	}
	return nil
}

// checkCode consumes the live code of email and purpose when code matches.
// A wrong code counts an attempt, and the code dies at MaxOTPAttempts; the
// caller commits that count even though the answer is ErrInvalidCode.
func checkCode(ctx context.Context, q *dbgen.Queries, email, purpose, code string) (bool, error) {
	live, err := q.GetLiveOTPForUpdate(ctx, dbgen.GetLiveOTPForUpdateParams{Email: email, Purpose: purpose})
	if db.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get code: %w", err)
	}
	if time.Now().After(live.ExpiresAt) {
		return false, q.ConsumeOTP(ctx, live.ID)
	}
	if len(code) > 16 || subtle.ConstantTimeCompare(auth.HashOTP(email, purpose, code), live.CodeHash) != 1 {
		if live.Attempts+1 >= MaxOTPAttempts {
			return false, q.ConsumeOTP(ctx, live.ID)
		}
		return false, q.IncrementOTPAttempts(ctx, live.ID)
	}
	return true, q.ConsumeOTP(ctx, live.ID)
}

// withCode runs then in a transaction once the code checks out. A wrong code
// still commits its attempt count and answers ErrInvalidCode.
func (s *Service) withCode(ctx context.Context, rawEmail, purpose, code string, then func(q *dbgen.Queries, user dbgen.User) error) error {
	email, err := NormalizeEmail(rawEmail)
	if err != nil {
		return err
	}
	valid := false
	err = s.inTx(ctx, func(q *dbgen.Queries) error {
		ok, err := checkCode(ctx, q, email, purpose, code)
		if err != nil || !ok {
			return err
		}
		user, err := q.GetUserByEmail(ctx, email)
		if db.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get user by email: %w", err)
		}
		if user.Status != "active" {
			return ErrSuspended
		}
		valid = true
		return then(q, user)
	})
	if err == nil && !valid {
		return ErrInvalidCode
	}
	return err
}
