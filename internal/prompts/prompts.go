// Package prompts owns a user's saved prompts: reusable texts with a title
// and tags, created, listed, changed and deleted by their owner only.
//
// What it must not do: show or change another user's prompt (that is
// ErrNotFound, exactly like a missing one), or let a user keep more than
// MaxPerUser prompts.
package prompts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// Limits of prompts, in characters (the schema's CHECKs say the same).
const (
	MaxTitleLen   = 200
	MaxContentLen = 20_000
	MaxTags       = 10
	MaxTagLen     = 50
	MaxPerUser    = 500
)

// Errors of prompt operations; api/ maps them to the reference's codes.
var (
	ErrNotFound = errors.New("prompt not found")
	ErrInvalid  = errors.New("invalid prompt")
	ErrTooMany  = fmt.Errorf("%w: a user keeps at most %d prompts; delete one first", ErrInvalid, MaxPerUser)
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Prompt is a saved prompt.
type Prompt struct {
	ID        uuid.UUID
	Title     string
	Content   string
	Tags      []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func from(r dbgen.Prompt) Prompt {
	return Prompt{ID: r.ID, Title: r.Title, Content: r.Content, Tags: r.Tags, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Fields are a prompt's caller-owned fields.
type Fields struct {
	Title   string
	Content string
	Tags    []string
}

// validate checks f and returns it with duplicate tags dropped (the first
// of each kept) and a nil tag list made empty.
func (f Fields) validate() (Fields, error) {
	if err := text("title", f.Title, MaxTitleLen); err != nil {
		return f, err
	}
	if err := text("content", f.Content, MaxContentLen); err != nil {
		return f, err
	}
	if len(f.Tags) > MaxTags {
		return f, invalidf("tags: at most %d", MaxTags)
	}
	tags := make([]string, 0, len(f.Tags))
	seen := make(map[string]bool, len(f.Tags))
	for _, t := range f.Tags {
		if n := utf8.RuneCountInString(t); n < 1 || n > MaxTagLen || strings.TrimSpace(t) == "" || strings.ContainsRune(t, 0) {
			return f, invalidf("tags: each tag is 1-%d characters, not blank", MaxTagLen)
		}
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	f.Tags = tags
	return f, nil
}

// text checks a required text field: 1-max characters, not blank, no NUL
// (PostgreSQL text can't hold one).
func text(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max || strings.TrimSpace(s) == "" {
		return invalidf("%s: 1-%d characters, not blank", field, max)
	}
	if strings.ContainsRune(s, 0) {
		return invalidf("%s: must not contain a NUL character", field)
	}
	return nil
}

// Service stores prompts.
type Service struct{ pool *pgxpool.Pool }

// New makes a Service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// Create saves a prompt of user; ErrTooMany when the user has MaxPerUser.
func (s *Service) Create(ctx context.Context, user uuid.UUID, f Fields) (Prompt, error) {
	f, err := f.validate()
	if err != nil {
		return Prompt{}, err
	}
	var p Prompt
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		if err := q.LockUserPrompts(ctx, user); err != nil {
			return err
		}
		r, err := q.InsertPrompt(ctx, dbgen.InsertPromptParams{UserID: user, Title: f.Title, Content: f.Content,
			Tags: f.Tags, MaxPrompts: MaxPerUser})
		if db.IsNotFound(err) {
			return ErrTooMany
		}
		if err != nil {
			return fmt.Errorf("insert prompt: %w", err)
		}
		p = from(r)
		return nil
	})
	return p, err
}

// Get returns user's prompt; another user's is ErrNotFound.
func (s *Service) Get(ctx context.Context, user, id uuid.UUID) (Prompt, error) {
	r, err := dbgen.New(s.pool).GetPrompt(ctx, dbgen.GetPromptParams{ID: id, UserID: user})
	if db.IsNotFound(err) {
		return Prompt{}, ErrNotFound
	}
	if err != nil {
		return Prompt{}, fmt.Errorf("get prompt %s: %w", id, err)
	}
	return from(r), nil
}

// List lists user's prompts newest first, limit+1 rows after the cursor.
func (s *Service) List(ctx context.Context, user uuid.UUID, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Prompt, error) {
	rows, err := dbgen.New(s.pool).ListPrompts(ctx, dbgen.ListPromptsParams{UserID: user, AfterCreated: afterCreated,
		AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}, RowLimit: int32(limit + 1)})
	if err != nil {
		return nil, fmt.Errorf("list prompts: %w", err)
	}
	out := make([]Prompt, len(rows))
	for i, r := range rows {
		out[i] = from(r)
	}
	return out, nil
}

// Patch changes a prompt; a nil field is left alone, an empty Tags list
// removes every tag.
type Patch struct {
	Title   *string
	Content *string
	Tags    *[]string
}

// Update applies p to user's prompt.
func (s *Service) Update(ctx context.Context, user, id uuid.UUID, p Patch) (Prompt, error) {
	cur, err := s.Get(ctx, user, id)
	if err != nil {
		return Prompt{}, err
	}
	f := Fields{Title: cur.Title, Content: cur.Content, Tags: cur.Tags}
	if p.Title != nil {
		f.Title = *p.Title
	}
	if p.Content != nil {
		f.Content = *p.Content
	}
	if p.Tags != nil {
		f.Tags = *p.Tags
	}
	if f, err = f.validate(); err != nil {
		return Prompt{}, err
	}
	r, err := dbgen.New(s.pool).UpdatePrompt(ctx, dbgen.UpdatePromptParams{ID: id, UserID: user, Title: f.Title,
		Content: f.Content, Tags: f.Tags})
	if db.IsNotFound(err) {
		return Prompt{}, ErrNotFound // deleted meanwhile
	}
	if err != nil {
		return Prompt{}, fmt.Errorf("update prompt %s: %w", id, err)
	}
	return from(r), nil
}

// Delete removes user's prompt.
func (s *Service) Delete(ctx context.Context, user, id uuid.UUID) error {
	n, err := dbgen.New(s.pool).DeletePrompt(ctx, dbgen.DeletePromptParams{ID: id, UserID: user})
	if err != nil {
		return fmt.Errorf("delete prompt %s: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
