package accounts

import (
	"context"
	"fmt"
	"unicode"

	"github.com/google/uuid"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/auth"
)

// Register creates the account (and its empty wallet) when the email is new
// and sends a sign-in code. Known emails get a sign-in code instead, with the
// same answer, so registration does not reveal who has an account.
func (s *Service) Register(ctx context.Context, email string) error {
	return s.sendCode(ctx, email, purposeLogin, true)
}

// Resend sends a fresh sign-in code, subject to the same throttle.
func (s *Service) Resend(ctx context.Context, email string) error {
	return s.sendCode(ctx, email, purposeLogin, false)
}

// LoginWithCode starts a passwordless sign-in: a code goes to the email.
func (s *Service) LoginWithCode(ctx context.Context, email string) error {
	return s.sendCode(ctx, email, purposeLogin, false)
}

// LoginWithPassword checks the password and issues a new master key. A
// locked account or a client over its failure budget is refused before any
// hashing; a wrong password counts against both.
func (s *Service) LoginWithPassword(ctx context.Context, rawEmail, password string) (Credentials, error) {
	if err := s.checkClient(ctx); err != nil {
		return Credentials{}, err
	}
	email, err := NormalizeEmail(rawEmail)
	if err != nil || len(password) > auth.MaxPasswordLength {
		if _, err := s.passwords.Check(ctx, password, ""); err != nil {
			return Credentials{}, err
		}
		return Credentials{}, s.loginFailed(ctx, "")
	}
	if err := s.checkPasswordLock(ctx, email); err != nil {
		return Credentials{}, err
	}
	user, err := s.q.GetUserByEmail(ctx, email)
	if err != nil && !db.IsNotFound(err) {
		return Credentials{}, fmt.Errorf("get user by email: %w", err)
	}
	hash := ""
	if user.PasswordHash != nil {
		hash = *user.PasswordHash
	}
	match, err := s.passwords.Check(ctx, password, hash)
	if err != nil {
		return Credentials{}, err
	}
	if !match {
		return Credentials{}, s.loginFailed(ctx, email)
	}
	if user.Status != "active" {
		return Credentials{}, ErrSuspended
	}
	if err := s.clearPasswordFailures(ctx, email); err != nil {
		return Credentials{}, err
	}
	return s.issueCredentials(ctx, user.ID, false)
}

// loginFailed counts a failed password login against the client and, when
// the email is valid, the account; it answers ErrInvalidLogin.
func (s *Service) loginFailed(ctx context.Context, email string) error {
	if err := s.recordClientFailure(ctx); err != nil {
		return err
	}
	if email != "" {
		if err := s.recordPasswordFailure(ctx, email); err != nil {
			return err
		}
	}
	return ErrInvalidLogin
}

// VerifyOTP exchanges a sign-in code for a new master key; it also marks the
// email verified. Earlier keys stay valid (up to MaxActiveKeys), except on
// the account's first proof of its address (see proveEmail).
func (s *Service) VerifyOTP(ctx context.Context, email, code string) (Credentials, error) {
	var creds Credentials
	err := s.withCode(ctx, email, purposeLogin, code, func(q *dbgen.Queries, user dbgen.User) error {
		if err := proveEmail(ctx, q, user); err != nil {
			return err
		}
		var err error
		creds, err = newCredentials(ctx, q, user.ID, false)
		return err
	})
	return creds, err
}

// ConfirmKeyRotation exchanges a rotate_key code for a new master key and
// revokes every other key of the account at once.
func (s *Service) ConfirmKeyRotation(ctx context.Context, email, code string) (Credentials, error) {
	var creds Credentials
	err := s.withCode(ctx, email, purposeRotateKey, code, func(q *dbgen.Queries, user dbgen.User) error {
		if err := proveEmail(ctx, q, user); err != nil {
			return err
		}
		var err error
		creds, err = newCredentials(ctx, q, user.ID, true)
		return err
	})
	return creds, err
}

// StartKeyRotation mails a rotate_key code (same answer for unknown emails).
func (s *Service) StartKeyRotation(ctx context.Context, email string) error {
	return s.sendCode(ctx, email, purposeRotateKey, false)
}

// StartKeyRotationSignedIn mails a rotate_key code to a signed-in user's own
// address outside the send budget: whoever spends an address's budget can't
// stop its owner, who holds a valid master key, from rotating.
func (s *Service) StartKeyRotationSignedIn(ctx context.Context, userID uuid.UUID) error {
	u, err := s.q.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("get user %s: %w", userID, err)
	}
	return s.deliverCode(ctx, u.Email, purposeRotateKey, false, false)
}

// ForgotPassword mails a reset_password code (same answer for unknown emails).
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	return s.sendCode(ctx, email, purposeReset, false)
}

// ResetPassword sets a new password with a reset_password code and revokes
// every master key of the account (as rotation does: whoever forgot the
// password may be locking someone out), answering how many it revoked.
// The code is checked before the new password is hashed, so a wrong code
// costs no argon2id work; a busy hasher rolls back and leaves the code live.
func (s *Service) ResetPassword(ctx context.Context, email, code, newPassword string) (revokedKeys int64, err error) {
	if err := validatePassword(newPassword); err != nil {
		return 0, err
	}
	err = s.withCode(ctx, email, purposeReset, code, func(q *dbgen.Queries, user dbgen.User) error {
		hash, err := s.passwords.Hash(ctx, newPassword)
		if err != nil {
			return err
		}
		if revokedKeys, err = q.RevokeMasterKeysCounted(ctx, user.ID); err != nil {
			return err
		}
		if err := proveEmail(ctx, q, user); err != nil {
			return err
		}
		return q.UpdateUserPassword(ctx, dbgen.UpdateUserPasswordParams{ID: user.ID, PasswordHash: &hash})
	})
	return revokedKeys, err
}

// SetPassword sets the signed-in user's password.
func (s *Service) SetPassword(ctx context.Context, userID uuid.UUID, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return err
	}
	return s.q.UpdateUserPassword(ctx, dbgen.UpdateUserPasswordParams{ID: userID, PasswordHash: &hash})
}

func validatePassword(password string) error {
	n := len([]rune(password))
	if n < auth.MinPasswordLength || len(password) > auth.MaxPasswordLength {
		return fmt.Errorf("%w: password must be %d-%d characters", ErrInvalidInput, auth.MinPasswordLength, auth.MaxPasswordLength)
	}
	return nil
}

// RotateKeyTo replaces every master key of the user with one the user chose.
func (s *Service) RotateKeyTo(ctx context.Context, userID uuid.UUID, newKey string) error {
	if len(newKey) < MinMasterKeyLen || len(newKey) > MaxMasterKeyLen {
		return fmt.Errorf("%w: new_master_key must be %d-%d characters", ErrInvalidInput, MinMasterKeyLen, MaxMasterKeyLen)
	}
	for _, r := range newKey {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: new_master_key must be printable ASCII without spaces", ErrInvalidInput)
		}
	}
	return s.inTx(ctx, func(q *dbgen.Queries) error {
		if err := q.RevokeMasterKeys(ctx, userID); err != nil {
			return err
		}
		return issueKey(ctx, q, userID, newKey)
	})
}

// RegisterLegacy is the reference's legacy POST /register-user: it creates an
// account and returns its first key at once, without an emailed code. Nobody
// proved the address, so the API serves it in testing mode only, and the
// owner's first proof of the address revokes the key (proveEmail).
func (s *Service) RegisterLegacy(ctx context.Context, rawEmail string) (Credentials, error) {
	email, err := NormalizeEmail(rawEmail)
	if err != nil {
		return Credentials{}, err
	}
	var creds Credentials
	err = s.inTx(ctx, func(q *dbgen.Queries) error {
		user, _, err := createUser(ctx, q, email, false)
		if err != nil {
			return err
		}
		creds, err = newCredentials(ctx, q, user.ID, false)
		return err
	})
	return creds, err
}

func (s *Service) issueCredentials(ctx context.Context, userID uuid.UUID, revokeOthers bool) (Credentials, error) {
	var creds Credentials
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		var err error
		creds, err = newCredentials(ctx, q, userID, revokeOthers)
		return err
	})
	return creds, err
}

func newCredentials(ctx context.Context, q *dbgen.Queries, userID uuid.UUID, revokeOthers bool) (Credentials, error) {
	if revokeOthers {
		if err := q.RevokeMasterKeys(ctx, userID); err != nil {
			return Credentials{}, err
		}
	}
	key := auth.NewSecret(auth.MasterKeyPrefix)
	if err := issueKey(ctx, q, userID, key); err != nil {
		return Credentials{}, err
	}
	w, err := q.GetUserWallet(ctx, userID)
	if err != nil {
		return Credentials{}, fmt.Errorf("wallet of %s: %w", userID, err)
	}
	return Credentials{APIKey: key, UserID: userID, WalletID: w.ID}, nil
}
