package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/chat"
)

// The chat listener (OFFICEX_CHAT_ADDR): the reference's "function URL",
// POST / answering one user turn as a stream.

// MaxChatBodyBytes bounds a stream request: 200 messages of history fit
// comfortably; a longer conversation is sent by thread_id, not inline.
const MaxChatBodyBytes = 4 << 20

// DefaultChatKeepAlive is how often ": keep-alive" goes out while the model is silent.
const DefaultChatKeepAlive = 15 * time.Second

// streamRetryAfter is what a user with every stream slot busy is told to wait.
const streamRetryAfter = 5 * time.Second

var errChatUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE",
	Message: "the chat agent is not configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server)"}

// NewChatHandler is the chat listener's handler.
func NewChatHandler(d Deps) http.Handler {
	s := newServer(d)
	root := http.NewServeMux()
	root.Handle("POST /{$}", s.masterKey(s.chatStream))
	root.Handle("/{$}", handlerFunc(func(http.ResponseWriter, *http.Request) error { return errMethod }))
	root.Handle("/", handlerFunc(func(http.ResponseWriter, *http.Request) error { return errNotFound }))
	return chain(root, withRequestID, withLogging(s.log), withRecovery(s.log), withoutNUL, withBodyLimitOf(MaxChatBodyBytes))
}

type streamRequest struct {
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ThreadID     *uuid.UUID `json:"thread_id"`
	ProjectID    *string    `json:"project_id"`
	SystemPrompt string     `json:"system_prompt"`
	TracerID     *string    `json:"tracer_id"`
	IncludeApps  []string   `json:"include_apps"`
}

// turn checks the request's messages and makes the agent's turn of them.
func (in *streamRequest) turn(user uuid.UUID) (chat.Turn, error) {
	n := len(in.Messages)
	if n == 0 || n > chat.MaxMessagesPerTurn {
		return chat.Turn{}, invalid("messages: 1 to %d messages, the last one the user's", chat.MaxMessagesPerTurn)
	}
	t := chat.Turn{UserID: user, SystemPrompt: in.SystemPrompt, IncludeApps: in.IncludeApps}
	for i, m := range in.Messages {
		if m.Role != chat.RoleUser && m.Role != chat.RoleAssistant {
			return chat.Turn{}, invalid("messages[%d].role must be user or assistant", i)
		}
		if utf8.RuneCountInString(m.Content) > chat.MaxMessageLen {
			return chat.Turn{}, invalid("messages[%d].content: at most %d characters", i, chat.MaxMessageLen)
		}
		if i < n-1 {
			t.History = append(t.History, chat.Message{Role: m.Role, Content: m.Content})
		}
	}
	if last := in.Messages[n-1]; last.Role != chat.RoleUser {
		return chat.Turn{}, invalid("the last message must be the user's")
	} else {
		t.Prompt = last.Content
	}
	if in.TracerID != nil {
		if err := chat.ValidTracerID(*in.TracerID); err != nil {
			return chat.Turn{}, err
		}
	}
	return t, nil
}

// chatStream answers one turn. Everything that can be refused is refused
// before the first byte of the stream, as a plain JSON error.
func (s *Server) chatStream(w http.ResponseWriter, r *http.Request) error {
	if s.agent == nil {
		return errChatUnavailable
	}
	var in streamRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx, user := r.Context(), currentUser(r).ID
	turn, err := in.turn(user)
	if err != nil {
		return err
	}
	if err := s.checkStreamThread(ctx, user, &in); err != nil {
		return err
	}
	prepared, err := s.agent.Prepare(ctx, turn)
	if err != nil {
		return err
	}
	release, err := s.chats.ClaimStream(ctx, user)
	if errors.Is(err, chat.ErrTooManyStreams) {
		return &Error{http.StatusTooManyRequests, "RATE_LIMITED",
			fmt.Sprintf("at most %d chat streams at once; wait for one to finish", chat.MaxStreamsPerUser), streamRetryAfter}
	}
	if err != nil {
		return err
	}
	defer release()
	thread, err := s.streamThread(ctx, user, &in, turn)
	if err != nil {
		return err
	}
	prepared.InThread(thread.ID)
	sse := startSSE(w, s.chatKeepAlive)
	defer sse.stop()
	sse.line("t:" + thread.ID.String())
	if tracer := cmp.Or(in.TracerID, thread.TracerID); tracer != nil {
		sse.line("tracer:" + *tracer)
	}
	res, err := s.agent.Run(ctx, prepared, sse)
	if ctx.Err() == nil { // else the client is gone; what completed is saved
		s.endStream(ctx, sse, thread, res, err)
	}
	return nil
}

// endStream writes the turn's last event: finish, or the error that ended it.
func (s *Server) endStream(ctx context.Context, sse *sseWriter, thread chat.Thread, res chat.TurnResult, err error) {
	switch {
	case err == nil:
		sse.event(map[string]any{"type": "finish", "message_id": res.MessageID, "finish_reason": res.FinishReason, "usage": res.Usage})
	case errors.Is(err, chat.ErrModel):
		sse.event(map[string]any{"type": "error", "code": "MODEL_ERROR", "message": err.Error()})
	default:
		s.log.ErrorContext(ctx, "chat turn failed", "thread", thread.ID, "error", err.Error())
		sse.event(map[string]any{"type": "error", "code": "INTERNAL_ERROR", "message": "unexpected server error"})
	}
	sse.Status(chat.StatusDone, "")
	sse.data("[DONE]")
}

// checkStreamThread refuses a thread_id that is not the user's (404) and a
// bad project_id, before anything is spent.
func (s *Server) checkStreamThread(ctx context.Context, user uuid.UUID, in *streamRequest) error {
	if in.ThreadID != nil {
		_, err := s.chats.GetThread(ctx, user, *in.ThreadID)
		return err
	}
	if in.ProjectID != nil && (*in.ProjectID == "" || utf8.RuneCountInString(*in.ProjectID) > chat.MaxProjectIDLen) {
		return invalid("project_id: 1-%d characters", chat.MaxProjectIDLen)
	}
	return nil
}

// streamThread is the request's thread, or a new one titled from the first
// user message that keeps the conversation it was started with.
func (s *Server) streamThread(ctx context.Context, user uuid.UUID, in *streamRequest, turn chat.Turn) (chat.Thread, error) {
	if in.ThreadID != nil {
		return s.chats.GetThread(ctx, user, *in.ThreadID)
	}
	first := turn.Prompt
	for _, m := range turn.History {
		if m.Role == chat.RoleUser {
			first = m.Content
			break
		}
	}
	t, err := s.chats.CreateThread(ctx, user, chat.NewThread{Title: chat.TitleFrom(first), ProjectID: in.ProjectID, TracerID: in.TracerID})
	if err != nil {
		return chat.Thread{}, err
	}
	for _, m := range turn.History {
		m.ThreadID = t.ID
		if _, err := s.chats.SaveMessage(ctx, m); err != nil {
			return chat.Thread{}, err
		}
	}
	return t, nil
}

// sseWriter writes the stream: protocol lines, SSE events and keep-alive
// comments, one writer at a time. It is the agent's Sink.
type sseWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	flusher http.Flusher
	last    time.Time
	done    chan struct{}
}

func startSSE(w http.ResponseWriter, keepAlive time.Duration) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold the stream back
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	s := &sseWriter{w: w, flusher: f, last: time.Now(), done: make(chan struct{})}
	if keepAlive <= 0 {
		keepAlive = DefaultChatKeepAlive
	}
	go s.keepAlive(keepAlive)
	return s
}

func (s *sseWriter) keepAlive(every time.Duration) {
	tick := time.NewTicker(every / 3)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-tick.C:
			s.mu.Lock()
			if now.Sub(s.last) >= every {
				s.writeLocked(": keep-alive\n\n")
			}
			s.mu.Unlock()
		}
	}
}

func (s *sseWriter) stop() {
	close(s.done)
}

func (s *sseWriter) write(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeLocked(text)
}

func (s *sseWriter) writeLocked(text string) {
	_, _ = s.w.Write([]byte(text)) // a gone client shows as the request's context ending
	if s.flusher != nil {
		s.flusher.Flush()
	}
	s.last = time.Now()
}

// line is a protocol line of the reference (t:, tracer:, s:).
func (s *sseWriter) line(l string) { s.write(l + "\n") }

func (s *sseWriter) data(d string) { s.write("data: " + d + "\n\n") }

func (s *sseWriter) event(v any) {
	b, _ := json.Marshal(v)
	s.data(string(b))
}

func (s *sseWriter) Status(status, tool string) {
	v := map[string]string{"status": status}
	if tool != "" {
		v["name"] = tool
	}
	b, _ := json.Marshal(v)
	s.line("s:" + string(b))
}

func (s *sseWriter) TextDelta(delta string) {
	s.event(map[string]string{"type": "text-delta", "delta": delta})
}

func (s *sseWriter) ToolCall(c chat.ToolCall) {
	s.event(map[string]string{"type": "tool-call", "id": c.ID, "name": c.Name, "arguments": c.Arguments})
}

func (s *sseWriter) ToolResult(id, name string, ok bool, summary string) {
	s.event(map[string]any{"type": "tool-result", "id": id, "name": name, "ok": ok, "summary": summary})
}
