package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/officex/officex/ledger"
)

// fuzzBody has a field of each kind handlers decode into.
type fuzzBody struct {
	Amount   *ledger.Credits   `json:"amount"`
	JobID    string            `json:"job_id"`
	Metadata json.RawMessage   `json:"metadata"`
	Tags     []string          `json:"tags"`
	Fields   map[string]string `json:"fields"`
	Nested   *struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	} `json:"payment_method"`
	Final bool `json:"final"`
}

// refusable reports, independently of checkJSON (recursive descent instead of
// its explicit stack), whether a valid JSON text repeats a key in one object
// or holds a NUL character in a key or string.
func refusable(dec *json.Decoder) bool {
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	switch v := tok.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case json.Delim:
		bad := false
		seen := map[string]bool{}
		for dec.More() {
			if v == '{' {
				k, _ := dec.Token()
				key, _ := k.(string)
				bad = bad || seen[key] || strings.ContainsRune(key, 0)
				seen[key] = true
			}
			bad = refusable(dec) || bad
		}
		_, _ = dec.Token()
		return bad
	}
	return false
}

func depth(raw []byte) int {
	d, most := 0, 0
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return most
		}
		if dl, ok := tok.(json.Delim); ok {
			if dl == '{' || dl == '[' {
				d++
				most = max(most, d)
			} else {
				d--
			}
		}
	}
}

// FuzzDecode: the strict decoder never panics, refuses only with a 400 (or
// 413) in the API's format, refuses every body that repeats a key or holds a
// NUL, and what it accepts holds no NUL anywhere (RawMessage included).
// make test runs the seeds; fuzz with: go test ./api -run '^$' -fuzz FuzzDecode
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"amount": 1, "job_id": "job-1", "metadata": {"leads": 50}}`,
		`{"amount": "0.000001", "final": true, "payment_method": {"type": "stripe", "token": "tok_visa"}}`,
		`{"job_id": "a\u0000b"}`,
		`{"metadata": {"deep": [{"x": "\u0000"}]}}`,
		`{"metadata": {"k\u0000": 1}}`,
		`{"amount": 1, "amount": 2}`,
		`{"metadata": {"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}}`,
		`{"metadata": {"list": [{"y": 1, "y": 2}]}}`,
		`{"tags": ["a", "b\u0000"], "fields": {"x": "y"}}`,
		`{"fields": {"x": "1", "x": "2"}}`,
		`{"job_id": "x"} {"job_id": "y"}`,
		`{"unknown": 1}`,
		`[1, 2]`, `"\u0000"`, `null`, ``, `{`, `{"a":}`, `{"metadata": [[[[[[[[[[]]]]]]]]]]}`,
		strings.Repeat(`{"metadata":`, MaxJSONDepth+1) + `1` + strings.Repeat(`}`, MaxJSONDepth+1),
		"{\"job_id\": \"raw\x00nul\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var dst fuzzBody
		err := decodeBytes(raw, &dst)
		if err != nil {
			var apiErr *Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Code != "INVALID_REQUEST" {
				t.Fatalf("refusal %v is not a 400 INVALID_REQUEST", err)
			}
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("accepted invalid JSON %q", raw)
		}
		if refusable(json.NewDecoder(bytes.NewReader(raw))) {
			t.Fatalf("accepted a repeated key or a NUL: %q", raw)
		}
		if depth(raw) > MaxJSONDepth {
			t.Fatalf("accepted nesting deeper than %d: %q", MaxJSONDepth, raw)
		}
		out, mErr := json.Marshal(dst)
		if mErr != nil {
			t.Fatalf("re-encode: %v", mErr)
		}
		if bytes.Contains(out, []byte(`\u0000`)) {
			t.Fatalf("a NUL got through: %s from %q", out, raw)
		}
	})
}

// FuzzPathParams: no NUL in a path parameter or a query value ever reaches
// a handler, and a request carrying one answers 400 INVALID_REQUEST.
func FuzzPathParams(f *testing.F) {
	for _, seed := range []string{"RESV#job-1", "RESV#job\x00", "\x00", "%00", "a/b", "OFX-7KQ2", "ünïcode", "a%2500b", "%"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, param string) {
		reached := false
		router := mux.NewRouter()
		check := func(w http.ResponseWriter, r *http.Request) {
			reached = true
			for name, v := range mux.Vars(r) {
				if strings.ContainsRune(v, 0) {
					t.Fatalf("path parameter %s reached the handler with a NUL: %q", name, v)
				}
			}
			for k, vs := range r.URL.Query() {
				if strings.ContainsRune(k+strings.Join(vs, ""), 0) {
					t.Fatalf("query %q=%q reached the handler with a NUL", k, vs)
				}
			}
		}
		router.HandleFunc("/v1/reservations/{id}", check)
		router.HandleFunc("/v1/reservations/{id}/settle", check)
		router.HandleFunc("/v1/uploads/files/{key:.+}", check)
		router.HandleFunc("/v1/apps", check)
		h := withoutNUL(router)
		targets := []string{
			"/v1/reservations/" + url.PathEscape(param),
			"/v1/reservations/" + url.PathEscape(param) + "/settle",
			"/v1/uploads/files/users/" + url.PathEscape(param) + "/f.txt",
			"/v1/apps?q=" + url.QueryEscape(param) + "&" + url.QueryEscape(param) + "=1",
		}
		if u, err := url.ParseRequestURI("/v1/reservations/" + param); err == nil && !strings.ContainsAny(param, " \r\n\t#?") {
			targets = append(targets, u.String())
		}
		for _, target := range targets {
			reached = false
			req := httptest.NewRequest(http.MethodGet, target, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			hasNULParam := strings.ContainsRune(req.URL.Path, 0) || strings.Contains(req.URL.RawQuery, "%00")
			if hasNULParam && (rec.Code != http.StatusBadRequest || reached) {
				t.Fatalf("%s: status %d, handler reached %v; want 400 before any handler", target, rec.Code, reached)
			}
			if rec.Code == http.StatusBadRequest {
				body, _ := io.ReadAll(rec.Body)
				if !bytes.Contains(body, []byte(`"INVALID_REQUEST"`)) {
					t.Fatalf("%s: 400 without INVALID_REQUEST: %s", target, body)
				}
			}
		}
	})
}
