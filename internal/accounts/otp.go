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
	"github.com/officex/officex/internal/clientaddr"
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

// ResendMinRemaining is the least lifetime a live code must have left to be
// sent again; a code closer to its end is replaced by a new one.
const ResendMinRemaining = 2 * time.Minute

// errNoCodeKey: the service was built without WithSecrets.
var errNoCodeKey = errors.New("accounts: one-time code keys are not configured (WithSecrets)")

// sendCode throttles email per requesting client and per address, then, when
// the account exists, queues a mail of its live code for purpose (a new one
// when there is none). Unknown emails are throttled the same way and get no
// mail, so callers answer known and unknown emails alike; and as the mail is
// only written to the outbox (SendMailWorkflow delivers it), neither answer
// waits on a mail server. createIfMissing makes the account first
// (registration).
func (s *Service) sendCode(ctx context.Context, rawEmail, purpose string, createIfMissing bool) error {
	email, err := NormalizeEmail(rawEmail)
	if err != nil {
		return err
	}
	return s.deliverCode(ctx, email, purpose, createIfMissing, true)
}

// deliverCode is sendCode for a normalized email; throttled false skips the
// send budget (a signed-in session asking for its own rotation code).
func (s *Service) deliverCode(ctx context.Context, email, purpose string, createIfMissing, throttled bool) error {
	if s.codeKey == nil {
		return errNoCodeKey
	}
	sent := false
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		if err := s.admitCode(ctx, q, email, throttled); err != nil {
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
		sent = true
		return s.issueCode(ctx, q, email, purpose)
	})
	var refused *ThrottledError
	switch {
	case errors.As(err, &refused):
		s.codeOutcome(purpose, CodeThrottled)
	case err == nil && sent:
		s.codeOutcome(purpose, CodeSent)
	case err == nil:
		s.codeOutcome(purpose, CodeNone)
	}
	return err
}

// admitCode serialises code requests for email and, when throttled, applies
// the send budgets and counts this request against the requesting client,
// whether or not a code will go out.
func (s *Service) admitCode(ctx context.Context, q *dbgen.Queries, email string, throttled bool) error {
	if err := q.LockOTPEmail(ctx, email); err != nil {
		return err
	}
	if !throttled {
		return nil
	}
	client := clientaddr.FromContext(ctx)
	if err := s.checkThrottle(ctx, q, email, client); err != nil {
		return err
	}
	return q.InsertOTPSend(ctx, dbgen.InsertOTPSendParams{Email: email, Client: client, SentAt: s.now()})
}

// issueCode queues the mail that carries the live code of email and purpose
// (liveOrNewCode), in q's transaction.
func (s *Service) issueCode(ctx context.Context, q *dbgen.Queries, email, purpose string) error {
	code, expires, err := s.liveOrNewCode(ctx, q, email, purpose)
	if err != nil {
		return err
	}
	minutes := int((expires.Sub(s.now()) + time.Minute - 1) / time.Minute)
	body := fmt.Sprintf("%s\n\nYour OfficeX code is %s. It expires in %d minutes. If you did not ask for it, ignore this email.",
		purposeIntros[purpose], code, minutes)
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

// liveOrNewCode returns the live code of email and purpose while it has
// ResendMinRemaining left: asking again mails the same code, so anyone
// asking for codes can't take away the one its owner holds. Otherwise it
// stores a new code, as an HMAC (checked) and sealed (sent again).
func (s *Service) liveOrNewCode(ctx context.Context, q *dbgen.Queries, email, purpose string) (string, time.Time, error) {
	now := s.now()
	live, err := q.GetLiveOTPForUpdate(ctx, dbgen.GetLiveOTPForUpdateParams{Email: email, Purpose: purpose})
	if err != nil && !db.IsNotFound(err) {
		return "", time.Time{}, fmt.Errorf("get live code: %w", err)
	}
	if err == nil && live.CodeSealed != nil && live.ExpiresAt.Sub(now) >= ResendMinRemaining {
		plain, err := s.box.Open(live.CodeSealed, codeSealContext(email, purpose))
		if err == nil {
			return string(plain), live.ExpiresAt, nil
		}
		s.log.WarnContext(ctx, "live one-time code can't be opened; issuing a new one", "error", err.Error())
	}
	if err := q.DeleteLiveOTP(ctx, dbgen.DeleteLiveOTPParams{Email: email, Purpose: purpose}); err != nil {
		return "", time.Time{}, err
	}
	code := auth.TestingOTP
	if !s.testingMode {
		code = auth.NewOTP()
	}
	expires := now.Add(OTPValidity)
	return code, expires, q.InsertOTP(ctx, dbgen.InsertOTPParams{
		Email: email, Purpose: purpose, CodeHash: auth.OTPMAC(s.codeKey, email, purpose, code),
		CodeSealed: s.box.Seal([]byte(code), codeSealContext(email, purpose)), ExpiresAt: expires,
	})
}

// codeSealContext binds a sealed code to its email and purpose.
func codeSealContext(email, purpose string) string { return "otp:" + purpose + ":" + email }

// checkThrottle refuses a send over any budget: per email and client (the
// minimum interval and the hourly count), per email whoever asks (the daily
// cap) and per client whatever the email (the client's hourly count).
func (s *Service) checkThrottle(ctx context.Context, q *dbgen.Queries, email, client string) error {
	now, t := s.now(), s.throttle
	pair, err := q.GetOTPSendStats(ctx, dbgen.GetOTPSendStatsParams{Email: email, Client: client, Since: now.Add(-time.Hour)})
	if err != nil {
		return fmt.Errorf("otp send stats: %w", err)
	}
	if pair.Sent > 0 {
		if wait := pair.LastSent.Add(t.MinInterval).Sub(now); wait > 0 {
			return &ThrottledError{RetryAfter: wait}
		}
	}
	if t.PerHour > 0 && int(pair.Sent) >= t.PerHour {
		return &ThrottledError{RetryAfter: max(pair.FirstSent.Add(time.Hour).Sub(now), time.Second)}
	}
	if t.PerDay > 0 {
		day, err := q.GetOTPEmailStats(ctx, dbgen.GetOTPEmailStatsParams{Email: email, Since: now.Add(-24 * time.Hour)})
		if err != nil {
			return fmt.Errorf("otp email stats: %w", err)
		}
		if int(day.Sent) >= t.PerDay {
			return &ThrottledError{RetryAfter: max(day.FirstSent.Add(24*time.Hour).Sub(now), time.Second)}
		}
	}
	if t.ClientPerHour > 0 {
		cl, err := q.GetOTPClientStats(ctx, dbgen.GetOTPClientStatsParams{Client: client, Since: now.Add(-time.Hour)})
		if err != nil {
			return fmt.Errorf("otp client stats: %w", err)
		}
		if int(cl.Sent) >= t.ClientPerHour {
			return &ThrottledError{RetryAfter: max(cl.FirstSent.Add(time.Hour).Sub(now), time.Second)}
		}
	}
	return nil
}

// checkCode consumes the live code of email and purpose when code matches.
// A wrong code counts an attempt, and the code dies at MaxOTPAttempts; the
// caller commits that count even though the answer is ErrInvalidCode.
func (s *Service) checkCode(ctx context.Context, q *dbgen.Queries, email, purpose, code string) (bool, error) {
	live, err := q.GetLiveOTPForUpdate(ctx, dbgen.GetLiveOTPForUpdateParams{Email: email, Purpose: purpose})
	if db.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get code: %w", err)
	}
	if s.now().After(live.ExpiresAt) {
		return false, q.ConsumeOTP(ctx, live.ID)
	}
	if len(code) > 16 || subtle.ConstantTimeCompare(auth.OTPMAC(s.codeKey, email, purpose, code), live.CodeHash) != 1 {
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
	if s.codeKey == nil {
		return errNoCodeKey
	}
	if err := s.checkClient(ctx); err != nil {
		return err
	}
	if err := s.countVerify(ctx); err != nil {
		return err
	}
	valid, matched := false, false
	err = s.inTx(ctx, func(q *dbgen.Queries) error {
		ok, err := s.checkCode(ctx, q, email, purpose, code)
		if err != nil || !ok {
			return err
		}
		matched = true
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
	if err == nil && !matched {
		if err := s.recordClientFailure(ctx); err != nil {
			return err
		}
	}
	if err == nil && !valid {
		return ErrInvalidCode
	}
	return err
}
