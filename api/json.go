package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/officex/officex/ledger"
)

// MaxBodyBytes bounds every request body; the biggest legitimate body (an
// app's 50,000-character documentation plus its other fields) fits well.
const MaxBodyBytes = 256 << 10

// MaxTextBodyBytes bounds the bodies of routes that take a long text (a
// ref's content): its character limit in 4-byte characters, JSON-escaped.
const MaxTextBodyBytes = 1 << 20

// decode reads the body strictly into dst: one JSON object, no unknown
// fields, no trailing data, within MaxBodyBytes (enforced by middleware).
func decode(r *http.Request, dst any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return invalid("request body must be a single JSON object")
	}
	return nil
}

// decodeOptional is decode for routes whose body may be left out entirely.
func decodeOptional(r *http.Request, dst any) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return decode(r, dst)
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "INVALID_REQUEST",
			Message: fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return invalid("request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("request body is not valid JSON")
	case errors.Is(err, ledger.ErrInvalidAmount):
		return invalid("%s", ledger.ErrInvalidAmount.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalid("request body must be a JSON object")
		}
		return invalid("field %q must be of type %s", typeErr.Field, typeErr.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalid("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return invalid("request body could not be decoded")
}

// writeJSON encodes body with status; encoding errors can only be a closed
// connection by then, so they are dropped.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// ok answers 200 with success:true merged into fields.
func ok(w http.ResponseWriter, fields map[string]any) { okStatus(w, http.StatusOK, fields) }

func okStatus(w http.ResponseWriter, status int, fields map[string]any) {
	body := map[string]any{"success": true}
	for k, v := range fields {
		body[k] = v
	}
	writeJSON(w, status, body)
}
