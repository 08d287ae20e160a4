package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/mailout"
)

// ErrEmailChangeNeedsProof answers an attempt to set the email without a code.
var ErrEmailChangeNeedsProof = fmt.Errorf("%w: the email changes only with a code sent to the new address: "+
	"POST /users/me/email {email}, then POST /users/me/email/confirm {email, code}", ErrInvalidInput)

// proveEmail records that whoever holds user's address just proved it with a
// code. The first proof of an address nobody had proven ends everything
// granted before it (master keys, a password): it was handed to whoever typed
// the address (the legacy /register-user, say), not to its owner.
func proveEmail(ctx context.Context, q *dbgen.Queries, user dbgen.User) error {
	if user.EmailVerified {
		return nil
	}
	if err := q.RevokeMasterKeys(ctx, user.ID); err != nil {
		return err
	}
	if err := q.ClearUserPassword(ctx, user.ID); err != nil {
		return err
	}
	return q.MarkUserEmailVerified(ctx, user.ID)
}

// RequestEmailChange starts changing the signed-in user's email: a
// change_email code goes to the new address (throttled like every code). An
// address that belongs to another account gets the same answer and no code,
// so the route reveals no accounts; the change can then never be confirmed.
func (s *Service) RequestEmailChange(ctx context.Context, userID uuid.UUID, rawEmail string) error {
	email, err := NormalizeEmail(rawEmail)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(q *dbgen.Queries) error {
		user, err := q.GetUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("get user %s: %w", userID, err)
		}
		if strings.EqualFold(user.Email, email) {
			return fmt.Errorf("%w: that is already the account's email", ErrInvalidInput)
		}
		if err := s.admitCode(ctx, q, email, true); err != nil {
			return err
		}
		_, err = q.GetUserByEmail(ctx, email)
		switch {
		case err == nil:
			return q.DeleteEmailChange(ctx, userID) // taken: nothing to confirm
		case !db.IsNotFound(err):
			return fmt.Errorf("get user by email: %w", err)
		}
		if err := q.DeleteEmailChangesTo(ctx, email); err != nil {
			return err
		}
		if err := q.UpsertEmailChange(ctx, dbgen.UpsertEmailChangeParams{UserID: userID, NewEmail: email}); err != nil {
			return err
		}
		return s.issueCode(ctx, q, email, purposeChangeEmail)
	})
}

// ConfirmEmailChange makes the pending change to email take effect when code
// is the live change_email code of that address; the address is then
// verified, and the old address is told. A wrong code counts an attempt.
func (s *Service) ConfirmEmailChange(ctx context.Context, userID uuid.UUID, rawEmail, code string) (User, error) {
	email, err := NormalizeEmail(rawEmail)
	if err != nil {
		return User{}, err
	}
	if s.codeKey == nil {
		return User{}, errNoCodeKey
	}
	// The same guards as every code check: the client's failures and the
	// global cap on checks a minute.
	if err := s.checkClient(ctx); err != nil {
		return User{}, err
	}
	if err := s.countVerify(ctx); err != nil {
		return User{}, err
	}
	var out User
	valid := false
	err = s.inTx(ctx, func(q *dbgen.Queries) error {
		pending, err := q.GetEmailChangeForUpdate(ctx, userID)
		if db.IsNotFound(err) || (err == nil && pending.NewEmail != email) {
			return nil // no attempt spent on a code that is not this user's
		}
		if err != nil {
			return fmt.Errorf("pending email change: %w", err)
		}
		if ok, err := s.checkCode(ctx, q, email, purposeChangeEmail, code); err != nil || !ok {
			return err
		}
		valid = true
		out, err = s.applyEmailChange(ctx, q, userID, email)
		return err
	})
	if err == nil && !valid {
		if err := s.recordClientFailure(ctx); err != nil {
			return User{}, err
		}
		return User{}, ErrInvalidCode
	}
	return out, err
}

// applyEmailChange sets the proven address and queues the notice to the old one.
func (s *Service) applyEmailChange(ctx context.Context, q *dbgen.Queries, userID uuid.UUID, email string) (User, error) {
	before, err := q.GetUser(ctx, userID)
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", userID, err)
	}
	after, err := q.ConfirmUserEmail(ctx, dbgen.ConfirmUserEmailParams{ID: userID, Email: email})
	if db.IsUniqueViolation(err, "users_email_key") {
		// Taken since the request. The caller proved they hold the address,
		// so saying so reveals nothing they could not learn by signing in.
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("confirm email: %w", err)
	}
	if err := q.DeleteEmailChange(ctx, userID); err != nil {
		return User{}, err
	}
	if err := s.audit(ctx, q, "user:"+userID.String(), "user.email_changed", "user", userID.String(), nil); err != nil {
		return User{}, err
	}
	notice := fmt.Sprintf("The sign-in email of your OfficeX account was changed from this address to %s. "+
		"If you did not do this, reply to this email at once: someone else may hold your account.", email)
	if err := s.enqueueMail(ctx, q, mailout.Message{To: before.Email, Subject: "Your OfficeX email was changed", Body: notice}); err != nil {
		return User{}, err
	}
	return s.userView(ctx, q, after)
}
