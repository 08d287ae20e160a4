package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/refs"
)

func refKind(isThread bool) string {
	if isThread {
		return "thread"
	}
	return "text"
}

// refBody is a ref as its owner sees it: the public fields, its kind and
// the thread it was copied from (while that thread exists).
func refBody(r refs.Ref) map[string]any {
	b := map[string]any{"slug": r.Slug, "title": r.Title, "kind": refKind(r.IsThread()), "created_at": r.CreatedAt}
	if r.IsThread() {
		b["messages"], b["thread_id"] = refMessages(r.Messages), r.ThreadID
	} else {
		b["content"] = *r.Content
	}
	return b
}

func refSummaryBody(r refs.Summary) map[string]any {
	b := map[string]any{"slug": r.Slug, "title": r.Title, "kind": refKind(r.IsThread), "created_at": r.CreatedAt}
	if r.IsThread {
		b["thread_id"] = r.ThreadID
	}
	return b
}

func refMessages(msgs []refs.Message) []map[string]any {
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		out[i] = map[string]any{"role": m.Role, "content": m.Content, "created_at": m.CreatedAt}
	}
	return out
}

// publicRefBody is everything GET /refs/{slug} shows; it is built from
// refs.PublicRef, which holds nothing private.
func publicRefBody(r refs.PublicRef) map[string]any {
	b := map[string]any{"slug": r.Slug, "title": r.Title, "created_at": r.CreatedAt}
	if r.Content != nil {
		b["content"] = *r.Content
	} else {
		b["messages"] = refMessages(r.Messages)
	}
	return b
}

func (s *Server) listRefs(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.refs.List(r.Context(), currentUser(r).ID, limit, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "refs", list, limit, noErr(refSummaryBody),
		func(r refs.Summary) keysetCursor { return keysetCursor{Created: r.CreatedAt, ID: r.ID} })
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Slug     *string `json:"slug"`
		Title    string  `json:"title"`
		ThreadID *string `json:"thread_id"`
		Content  *string `json:"content"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	n := refs.NewRef{Slug: in.Slug, Title: in.Title, Content: in.Content}
	if in.ThreadID != nil {
		id, err := uuid.Parse(*in.ThreadID)
		if err != nil {
			return invalid("thread_id must be a thread's id (a UUID)")
		}
		n.ThreadID = &id
	}
	ref, err := s.refs.Create(r.Context(), currentUser(r).ID, n)
	if err != nil {
		return err
	}
	okStatus(w, http.StatusCreated, map[string]any{"ref": refBody(ref)})
	return nil
}

// pathSlug is the {slug} of the path; one that no ref can have is not found.
func pathSlug(r *http.Request) (string, error) {
	slug := mux.Vars(r)["slug"]
	if refs.ValidSlug(slug) != nil {
		return "", refs.ErrNotFound
	}
	return slug, nil
}

func (s *Server) getRef(w http.ResponseWriter, r *http.Request) error {
	slug, err := pathSlug(r)
	if err != nil {
		return err
	}
	ref, err := s.refs.Get(r.Context(), currentUser(r).ID, slug)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"ref": refBody(ref)})
	return nil
}

func (s *Server) deleteRef(w http.ResponseWriter, r *http.Request) error {
	slug, err := pathSlug(r)
	if err != nil {
		return err
	}
	if err := s.refs.Delete(r.Context(), currentUser(r).ID, slug); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}

// publicRef answers anyone who has the link.
func (s *Server) publicRef(w http.ResponseWriter, r *http.Request) error {
	slug, err := pathSlug(r)
	if err != nil {
		return err
	}
	ref, err := s.refs.GetPublic(r.Context(), slug)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"ref": publicRefBody(ref)})
	return nil
}
