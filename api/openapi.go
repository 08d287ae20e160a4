package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// openapiYAML is the API's contract (api/openapi.yaml). The tests check that
// it describes every route and validate every test request and answer
// against it (internal/testenv), so it says what the handlers do.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPIYAML returns the embedded OpenAPI document as written.
func OpenAPIYAML() []byte { return openapiYAML }

// LoadOpenAPI parses and validates the embedded document; each call returns
// a fresh copy the caller may change.
func LoadOpenAPI() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("load api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate api/openapi.yaml: %w", err)
	}
	return doc, nil
}

// spec is the document as served: loaded, converted to JSON and rendered
// as the reference page once, on first use.
var spec = sync.OnceValues(func() (*servedSpec, error) {
	doc, err := LoadOpenAPI()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml as JSON: %w", err)
	}
	page, err := renderDocs(doc)
	if err != nil {
		return nil, err
	}
	return &servedSpec{json: raw, html: page}, nil
})

type servedSpec struct {
	json []byte
	html []byte
}

func (s *Server) openapiYAML(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openapiYAML)
	return nil
}

func (s *Server) openapiJSON(w http.ResponseWriter, _ *http.Request) error {
	sp, err := spec()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(sp.json)
	return nil
}

func (s *Server) docs(w http.ResponseWriter, _ *http.Request) error {
	sp, err := spec()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(sp.html)
	return nil
}
