package chat

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// Service stores threads and messages and guards the per-user limits.
type Service struct {
	pool *pgxpool.Pool
	// DailyTokens is the model-token budget of one user per UTC day.
	DailyTokens int64
}

// NewService makes a Service with the given daily token budget.
func NewService(pool *pgxpool.Pool, dailyTokens int64) *Service {
	return &Service{pool: pool, DailyTokens: dailyTokens}
}

// tracerPattern is the reference's tracer shape, trc_{timestamp36}-{random},
// loosened to what the issue allows: letters, digits, _ and -.
var tracerPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidTracerID checks a client-supplied tracer id.
func ValidTracerID(id string) error {
	if id == "" || len(id) > MaxTracerIDLen || !tracerPattern.MatchString(id) {
		return invalidf("tracer_id must be 1-%d letters, digits, _ or - (like trc_{timestamp36}-{random})", MaxTracerIDLen)
	}
	return nil
}

const tracerAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewTracerID makes a tracer id in the reference's format:
// trc_{unix milliseconds in base 36}-{8 random base-36 characters}.
func NewTracerID(now time.Time) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = tracerAlphabet[int(b[i])%len(tracerAlphabet)]
	}
	return "trc_" + strconv.FormatInt(now.UnixMilli(), 36) + "-" + string(b)
}

// NewThread is a thread to create; nil fields are left empty.
type NewThread struct {
	Title     string
	ProjectID *string
	TracerID  *string
}

// DefaultTitle names a thread created without one.
const DefaultTitle = "New chat"

func (n *NewThread) validate() error {
	if utf8.RuneCountInString(n.Title) > MaxTitleLen {
		return invalidf("title: at most %d characters", MaxTitleLen)
	}
	if n.ProjectID != nil && (*n.ProjectID == "" || utf8.RuneCountInString(*n.ProjectID) > MaxProjectIDLen) {
		return invalidf("project_id: 1-%d characters", MaxProjectIDLen)
	}
	if n.TracerID != nil {
		return ValidTracerID(*n.TracerID)
	}
	return nil
}

// TitleFrom makes a thread title from a first user message: its first line,
// cut to MaxTitleLen characters.
func TitleFrom(message string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(message), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return DefaultTitle
	}
	if utf8.RuneCountInString(line) > MaxTitleLen {
		line = string([]rune(line)[:MaxTitleLen-1]) + "…"
	}
	return line
}

// CreateThread makes a thread of user.
func (s *Service) CreateThread(ctx context.Context, user uuid.UUID, n NewThread) (Thread, error) {
	if err := n.validate(); err != nil {
		return Thread{}, err
	}
	if n.Title == "" {
		n.Title = DefaultTitle
	}
	r, err := dbgen.New(s.pool).InsertChatThread(ctx, dbgen.InsertChatThreadParams{UserID: user, Title: n.Title,
		ProjectID: n.ProjectID, TracerID: n.TracerID})
	if err != nil {
		return Thread{}, err
	}
	return threadFrom(r), nil
}

func threadFrom(r dbgen.ChatThread) Thread {
	return Thread{ID: r.ID, UserID: r.UserID, Title: r.Title, ProjectID: r.ProjectID, TracerID: r.TracerID,
		MessageCount: int(r.MessageCount), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// GetThread returns user's thread; another user's is ErrThreadNotFound.
func (s *Service) GetThread(ctx context.Context, user, id uuid.UUID) (Thread, error) {
	r, err := dbgen.New(s.pool).GetChatThread(ctx, dbgen.GetChatThreadParams{ID: id, UserID: user})
	if db.IsNotFound(err) {
		return Thread{}, ErrThreadNotFound
	}
	if err != nil {
		return Thread{}, err
	}
	return threadFrom(r), nil
}

// ThreadFilter narrows a thread list; nil fields match everything.
type ThreadFilter struct {
	ProjectID, TracerID *string
}

// ListThreads lists user's threads newest first, limit+1 rows after the cursor.
func (s *Service) ListThreads(ctx context.Context, user uuid.UUID, f ThreadFilter, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Thread, error) {
	rows, err := dbgen.New(s.pool).ListChatThreads(ctx, dbgen.ListChatThreadsParams{UserID: user, ProjectID: f.ProjectID,
		TracerID: f.TracerID, AfterCreated: afterCreated, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil},
		RowLimit: int32(limit + 1)})
	if err != nil {
		return nil, err
	}
	out := make([]Thread, len(rows))
	for i, r := range rows {
		out[i] = threadFrom(r)
	}
	return out, nil
}

// ThreadPatch changes a thread; a nil field is left alone, ClearTracer
// removes the tracer.
type ThreadPatch struct {
	Title       *string
	TracerID    *string
	ClearTracer bool
}

// UpdateThread applies p to user's thread.
func (s *Service) UpdateThread(ctx context.Context, user, id uuid.UUID, p ThreadPatch) (Thread, error) {
	t, err := s.GetThread(ctx, user, id)
	if err != nil {
		return Thread{}, err
	}
	n := NewThread{Title: t.Title, TracerID: t.TracerID}
	if p.Title != nil {
		if strings.TrimSpace(*p.Title) == "" {
			return Thread{}, invalidf("title: must not be empty")
		}
		n.Title = *p.Title
	}
	if p.ClearTracer {
		n.TracerID = nil
	} else if p.TracerID != nil {
		n.TracerID = p.TracerID
	}
	if err := n.validate(); err != nil {
		return Thread{}, err
	}
	r, err := dbgen.New(s.pool).UpdateChatThread(ctx, dbgen.UpdateChatThreadParams{ID: id, UserID: user, Title: n.Title, TracerID: n.TracerID})
	if db.IsNotFound(err) {
		return Thread{}, ErrThreadNotFound // deleted meanwhile
	}
	if err != nil {
		return Thread{}, err
	}
	return threadFrom(r), nil
}

// DeleteThread removes user's thread and its messages.
func (s *Service) DeleteThread(ctx context.Context, user, id uuid.UUID) error {
	n, err := dbgen.New(s.pool).DeleteChatThread(ctx, dbgen.DeleteChatThreadParams{ID: id, UserID: user})
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrThreadNotFound
	}
	return nil
}

// Messages returns a thread's messages oldest first (at most
// MaxMessagesShown); the caller has checked the thread is the user's.
func (s *Service) Messages(ctx context.Context, thread uuid.UUID) ([]Message, error) {
	rows, err := dbgen.New(s.pool).ListChatMessages(ctx, dbgen.ListChatMessagesParams{ThreadID: thread, RowLimit: MaxMessagesShown})
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		m := Message{ID: r.ID, ThreadID: r.ThreadID, Role: r.Role, Content: r.Content, CreatedAt: r.CreatedAt}
		if r.ToolCallID != nil {
			m.ToolCallID = *r.ToolCallID
		}
		if len(r.ToolCalls) > 0 {
			if err := json.Unmarshal(r.ToolCalls, &m.ToolCalls); err != nil {
				return nil, err
			}
		}
		if r.InputTokens != nil && r.OutputTokens != nil {
			m.Usage = &Usage{InputTokens: *r.InputTokens, OutputTokens: *r.OutputTokens}
		}
		out[i] = m
	}
	return out, nil
}

// SaveMessage appends m to its thread. It runs on its own context: a
// message that completed is kept even when the caller has gone away.
func (s *Service) SaveMessage(ctx context.Context, m Message) (Message, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	p := dbgen.InsertChatMessageParams{ThreadID: m.ThreadID, Role: m.Role, Content: m.Content}
	if m.ToolCallID != "" {
		p.ToolCallID = &m.ToolCallID
	}
	if len(m.ToolCalls) > 0 {
		p.ToolCalls, _ = json.Marshal(m.ToolCalls)
	}
	if m.Usage != nil {
		p.InputTokens, p.OutputTokens = &m.Usage.InputTokens, &m.Usage.OutputTokens
	}
	r, err := dbgen.New(s.pool).InsertChatMessage(ctx, p)
	if db.IsNotFound(err) {
		return Message{}, ErrThreadNotFound // deleted during the turn
	}
	if err != nil {
		return Message{}, err
	}
	m.ID, m.CreatedAt = r.ID, r.CreatedAt
	return m, nil
}

// saveTimeout bounds saving one message after the caller is gone.
const saveTimeout = 10 * time.Second
