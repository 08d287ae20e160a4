// Package chat owns the AI chat agent: threads and their messages, the agent
// that answers a user's turn with the model (openai-go Chat Completions,
// streaming, tools), the tools that let it read installed apps' skills and
// call their APIs with host-bound credentials, and the limits that keep one
// user from spending the platform's model budget. The HTTP stream and the
// scheduled runs (an activity) both call Agent.RunTurn.
//
// What it must not do: let a credential value reach the model, a stored
// message or another origin than its app's; hold a database transaction
// across a model or tool call.
package chat

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Limits of threads and turns (the chat-agent issue's numbers).
const (
	MaxTitleLen        = 200
	MaxProjectIDLen    = 100
	MaxTracerIDLen     = 100
	MaxMessageLen      = 100_000 // characters of one message
	MaxMessagesPerTurn = 200     // messages in one stream request
	MaxMessagesShown   = 1000    // messages GET /users/me/chats/{id} returns
	MaxSystemPromptLen = 20_000  // characters of a request's system_prompt
	MaxIncludeApps     = 50      // entries of include_apps
	// MaxToolRounds bounds the model → tools → model rounds of one turn.
	MaxToolRounds = 8
	// ToolRequestTimeout bounds one http_request the agent makes.
	ToolRequestTimeout = 60 * time.Second
	// TurnTimeout bounds a whole turn, model calls and tools together.
	TurnTimeout = 5 * time.Minute
	// MaxStreamsPerUser bounds a user's concurrent streams.
	MaxStreamsPerUser = 4
	// DefaultDailyTokens is OFFICEX_CHAT_DAILY_TOKENS' default.
	DefaultDailyTokens = 2_000_000
	// DefaultModel is OPENAI_MODEL's default.
	DefaultModel = "gpt-4o-mini"
)

// Errors of chat operations; api/ maps them to the reference's codes.
var (
	ErrThreadNotFound = errors.New("chat thread not found")
	ErrInvalid        = errors.New("invalid chat request")
	ErrTooManyStreams = errors.New("too many chat streams at once")
	// ErrModel wraps a failure of the model server (refused, unreachable,
	// broken stream): worth retrying later.
	ErrModel = errors.New("the model failed")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// BudgetExceededError is a user's daily model-token budget spent.
type BudgetExceededError struct {
	Used, Budget int64
	RetryAfter   time.Duration // until the next UTC day
}

func (e *BudgetExceededError) Error() string {
	return fmt.Sprintf("daily model token budget spent (%d of %d tokens); it renews at 00:00 UTC", e.Used, e.Budget)
}

// Roles of stored messages.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Thread is a conversation.
type Thread struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	Title        string
	ProjectID    *string
	TracerID     *string
	MessageCount int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ToolCall is a tool call as the model wrote it (placeholders unfilled).
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Usage is a model call's token count.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// Total is what the usage costs the daily budget.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Message is a stored message.
type Message struct {
	ID         uuid.UUID
	ThreadID   uuid.UUID
	Role       string
	Content    string
	ToolCalls  []ToolCall
	ToolCallID string
	Usage      *Usage // assistant messages: the model call that wrote it
	CreatedAt  time.Time
}

// Turn is one user turn for the agent.
type Turn struct {
	UserID uuid.UUID
	// ThreadID is where the turn's messages are saved; it must be the user's.
	ThreadID uuid.UUID
	// History is the conversation before this turn, oldest first (roles user
	// and assistant), as the client or a schedule supplies it.
	History []Message
	// Prompt is the new user message; RunTurn saves it first.
	Prompt       string
	SystemPrompt string
	// IncludeApps are app ids or slugs; empty means every active install.
	IncludeApps []string
}

// Finish reasons of a turn beyond the model's own (stop, length, ...).
const (
	FinishToolRounds = "tool_rounds_limit" // MaxToolRounds reached
	FinishTimeLimit  = "time_limit"        // TurnTimeout reached
	FinishCancelled  = "cancelled"         // the caller went away
)

// TurnResult is what a turn produced.
type TurnResult struct {
	// MessageID is the final assistant message (uuid.Nil if none was saved).
	MessageID    uuid.UUID
	Text         string // the final assistant text, masked
	FinishReason string
	Usage        Usage // every model call of the turn added up
}

// Statuses of a turn, streamed as s:{"status":...} lines.
const (
	StatusThinking = "thinking"
	StatusTool     = "tool"
	StatusDone     = "done"
)

// Sink receives a turn's progress as it happens: the HTTP stream writes it
// out, a scheduled run heartbeats on it. Calls come from one goroutine.
type Sink interface {
	Status(status, tool string)
	TextDelta(delta string)
	ToolCall(c ToolCall)
	ToolResult(id, name string, ok bool, summary string)
}
