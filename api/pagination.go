package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Page sizes of every list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	maxCursorLength = 200
)

// keysetCursor is the position after the last item of a page; lists are
// ordered newest first by (created_at, id). Its encoding is opaque to callers.
type keysetCursor struct {
	Created time.Time `json:"t"`
	ID      uuid.UUID `json:"i,omitempty"`
	Key     string    `json:"k,omitempty"` // for lists keyed by text (voucher codes, audit events)
}

// pageParams reads ?limit= and ?cursor=; cursor is nil on the first page.
func pageParams(r *http.Request) (int, *keysetCursor, error) {
	limit := DefaultPageSize
	if raw := r.URL.Query().Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > MaxPageSize {
			return 0, nil, invalid("limit must be an integer from 1 to %d", MaxPageSize)
		}
		limit = n
	}
	raw := r.URL.Query().Get("cursor")
	if raw == "" {
		return limit, nil, nil
	}
	var c keysetCursor
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(raw) > maxCursorLength || json.Unmarshal(b, &c) != nil || (c.ID == uuid.Nil && c.Key == "") {
		return 0, nil, invalid("cursor is not valid; use the next_cursor of a previous page")
	}
	return limit, &c, nil
}

// pagination builds the pagination object for a page fetched with limit+1
// rows: has_more when the extra row came back.
func pagination(fetched, limit int, last keysetCursor) map[string]any {
	if fetched <= limit {
		return map[string]any{"next_cursor": nil, "has_more": false}
	}
	b, _ := json.Marshal(last)
	return map[string]any{"next_cursor": base64.RawURLEncoding.EncodeToString(b), "has_more": true}
}

// cursorParts splits a cursor for the domain list functions.
func cursorParts(c *keysetCursor) (*time.Time, uuid.UUID) {
	if c == nil {
		return nil, uuid.Nil
	}
	return &c.Created, c.ID
}

// writePage answers one page of a list fetched with limit+1 rows: the items
// under key, each rendered by body, and the pagination object, whose cursor
// is the last item's position.
func writePage[T any](w http.ResponseWriter, key string, items []T, limit int,
	body func(T) (map[string]any, error), position func(T) keysetCursor) error {
	fetched := len(items)
	items = items[:min(fetched, limit)]
	out := make([]map[string]any, len(items))
	var last keysetCursor
	for i, it := range items {
		b, err := body(it)
		if err != nil {
			return err
		}
		out[i], last = b, position(it)
	}
	ok(w, map[string]any{key: out, "pagination": pagination(fetched, limit, last)})
	return nil
}

// noErr adapts a body function that cannot fail for writePage.
func noErr[T any](f func(T) map[string]any) func(T) (map[string]any, error) {
	return func(t T) (map[string]any, error) { return f(t), nil }
}
