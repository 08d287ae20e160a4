package api

import (
	"encoding/json"
	"net/http"

	"github.com/officex/officex/internal/chat"
)

// threadBody is a thread as the reference shows it.
func threadBody(t chat.Thread) map[string]any {
	return map[string]any{"thread_id": t.ID, "title": t.Title, "project_id": t.ProjectID, "tracer_id": t.TracerID,
		"created_at": t.CreatedAt, "updated_at": t.UpdatedAt, "message_count": t.MessageCount}
}

func messageBody(m chat.Message) map[string]any {
	b := map[string]any{"message_id": m.ID, "role": m.Role, "content": m.Content, "created_at": m.CreatedAt}
	if len(m.ToolCalls) > 0 {
		b["tool_calls"] = m.ToolCalls
	}
	if m.ToolCallID != "" {
		b["tool_call_id"] = m.ToolCallID
	}
	if m.Usage != nil {
		b["usage"] = m.Usage
	}
	return b
}

// optionalQuery is a query parameter that narrows a list when present.
func optionalQuery(r *http.Request, name string) *string {
	if v, ok := r.URL.Query()[name]; ok && len(v) > 0 && v[0] != "" {
		return &v[0]
	}
	return nil
}

func (s *Server) listChats(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	f := chat.ThreadFilter{ProjectID: optionalQuery(r, "project_id"), TracerID: optionalQuery(r, "tracer_id")}
	after, afterID := cursorParts(cursor)
	list, err := s.chats.ListThreads(r.Context(), currentUser(r).ID, f, limit, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "threads", list, limit, noErr(threadBody),
		func(t chat.Thread) keysetCursor { return keysetCursor{Created: t.CreatedAt, ID: t.ID} })
}

func (s *Server) createChat(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Title     string  `json:"title"`
		ProjectID *string `json:"project_id"`
		TracerID  *string `json:"tracer_id"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	t, err := s.chats.CreateThread(r.Context(), currentUser(r).ID, chat.NewThread{Title: in.Title, ProjectID: in.ProjectID, TracerID: in.TracerID})
	if err != nil {
		return err
	}
	okStatus(w, http.StatusCreated, map[string]any{"thread": threadBody(t)})
	return nil
}

func (s *Server) getChat(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", chat.ErrThreadNotFound)
	if err != nil {
		return err
	}
	t, err := s.chats.GetThread(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	msgs, err := s.chats.Messages(r.Context(), t.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		out[i] = messageBody(m)
	}
	ok(w, map[string]any{"thread": threadBody(t), "messages": out})
	return nil
}

// nullableString tells a JSON field left out from one set to null.
type nullableString struct {
	Set   bool
	Value *string
}

func (n *nullableString) UnmarshalJSON(b []byte) error {
	n.Set = true
	return json.Unmarshal(b, &n.Value)
}

func (s *Server) patchChat(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", chat.ErrThreadNotFound)
	if err != nil {
		return err
	}
	var in struct {
		Title    *string        `json:"title"`
		TracerID nullableString `json:"tracer_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	p := chat.ThreadPatch{Title: in.Title, TracerID: in.TracerID.Value, ClearTracer: in.TracerID.Set && in.TracerID.Value == nil}
	t, err := s.chats.UpdateThread(r.Context(), currentUser(r).ID, id, p)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"thread": threadBody(t)})
	return nil
}

func (s *Server) deleteChat(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", chat.ErrThreadNotFound)
	if err != nil {
		return err
	}
	if err := s.chats.DeleteThread(r.Context(), currentUser(r).ID, id); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}
