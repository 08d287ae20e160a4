package api

import (
	"encoding/json"
	"net/http"

	"github.com/officex/officex/internal/prompts"
)

func promptBody(p prompts.Prompt) map[string]any {
	return map[string]any{"prompt_id": p.ID, "title": p.Title, "content": p.Content, "tags": p.Tags,
		"created_at": p.CreatedAt, "updated_at": p.UpdatedAt}
}

func (s *Server) listPrompts(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.prompts.List(r.Context(), currentUser(r).ID, limit, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "prompts", list, limit, noErr(promptBody),
		func(p prompts.Prompt) keysetCursor { return keysetCursor{Created: p.CreatedAt, ID: p.ID} })
}

func (s *Server) createPrompt(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Title   string   `json:"title"`
		Content string   `json:"content"`
		Tags    []string `json:"tags"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.prompts.Create(r.Context(), currentUser(r).ID, prompts.Fields{Title: in.Title, Content: in.Content, Tags: in.Tags})
	if err != nil {
		return err
	}
	okStatus(w, http.StatusCreated, map[string]any{"prompt": promptBody(p)})
	return nil
}

func (s *Server) getPrompt(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", prompts.ErrNotFound)
	if err != nil {
		return err
	}
	p, err := s.prompts.Get(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"prompt": promptBody(p)})
	return nil
}

// nullableTags tells tags left out from tags set to null (which, like [],
// removes every tag).
type nullableTags struct {
	Set   bool
	Value []string
}

func (n *nullableTags) UnmarshalJSON(b []byte) error {
	n.Set = true
	return json.Unmarshal(b, &n.Value)
}

func (s *Server) patchPrompt(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", prompts.ErrNotFound)
	if err != nil {
		return err
	}
	var in struct {
		Title   nullableString `json:"title"`
		Content nullableString `json:"content"`
		Tags    nullableTags   `json:"tags"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if (in.Title.Set && in.Title.Value == nil) || (in.Content.Set && in.Content.Value == nil) {
		return invalid("title and content can't be null; leave a field out to keep it")
	}
	p := prompts.Patch{Title: in.Title.Value, Content: in.Content.Value}
	if in.Tags.Set {
		tags := in.Tags.Value
		p.Tags = &tags
	}
	out, err := s.prompts.Update(r.Context(), currentUser(r).ID, id, p)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"prompt": promptBody(out)})
	return nil
}

func (s *Server) deletePrompt(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", prompts.ErrNotFound)
	if err != nil {
		return err
	}
	if err := s.prompts.Delete(r.Context(), currentUser(r).ID, id); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}
