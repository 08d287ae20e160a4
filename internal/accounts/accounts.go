// Package accounts owns OfficeX users and how they prove who they are:
// registration, one-time codes, passwords, master keys, suspension. It writes
// users, master keys and codes; balances are the ledger's and never touched here
// beyond creating a user's empty wallet.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/auth"
	mailer "github.com/officex/officex/internal/mail"
)

// Domain errors; their messages are written for API callers.
var (
	ErrInvalidCode  = errors.New("invalid or expired code")
	ErrInvalidLogin = errors.New("invalid email or password")
	ErrUnauthorized = errors.New("missing or invalid credentials")
	ErrSuspended    = errors.New("account is suspended")
	ErrUserNotFound = errors.New("user not found")
	ErrEmailTaken   = errors.New("email is already registered")
	ErrInvalidInput = errors.New("invalid input")
)

// ThrottledError says a code was asked for too often; RetryAfter says when
// asking again will work.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many codes requested for this email; retry in %d s", int(e.RetryAfter.Seconds()+0.999))
}

// Limits of the account flows.
const (
	MaxEmailLength  = 254
	OTPValidity     = 10 * time.Minute
	MaxOTPAttempts  = 5
	MaxActiveKeys   = 10 // a new key beyond this revokes the oldest
	MinMasterKeyLen = 32
	MaxMasterKeyLen = auth.MaxSecretLength
)

// Throttle bounds how often codes go to one email.
type Throttle struct {
	MinInterval time.Duration // between two codes
	PerHour     int           // codes in any rolling hour
}

// DefaultThrottle is the production throttle of register, login and resend.
var DefaultThrottle = Throttle{MinInterval: 30 * time.Second, PerHour: 5}

// Service runs the account flows.
type Service struct {
	pool        *pgxpool.Pool
	q           *dbgen.Queries
	mail        mailer.Sender
	log         *slog.Logger
	testingMode bool
	throttle    Throttle
	// passwords bounds concurrent argon2id work (process-wide by default).
	passwords *auth.PasswordHasher
	// OnCode, when set, learns what became of each one-time code request
	// (metrics): CodeSent, CodeThrottled, CodeSendFailed or CodeNone.
	OnCode func(purpose, outcome string)
}

// Outcomes of a one-time code request, as OnCode hears them.
const (
	CodeSent       = "sent"
	CodeThrottled  = "throttled"
	CodeSendFailed = "send_failed"
	CodeNone       = "none" // unknown or suspended email: nothing sent, same answer
)

func (s *Service) codeOutcome(purpose, outcome string) {
	if s.OnCode != nil {
		s.OnCode(purpose, outcome)
	}
}

// New makes a Service. In testing mode every code is auth.TestingOTP.
// Password hashing goes through auth.DefaultPasswordHasher.
func New(pool *pgxpool.Pool, sender mailer.Sender, log *slog.Logger, testingMode bool, throttle Throttle) *Service {
	return &Service{pool: pool, q: dbgen.New(pool), mail: sender, log: log, testingMode: testingMode, throttle: throttle,
		passwords: auth.DefaultPasswordHasher()}
}

// UsePasswordHasher makes the service hash passwords through h instead of the
// process-wide hasher (tests: fewer slots, a shorter wait).
func (s *Service) UsePasswordHasher(h *auth.PasswordHasher) *Service {
	s.passwords = h
	return s
}

// User is the public view of an account.
type User struct {
	ID            uuid.UUID
	Email         string
	EmailVerified bool
	HasPassword   bool
	Status        string
	WalletID      uuid.UUID
	CreatedAt     time.Time
}

// Credentials are what a successful sign-in returns; APIKey is shown once.
type Credentials struct {
	APIKey   string
	UserID   uuid.UUID
	WalletID uuid.UUID
}

// NormalizeEmail validates an address and returns its canonical, lower-cased form.
func NormalizeEmail(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if email == "" || len(email) > MaxEmailLength {
		return "", fmt.Errorf("%w: email must be 1-%d characters", ErrInvalidInput, MaxEmailLength)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "", fmt.Errorf("%w: email is not a valid address", ErrInvalidInput)
	}
	return email, nil
}

func (s *Service) userView(ctx context.Context, q *dbgen.Queries, u dbgen.User) (User, error) {
	w, err := q.GetUserWallet(ctx, u.ID)
	if err != nil {
		return User{}, fmt.Errorf("wallet of user %s: %w", u.ID, err)
	}
	return User{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, HasPassword: u.PasswordHash != nil,
		Status: u.Status, WalletID: w.ID, CreatedAt: u.CreatedAt}, nil
}

// Get returns one user.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (User, error) {
	u, err := s.q.GetUser(ctx, id)
	if db.IsNotFound(err) {
		return User{}, ErrUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return s.userView(ctx, s.q, u)
}

// createUser inserts a user and the user's empty wallet in tx.
func createUser(ctx context.Context, q *dbgen.Queries, email string, verified bool) (dbgen.User, dbgen.Wallet, error) {
	u, err := q.InsertUser(ctx, dbgen.InsertUserParams{Email: email, EmailVerified: verified})
	if db.IsUniqueViolation(err, "users_email_key") {
		return dbgen.User{}, dbgen.Wallet{}, ErrEmailTaken
	}
	if err != nil {
		return dbgen.User{}, dbgen.Wallet{}, fmt.Errorf("insert user: %w", err)
	}
	w, err := q.InsertUserWallet(ctx, u.ID)
	if err != nil {
		return dbgen.User{}, dbgen.Wallet{}, fmt.Errorf("insert wallet: %w", err)
	}
	return u, w, nil
}

// issueKey creates a new master key for user, keeping at most MaxActiveKeys.
func issueKey(ctx context.Context, q *dbgen.Queries, userID uuid.UUID, key string) error {
	if _, err := q.InsertMasterKey(ctx, dbgen.InsertMasterKeyParams{
		UserID: userID, KeyHash: auth.Hash(key), KeyPrefix: auth.DisplayPrefix(key),
	}); err != nil {
		return fmt.Errorf("insert master key: %w", err)
	}
	return q.RevokeOldestMasterKeys(ctx, dbgen.RevokeOldestMasterKeysParams{UserID: userID, Keep: MaxActiveKeys})
}

// Authenticate checks a master key against the user's active keys.
func (s *Service) Authenticate(ctx context.Context, userID uuid.UUID, key string) (User, error) {
	hashes, err := s.q.ListActiveMasterKeyHashes(ctx, userID)
	if err != nil {
		return User{}, fmt.Errorf("master keys of %s: %w", userID, err)
	}
	if !auth.MatchAny(key, hashes) {
		return User{}, ErrUnauthorized
	}
	u, err := s.Get(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if u.Status != "active" {
		return User{}, ErrSuspended
	}
	return u, nil
}

func (s *Service) audit(ctx context.Context, q *dbgen.Queries, actor, action, targetType, targetID string, details []byte) error {
	if details == nil {
		details = []byte("{}")
	}
	return q.InsertAudit(ctx, dbgen.InsertAuditParams{Actor: actor, Action: action, TargetType: targetType, TargetID: targetID, Details: details})
}

func (s *Service) inTx(ctx context.Context, fn func(q *dbgen.Queries) error) error {
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error { return fn(s.q.WithTx(tx)) })
}
