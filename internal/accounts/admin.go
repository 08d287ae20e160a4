package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// Statuses of an account.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// ListFilter selects users for the admin list; empty fields match all.
type ListFilter struct {
	Status        string
	EmailContains string
	AfterCreated  *time.Time // keyset cursor: strictly older than (AfterCreated, AfterID)
	AfterID       uuid.UUID
	Limit         int
}

// MaxEmailFilterLength bounds the admin email search.
const MaxEmailFilterLength = MaxEmailLength

// List returns users newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]User, error) {
	p := dbgen.ListUsersParams{RowLimit: int32(f.Limit), AfterCreated: f.AfterCreated,
		AfterID: uuid.NullUUID{UUID: f.AfterID, Valid: f.AfterCreated != nil}}
	if f.Status != "" {
		if f.Status != StatusActive && f.Status != StatusSuspended {
			return nil, fmt.Errorf("%w: status must be active or suspended", ErrInvalidInput)
		}
		p.Status = &f.Status
	}
	if f.EmailContains != "" {
		if len(f.EmailContains) > MaxEmailFilterLength {
			return nil, fmt.Errorf("%w: email filter too long", ErrInvalidInput)
		}
		// LIKE wildcards in the filter are matched literally.
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.EmailContains)
		p.Email = &esc
	}
	rows, err := s.q.ListUsers(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users := make([]User, len(rows))
	for i, r := range rows {
		users[i] = User{ID: r.ID, Email: r.Email, EmailVerified: r.EmailVerified, HasPassword: r.HasPassword,
			Status: r.Status, WalletID: r.WalletID, CreatedAt: r.CreatedAt}
	}
	return users, nil
}

// SetStatus suspends or reactivates a user, effective on the next request,
// and records who did it in the audit log.
func (s *Service) SetStatus(ctx context.Context, actor string, id uuid.UUID, status, reason string) (User, error) {
	if status != StatusActive && status != StatusSuspended {
		return User{}, fmt.Errorf("%w: status must be active or suspended", ErrInvalidInput)
	}
	var out User
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		u, err := q.UpdateUserStatus(ctx, dbgen.UpdateUserStatusParams{ID: id, Status: status})
		if db.IsNotFound(err) {
			return ErrUserNotFound
		}
		if err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		details, _ := json.Marshal(map[string]string{"status": status, "reason": reason})
		if err := s.audit(ctx, q, actor, "user.set_status", "user", id.String(), details); err != nil {
			return err
		}
		out, err = s.userView(ctx, q, u)
		return err
	})
	return out, err
}

// Wallet is a wallet as the accounts flows see it (balances in micro-credits).
type Wallet struct {
	ID        uuid.UUID
	Kind      string
	Available int64
	Reserved  int64
	CreatedAt time.Time
}

// Wallets lists every wallet a user owns.
func (s *Service) Wallets(ctx context.Context, id uuid.UUID) ([]Wallet, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.q.ListWalletsOfUser(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("wallets of %s: %w", id, err)
	}
	out := make([]Wallet, len(rows))
	for i, w := range rows {
		out[i] = Wallet{ID: w.ID, Kind: w.Kind, Available: w.Available, Reserved: w.Reserved, CreatedAt: w.CreatedAt}
	}
	return out, nil
}
