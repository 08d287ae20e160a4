package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/officex/officex/api"
)

// The contract check: every request a Client sends and every answer it gets
// is validated against api/openapi.yaml, so a handler that answers a status,
// field or error code the spec does not list fails the test that saw it.

type contract struct {
	doc    *openapi3.T
	router routers.Router
	errSch *openapi3.Schema // the error envelope, for answers of unrouted paths
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
	return &contract{doc: doc, router: r, errSch: doc.Components.Schemas["Error"].Value}, nil
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
	route, params, err := ct.router.FindRoute(vreq)
	if err != nil {
		// Not a route of the spec: the API must answer the router's own
		// 404 NOT_FOUND or 405 METHOD_NOT_ALLOWED error.
		var body any
		code := ""
		if jsonErr := jsonUnmarshal(raw, &body); jsonErr == nil {
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
		if err := ct.errSch.VisitJSON(body, openapi3.EnableJSONSchema2020()); err != nil {
			c.t.Errorf("openapi: %s answered %d with a body that is not the error envelope: %v", where, resp.StatusCode, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: acceptAuth, MultiError: true}}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			c.t.Errorf("openapi: request %s was accepted (%d) but does not match api/openapi.yaml:\n%s\nbody: %.500s",
				where, resp.StatusCode, indent(err), body)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(raw)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.t.Errorf("openapi: answer to %s (%d) does not match api/openapi.yaml:\n%s\nbody: %.500s",
			where, resp.StatusCode, indent(err), raw)
	}
}

func indent(err error) string { return "    " + strings.ReplaceAll(err.Error(), "\n", "\n    ") }

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }
