// Package refs owns refs: public share links, each under a slug, of a text
// or of a chat thread copied as it is when the ref is made (messages added
// later are not shared). The owner creates, lists and deletes them; anyone
// with the slug reads one.
//
// What it must not do: copy into a ref, or show the public, anything private
// of the thread or its owner: user id, email, thread id, agent_context, tool
// calls or tool results (those carry app data). The public view is built
// from PublicRef, which has no field for any of them. It must not hand out a
// deleted ref's slug again, so an old link never shows someone else's text.
package refs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// Limits of refs, in characters (the schema's CHECKs say the same).
const (
	MinSlugLen    = 3
	MaxSlugLen    = 64
	MaxTitleLen   = 200
	MaxContentLen = 100_000
	MaxPerUser    = 1_000
	// MaxMessages bounds the messages a thread's ref copies; a longer
	// thread can't be shared.
	MaxMessages = 1_000
	// MaxSnapshotChars bounds the characters of a thread's copied messages
	// together, so one public page stays a sensible size.
	MaxSnapshotChars = 1_000_000
	// generatedSlugLen base-36 characters: about 52 random bits, so the
	// slugs of refs made without one can't be guessed or enumerated.
	generatedSlugLen = 10
	// slugAttempts bounds retries when a generated slug is already taken.
	slugAttempts = 3
	// DefaultTextTitle names a text ref created without a title.
	DefaultTextTitle = "Shared text"
)

// Errors of ref operations; api/ maps them to the reference's codes.
var (
	ErrNotFound       = errors.New("ref not found")
	ErrThreadNotFound = errors.New("chat thread not found")
	ErrInvalid        = errors.New("invalid ref")
	ErrSlugTaken      = errors.New("this slug is already taken; choose another or leave it out to get a generated one")
	ErrTooMany        = fmt.Errorf("%w: a user keeps at most %d refs; delete one first", ErrInvalid, MaxPerUser)
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

var slugPattern = regexp.MustCompile(`^[a-z0-9-]{3,64}$`)

// ValidSlug checks a caller-chosen slug.
func ValidSlug(slug string) error {
	if !slugPattern.MatchString(slug) {
		return invalidf("slug: %d-%d characters of a-z, 0-9 and -", MinSlugLen, MaxSlugLen)
	}
	return nil
}

const slugAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newSlug makes generatedSlugLen uniformly random base-36 characters
// (bytes at or over 252 are drawn again, so no character is likelier).
func newSlug() string {
	out := make([]byte, 0, generatedSlugLen)
	buf := make([]byte, 2*generatedSlugLen)
	for len(out) < generatedSlugLen {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if b < 252 && len(out) < generatedSlugLen {
				out = append(out, slugAlphabet[int(b)%len(slugAlphabet)])
			}
		}
	}
	return string(out)
}

// Message is a copied thread message: what the public may see of it.
type Message struct {
	Role      string    `json:"role"`
	Content   string    `json:"content"`
	CreatedAt time.Time `json:"created_at"`
}

// Ref is a ref as its owner sees it. Exactly one of Content and Messages is
// set (Messages, possibly empty, for a thread's ref).
type Ref struct {
	ID       uuid.UUID
	Slug     string
	Title    string
	Content  *string
	Messages []Message
	// ThreadID is the thread a ref was copied from, while it exists.
	ThreadID  *uuid.UUID
	CreatedAt time.Time
}

// IsThread says the ref is a thread's snapshot.
func (r Ref) IsThread() bool { return r.Content == nil }

// PublicRef is everything the public sees of a ref.
type PublicRef struct {
	Slug      string
	Title     string
	Content   *string
	Messages  []Message // set, possibly empty, for a thread's ref
	CreatedAt time.Time
}

// Summary is a ref in its owner's list, without its content.
type Summary struct {
	ID        uuid.UUID
	Slug      string
	Title     string
	IsThread  bool
	ThreadID  *uuid.UUID
	CreatedAt time.Time
}

func nullID(n uuid.NullUUID) *uuid.UUID {
	if !n.Valid {
		return nil
	}
	return &n.UUID
}

func decodeMessages(raw []byte) ([]Message, error) {
	if raw == nil {
		return nil, nil
	}
	out := []Message{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode ref messages: %w", err)
	}
	return out, nil
}

func from(r dbgen.Ref) (Ref, error) {
	msgs, err := decodeMessages(r.Messages)
	if err != nil {
		return Ref{}, err
	}
	return Ref{ID: r.ID, Slug: r.Slug, Title: r.Title, Content: r.Content, Messages: msgs,
		ThreadID: nullID(r.SourceThreadID), CreatedAt: r.CreatedAt}, nil
}

// NewRef is a ref to create: exactly one of ThreadID and Content. Slug and
// Title are optional (nil or empty: generated, or the default title).
type NewRef struct {
	Slug     *string
	Title    string
	ThreadID *uuid.UUID
	Content  *string
}

func (n NewRef) validate() error {
	if n.Slug != nil {
		if err := ValidSlug(*n.Slug); err != nil {
			return err
		}
	}
	if utf8.RuneCountInString(n.Title) > MaxTitleLen || strings.ContainsRune(n.Title, 0) {
		return invalidf("title: at most %d characters", MaxTitleLen)
	}
	if (n.ThreadID == nil) == (n.Content == nil) {
		return invalidf("send exactly one of thread_id and content")
	}
	if n.Content != nil {
		c := *n.Content
		if utf8.RuneCountInString(c) > MaxContentLen || strings.TrimSpace(c) == "" {
			return invalidf("content: 1-%d characters, not blank", MaxContentLen)
		}
		if strings.ContainsRune(c, 0) {
			return invalidf("content: must not contain a NUL character")
		}
	}
	return nil
}

// Service stores refs.
type Service struct{ pool *pgxpool.Pool }

// New makes a Service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// Create makes a ref of user: a text, or a snapshot of the user's thread
// (ErrThreadNotFound when it is not theirs). ErrSlugTaken when the chosen
// slug is in use or was used by a deleted ref; ErrTooMany at MaxPerUser.
func (s *Service) Create(ctx context.Context, user uuid.UUID, n NewRef) (Ref, error) {
	if err := n.validate(); err != nil {
		return Ref{}, err
	}
	for attempt := 1; ; attempt++ {
		slug := newSlug()
		if n.Slug != nil {
			slug = *n.Slug
		}
		ref, err := s.insert(ctx, user, slug, n)
		if errors.Is(err, ErrSlugTaken) && n.Slug == nil && attempt < slugAttempts {
			continue // a generated slug collided: draw another
		}
		return ref, err
	}
}

// insert writes one ref under slug; the thread is read in the same
// transaction as the insert, after the per-user lock.
func (s *Service) insert(ctx context.Context, user uuid.UUID, slug string, n NewRef) (Ref, error) {
	var ref Ref
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		if err := q.LockUserRefs(ctx, user); err != nil {
			return err
		}
		p := dbgen.InsertRefParams{Slug: slug, UserID: user, Title: n.Title, Content: n.Content, MaxRefs: MaxPerUser}
		if n.ThreadID != nil {
			title, msgs, err := snapshot(ctx, q, user, *n.ThreadID)
			if err != nil {
				return err
			}
			if strings.TrimSpace(p.Title) == "" {
				p.Title = title
			}
			if p.Messages, err = json.Marshal(msgs); err != nil {
				return err
			}
			p.SourceThreadID = uuid.NullUUID{UUID: *n.ThreadID, Valid: true}
		}
		if strings.TrimSpace(p.Title) == "" {
			p.Title = DefaultTextTitle
		}
		r, err := q.InsertRef(ctx, p)
		switch {
		case db.IsNotFound(err):
			return ErrTooMany
		case db.IsUniqueViolation(err, "refs_slug_key"):
			return ErrSlugTaken
		case err != nil:
			return fmt.Errorf("insert ref: %w", err)
		}
		ref, err = from(r)
		return err
	})
	return ref, err
}

// snapshot copies user's thread as it is now: its title and its user and
// assistant messages' role, content and time. Tool calls and tool results
// are left out on purpose: they carry app data (requests, answers) that the
// user never chose to share. Nothing else of the thread is read.
func snapshot(ctx context.Context, q *dbgen.Queries, user, thread uuid.UUID) (string, []Message, error) {
	title, err := q.GetThreadTitleForRef(ctx, dbgen.GetThreadTitleForRefParams{ID: thread, UserID: user})
	if db.IsNotFound(err) {
		return "", nil, ErrThreadNotFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("get thread %s: %w", thread, err)
	}
	rows, err := q.ListThreadMessagesForRef(ctx, dbgen.ListThreadMessagesForRefParams{ThreadID: thread, RowLimit: MaxMessages + 1})
	if err != nil {
		return "", nil, fmt.Errorf("read thread %s: %w", thread, err)
	}
	if len(rows) > MaxMessages {
		return "", nil, invalidf("thread_id: a thread of more than %d messages can't be shared", MaxMessages)
	}
	msgs := make([]Message, len(rows))
	chars := 0
	for i, r := range rows {
		chars += utf8.RuneCountInString(r.Content)
		msgs[i] = Message{Role: r.Role, Content: r.Content, CreatedAt: r.CreatedAt}
	}
	if chars > MaxSnapshotChars {
		return "", nil, invalidf("thread_id: a thread of more than %d characters can't be shared", MaxSnapshotChars)
	}
	return title, msgs, nil
}

// Get returns user's ref; another user's or a deleted one is ErrNotFound.
func (s *Service) Get(ctx context.Context, user uuid.UUID, slug string) (Ref, error) {
	r, err := dbgen.New(s.pool).GetRef(ctx, dbgen.GetRefParams{Slug: slug, UserID: user})
	if db.IsNotFound(err) {
		return Ref{}, ErrNotFound
	}
	if err != nil {
		return Ref{}, fmt.Errorf("get ref %s: %w", slug, err)
	}
	return from(r)
}

// GetPublic returns what anyone may see of a ref; a deleted one, or one of
// a suspended user, is ErrNotFound.
func (s *Service) GetPublic(ctx context.Context, slug string) (PublicRef, error) {
	r, err := dbgen.New(s.pool).GetPublicRef(ctx, slug)
	if db.IsNotFound(err) {
		return PublicRef{}, ErrNotFound
	}
	if err != nil {
		return PublicRef{}, fmt.Errorf("get public ref %s: %w", slug, err)
	}
	msgs, err := decodeMessages(r.Messages)
	if err != nil {
		return PublicRef{}, err
	}
	return PublicRef{Slug: r.Slug, Title: r.Title, Content: r.Content, Messages: msgs, CreatedAt: r.CreatedAt}, nil
}

// List lists user's refs newest first, limit+1 rows after the cursor.
func (s *Service) List(ctx context.Context, user uuid.UUID, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Summary, error) {
	rows, err := dbgen.New(s.pool).ListRefs(ctx, dbgen.ListRefsParams{UserID: user, AfterCreated: afterCreated,
		AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}, RowLimit: int32(limit + 1)})
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	out := make([]Summary, len(rows))
	for i, r := range rows {
		out[i] = Summary{ID: r.ID, Slug: r.Slug, Title: r.Title, IsThread: r.IsThread, ThreadID: nullID(r.SourceThreadID),
			CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// Delete erases user's ref: the public link answers not found from now on,
// and the slug stays reserved.
func (s *Service) Delete(ctx context.Context, user uuid.UUID, slug string) error {
	n, err := dbgen.New(s.pool).DeleteRef(ctx, dbgen.DeleteRefParams{Slug: slug, UserID: user})
	if err != nil {
		return fmt.Errorf("delete ref %s: %w", slug, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
