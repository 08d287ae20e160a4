package accounts

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/auth"
	"github.com/officex/officex/internal/mailout"
)

// Purposes of one-time codes: a code only works for the flow it was sent for.
const (
	purposeLogin     = "login"
	purposeReset     = "reset_password"
	purposeRotateKey = "rotate_key"
	// purposeChangeEmail codes go to the new address of a pending change.
	purposeChangeEmail = "change_email"
)

var purposeSubjects = map[string]string{
	purposeLogin:       "Your OfficeX sign-in code",
	purposeReset:       "Your OfficeX password reset code",
	purposeRotateKey:   "Your OfficeX key rotation code",
	purposeChangeEmail: "Confirm your new OfficeX email address",
}

// purposeIntros open each code's mail, saying what the code would do.
var purposeIntros = map[string]string{
	purposeLogin:       "Someone asked to sign in to the OfficeX account of this address.",
	purposeReset:       "Someone asked to reset the password of the OfficeX account of this address.",
	purposeRotateKey:   "Someone asked to replace every master key of the OfficeX account of this address.",
	purposeChangeEmail: "Someone asked to make this address the sign-in email of their OfficeX account.",
}

// sendCode throttles email, then, when the account exists, replaces its live
// code for purpose and queues its mail. Unknown emails are throttled the same
// way and get no mail, so callers answer known and unknown emails alike; and
// as the mail is only written to the outbox (SendMailWorkflow delivers it),
// neither answer waits on a mail server.
// createIfMissing makes the account first (registration).
func (s *Service) sendCode(ctx context.Context, rawEmail, purpose string, createIfMissing bool) error {
	email, err := NormalizeEmail(rawEmail)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(q *dbgen.Queries) error {
		if err := s.admitCode(ctx, q, email); err != nil {
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
		return s.issueCode(ctx, q, email, purpose)
	})
}

// admitCode serialises code requests for email, applies the throttle and
// counts this request, whether or not a code will go out.
func (s *Service) admitCode(ctx context.Context, q *dbgen.Queries, email string) error {
	if err := q.LockOTPEmail(ctx, email); err != nil {
		return err
	}
	if err := s.checkThrottle(ctx, q, email); err != nil {
		return err
	}
	return q.InsertOTPSend(ctx, email)
}

// issueCode replaces the live code of email and purpose with a new one and
// queues the mail that carries it, in q's transaction.
func (s *Service) issueCode(ctx context.Context, q *dbgen.Queries, email, purpose string) error {
	code := auth.TestingOTP
	if !s.testingMode {
		code = auth.NewOTP()
	}
	if err := q.DeleteLiveOTP(ctx, dbgen.DeleteLiveOTPParams{Email: email, Purpose: purpose}); err != nil {
		return err
	}
	expires := time.Now().Add(OTPValidity)
	if err := q.InsertOTP(ctx, dbgen.InsertOTPParams{
		Email: email, Purpose: purpose, CodeHash: auth.HashOTP(email, purpose, code), ExpiresAt: expires,
	}); err != nil {
		return err
	}
	body := fmt.Sprintf("%s\n\nYour OfficeX code is %s. It expires in %d minutes. If you did not ask for it, ignore this email.",
		purposeIntros[purpose], code, int(OTPValidity.Minutes()))
	return s.enqueueMail(ctx, q, mailout.Message{To: email, Subject: purposeSubjects[purpose], Body: body, ExpiresAt: &expires})
}

// enqueueMail queues m for SendMailWorkflow; testing mode sends no email.
func (s *Service) enqueueMail(ctx context.Context, q *dbgen.Queries, m mailout.Message) error {
	if s.testingMode || s.mail == nil {
		s.log.InfoContext(ctx, "email sending disabled (testing mode)", "subject", m.Subject)
		return nil
	}
	_, err := s.mail.Enqueue(ctx, q, m)
	return err
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
