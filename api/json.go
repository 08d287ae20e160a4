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

// MaxJSONDepth bounds the nesting of objects and arrays in a request body.
const MaxJSONDepth = 64

// decode reads the body strictly into dst: one JSON object, no unknown
// fields, no repeated keys, no NUL characters, no trailing data, within
// MaxBodyBytes (enforced by middleware).
func decode(r *http.Request, dst any) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	return decodeBytes(raw, dst)
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
	return decodeBytes(raw, dst)
}

func decodeBytes(raw []byte, dst any) error {
	if err := checkJSON(raw); err != nil {
		return decodeError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return invalid("request body must be a single JSON object")
	}
	return nil
}

// checkJSON walks the body's first JSON value token by token and refuses
// what encoding/json would let through: a key repeated in one object (the
// last one silently wins, so whoever reads the first sees another request),
// a NUL character in any key or string (PostgreSQL refuses it in text and
// jsonb: it used to surface as a 500), nesting beyond MaxJSONDepth. Syntax
// errors are returned as they are, for decodeError.
func checkJSON(raw []byte) error {
	type level struct {
		keys    map[string]struct{} // nil for an array
		wantKey bool                // an object's next token is a key
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var top *level
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if s, isString := tok.(string); isString && strings.IndexByte(s, 0) >= 0 {
			return invalid("request body contains a NUL character (\\u0000), which no field accepts")
		}
		if top != nil && top.keys != nil {
			if top.wantKey {
				if d, isDelim := tok.(json.Delim); isDelim && d == '}' {
					stack = stack[:len(stack)-1]
				} else {
					key, _ := tok.(string)
					if _, seen := top.keys[key]; seen {
						return invalid("request body repeats the key %q in one object", key)
					}
					top.keys[key] = struct{}{}
					top.wantKey = false
				}
				if len(stack) == 0 {
					return nil
				}
				continue
			}
			top.wantKey = true // this token is a value: a key comes next
		}
		if d, isDelim := tok.(json.Delim); isDelim {
			switch d {
			case '{', '[':
				if len(stack) >= MaxJSONDepth {
					return invalid("request body nests deeper than %d levels", MaxJSONDepth)
				}
				next := level{}
				if d == '{' {
					next = level{keys: map[string]struct{}{}, wantKey: true}
				}
				stack = append(stack, next)
			case ']':
				stack = stack[:len(stack)-1]
			}
		}
		if len(stack) == 0 {
			return nil
		}
	}
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr
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
