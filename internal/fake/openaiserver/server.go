// Package openaiserver is a test double of an OpenAI-compatible Chat
// Completions server: it streams the chunk shapes real servers send (text
// over many deltas, tool calls whose name and arguments arrive in pieces,
// several calls in one message, usage in the last chunk, errors mid-stream)
// from a script the test writes, and records every request it received so a
// test can check what the model was shown. Tests only.
package openaiserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Reply is one scripted answer to one /chat/completions request.
type Reply struct {
	// Status, when not 200, answers with that HTTP error and no stream.
	Status int
	// Text is streamed as content deltas, one per element.
	Text []string
	// Calls are tool calls; each is streamed in fragments.
	Calls []Call
	// FinishReason of the last choice chunk ("stop" or "tool_calls" when empty).
	FinishReason string
	// Usage is sent in a final chunk with no choices (stream_options.include_usage).
	InputTokens, OutputTokens int64
	// BreakAfter cuts the connection after this many text deltas (0: never).
	BreakAfter int
	// Hang, after the text, keeps the stream open until the client goes away.
	Hang bool
	// Delay waits before each chunk.
	Delay time.Duration
}

// Call is a scripted tool call.
type Call struct {
	ID, Name, Arguments string
}

// Say is a reply that streams text split into pieces of n bytes.
func Say(text string, n int) Reply {
	var parts []string
	for len(text) > n {
		parts = append(parts, text[:n])
		text = text[n:]
	}
	return Reply{Text: append(parts, text), InputTokens: 100, OutputTokens: 20}
}

// Request is what the server received.
type Request struct {
	Model    string          `json:"model"`
	Messages []Message       `json:"messages"`
	Tools    json.RawMessage `json:"tools"`
	Stream   bool            `json:"stream"`
	Auth     string          `json:"-"`
}

// Message is a received message; tool calls are kept raw.
type Message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  json.RawMessage `json:"tool_calls"`
}

// Text is a message's content as a string.
func (m Message) Text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	return string(m.Content)
}

// Server is the fake; URL is its base for OPENAI_BASE_URL.
type Server struct {
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	script   []Reply
	fallback *Reply
	requests []Request
	// Closed receives one value each time a client goes away mid-stream.
	Closed chan struct{}
}

// New starts a server answering with script, in order.
func New(script ...Reply) *Server {
	s := &Server{script: script, Closed: make(chan struct{}, 16)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/v1"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.CloseClientConnections(); s.srv.Close() }

// Push appends replies to the script.
func (s *Server) Push(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// Always answers r once the script is spent.
func (s *Server) Always(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = &r
}

// Requests returns what was received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) next(req Request) (Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if len(s.script) == 0 {
		if s.fallback != nil {
			return *s.fallback, true
		}
		return Reply{}, false
	}
	r := s.script[0]
	s.script = s.script[1:]
	return r, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req Request
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	req.Auth = r.Header.Get("Authorization")
	reply, ok := s.next(req)
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"message":"script spent","type":"server_error"}}`)
		return
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		fmt.Fprintf(w, `{"error":{"message":"scripted failure %d","type":"server_error"}}`, reply.Status)
		return
	}
	s.stream(w, r, reply)
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, reply Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	send := func(v any) bool {
		if reply.Delay > 0 {
			select {
			case <-time.After(reply.Delay):
			case <-r.Context().Done():
				s.Closed <- struct{}{}
				return false
			}
		}
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		flusher.Flush()
		return true
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "fake",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	if !send(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for i, t := range reply.Text {
		if reply.BreakAfter > 0 && i == reply.BreakAfter {
			panic(http.ErrAbortHandler) // the connection drops mid-stream
		}
		if !send(chunk(map[string]any{"content": t}, nil)) {
			return
		}
	}
	if reply.Hang {
		<-r.Context().Done()
		s.Closed <- struct{}{}
		return
	}
	for i, c := range reply.Calls {
		if !s.sendCall(send, chunk, i, c) {
			return
		}
	}
	finish := reply.FinishReason
	if finish == "" {
		finish = "stop"
		if len(reply.Calls) > 0 {
			finish = "tool_calls"
		}
	}
	if !send(chunk(map[string]any{}, finish)) {
		return
	}
	send(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "fake", "choices": []any{},
		"usage": map[string]any{"prompt_tokens": reply.InputTokens, "completion_tokens": reply.OutputTokens,
			"total_tokens": reply.InputTokens + reply.OutputTokens}})
	fmt.Fprint(w, "data: [DONE]\n\n")
	flusher.Flush()
}

// sendCall streams one tool call as real servers do: the first fragment
// has the id and half the name, later ones the rest of the name and the
// arguments in pieces.
func (s *Server) sendCall(send func(any) bool, chunk func(map[string]any, any) map[string]any, index int, c Call) bool {
	half := len(c.Name) / 2
	frags := []map[string]any{
		{"index": index, "id": c.ID, "type": "function", "function": map[string]any{"name": c.Name[:half], "arguments": ""}},
		{"index": index, "function": map[string]any{"name": c.Name[half:]}},
	}
	args := c.Arguments
	for len(args) > 0 {
		n := min(len(args), 7)
		frags = append(frags, map[string]any{"index": index, "function": map[string]any{"arguments": args[:n]}})
		args = args[n:]
	}
	for _, f := range frags {
		if !send(chunk(map[string]any{"tool_calls": []any{f}}, nil)) {
			return false
		}
	}
	return true
}
