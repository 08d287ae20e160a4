package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/officex/officex/api"
)

// The contract check: every request a Client sends and every answer it gets
// is validated against api/openapi.yaml, so a handler that answers a status,
// field or error code the spec does not list fails the test that saw it.

type contract struct {
	doc    *openapi3.T
	router routers.Router
	// Bodies are validated with JSON Schema 2020-12 schemas compiled once per
	// spec location and kept: openapi3filter compiles the schema again on
	// every call (milliseconds per exchange, too slow for tests that poll).
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema
}

// specURL names the spec as a JSON Schema resource; its schemas are
// compiled by JSON pointer, so their $refs to components resolve in it.
const specURL = "officex:api/openapi.json"

// schemaAt compiles (once) the schema at pointer in the spec.
func (ct *contract) schemaAt(pointer string) (*jsonschema.Schema, error) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if s, ok := ct.compiled[pointer]; ok {
		return s, nil
	}
	s, err := ct.compiler.Compile(specURL + "#" + pointer)
	if err != nil {
		return nil, err
	}
	ct.compiled[pointer] = s
	return s, nil
}

// pointerEscape escapes one JSON pointer token.
func pointerEscape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// jsonSchemaPointer is where an operation's request body or one response's
// JSON schema is in the spec, following a component $ref.
func jsonSchemaPointer(ref, inline string) string {
	base := inline
	if ref != "" {
		base = strings.TrimPrefix(ref, "#")
	}
	return base + "/content/application~1json/schema"
}

// validateJSON checks a JSON body against the schema at pointer.
func (ct *contract) validateJSON(pointer string, raw []byte) error {
	s, err := ct.schemaAt(pointer)
	if err != nil {
		return fmt.Errorf("compile %s: %w", pointer, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return s.Validate(v)
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	doc, err := api.LoadOpenAPI()
	if err != nil {
		return nil, err
	}
	// Match any host: the test servers listen on random ports.
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	asJSON, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	if err := comp.AddResource(specURL, asJSON); err != nil {
		return nil, err
	}
	return &contract{doc: doc, router: r, compiler: comp, compiled: map[string]*jsonschema.Schema{}}, nil
})

// acceptAuth lets security requirements pass: authentication has tests of
// its own, and requests are only validated when the API accepted them.
func acceptAuth(context.Context, *openapi3filter.AuthenticationInput) error { return nil }

// checkContract validates one exchange. The request is validated only when
// the answer is a success, since tests send malformed requests on purpose;
// the answer is always validated, status included.
func (c *Client) checkContract(req *http.Request, body []byte, resp *http.Response, raw []byte) {
	c.t.Helper()
	ct, err := loadContract()
	if err != nil {
		c.t.Errorf("openapi: %v", err)
		return
	}
	ctx := context.Background()
	// A copy of the request as sent, for the validator to read.
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		vreq.Body = http.NoBody
	}
	where := req.Method + " " + req.URL.Path
	if strings.ContainsRune(req.URL.Path, 0) || strings.Contains(strings.ToLower(req.URL.RawQuery), "%00") {
		// Refused by the NUL middleware before any route: 400 on every path.
		if resp.StatusCode != http.StatusBadRequest {
			c.t.Errorf("openapi: %s holds a NUL byte but answered %d: %.300s", where, resp.StatusCode, raw)
		} else if err := ct.validateError(raw); err != nil {
			c.t.Errorf("openapi: %s answered 400 with a body that is not the error envelope: %v", where, err)
		}
		return
	}
	route, params, err := ct.router.FindRoute(vreq)
	if err != nil {
		// Not a route of the spec: the API must answer the router's own
		// 404 NOT_FOUND or 405 METHOD_NOT_ALLOWED error.
		var body any
		code := ""
		if jsonErr := json.Unmarshal(raw, &body); jsonErr == nil {
			if m, ok := body.(map[string]any); ok {
				if e, ok := m["error"].(map[string]any); ok {
					code, _ = e["code"].(string)
				}
			}
		}
		notRouted := (errors.Is(err, routers.ErrPathNotFound) && resp.StatusCode == http.StatusNotFound && code == "NOT_FOUND") ||
			(errors.Is(err, routers.ErrMethodNotAllowed) && resp.StatusCode == http.StatusMethodNotAllowed && code == "METHOD_NOT_ALLOWED")
		if !notRouted {
			c.t.Errorf("openapi: %s is not in api/openapi.yaml (%v) but answered %d: %.300s", where, err, resp.StatusCode, raw)
			return
		}
		if err := ct.validateError(raw); err != nil {
			c.t.Errorf("openapi: %s answered %d with a body that is not the error envelope: %v", where, resp.StatusCode, err)
		}
		return
	}
	// openapi3filter checks parameters, content types, headers and the
	// status; the JSON bodies are checked by validateJSON, with the same
	// schemas compiled once.
	opPointer := "/paths/" + pointerEscape(route.Path) + "/" + strings.ToLower(req.Method)
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: acceptAuth, MultiError: true, ExcludeRequestBody: true}}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		err := openapi3filter.ValidateRequest(ctx, in)
		if rb := route.Operation.RequestBody; err == nil && rb != nil && rb.Value != nil && len(body) > 0 &&
			rb.Value.Content.Get("application/json") != nil {
			err = ct.validateJSON(jsonSchemaPointer(rb.Ref, opPointer+"/requestBody"), body)
		}
		if err != nil {
			c.t.Errorf("openapi: request %s was accepted (%d) but does not match api/openapi.yaml:\n%s\nbody: %.500s",
				where, resp.StatusCode, indent(err), body)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(raw)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: true}}
	err = openapi3filter.ValidateResponse(ctx, out)
	status := strconv.Itoa(resp.StatusCode)
	if r := route.Operation.Responses.Value(status); err == nil && r != nil && r.Value != nil &&
		r.Value.Content.Get("application/json") != nil {
		err = ct.validateJSON(jsonSchemaPointer(r.Ref, opPointer+"/responses/"+status), raw)
	}
	if err != nil {
		c.t.Errorf("openapi: answer to %s (%d) does not match api/openapi.yaml:\n%s\nbody: %.500s",
			where, resp.StatusCode, indent(err), raw)
	}
}

// validateError checks an answer against the error envelope.
func (ct *contract) validateError(raw []byte) error {
	return ct.validateJSON("/components/schemas/Error", raw)
}

func indent(err error) string { return "    " + strings.ReplaceAll(err.Error(), "\n", "\n    ") }
