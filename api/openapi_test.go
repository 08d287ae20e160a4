package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/officex/officex/api"
)

// The spec loads and passes kin-openapi's validation (LoadOpenAPI runs
// doc.Validate): a broken spec fails here, and the server could not serve it.
func TestOpenAPI_SpecIsValid(t *testing.T) {
	doc, err := api.LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	// Amounts are exact decimals: no schema may say float or double.
	if strings.Contains(string(api.OpenAPIYAML()), "format: float") || strings.Contains(string(api.OpenAPIYAML()), "format: double") {
		t.Fatal("api/openapi.yaml uses format: float/double; credits are exact decimals")
	}
}

var muxVarPattern = regexp.MustCompile(`\{([^}:]+):[^}]*\}`)

// Every route of api/router.go is in the spec with the same method, and
// every path and method of the spec (but the chat listener's) is routed.
func TestOpenAPI_EveryRouteIsInTheSpecAndEverySpecRouteIsServed(t *testing.T) {
	doc, err := api.LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	err = api.Router(api.Deps{}).Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := r.GetPathTemplate()
		if err != nil {
			return nil // a route without a path (none in router.go)
		}
		if strings.HasPrefix(path, "/admin/console") {
			return nil // the finance console's HTML pages are not the API (console.go)
		}
		methods, err := r.GetMethods()
		if err != nil {
			t.Errorf("route %s has no method", path)
			return nil
		}
		for _, m := range methods {
			routed[m+" "+muxVarPattern.ReplaceAllString(path, "{$1}")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Extensions["x-officex-chat-listener"] == true {
				if method != http.MethodPost || path != "/" {
					t.Errorf("chat listener operation %s %s: the listener serves only POST /", method, path)
				}
				continue
			}
			described[method+" "+path] = true
		}
	}
	var missing, unrouted []string
	for r := range routed {
		if !described[r] {
			missing = append(missing, r)
		}
	}
	for d := range described {
		if !routed[d] {
			unrouted = append(unrouted, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(unrouted)
	for _, r := range missing {
		t.Errorf("route %s is not in api/openapi.yaml", r)
	}
	for _, d := range unrouted {
		t.Errorf("api/openapi.yaml describes %s, which api/router.go does not route", d)
	}
	if len(routed) < 100 {
		t.Fatalf("walked only %d routes", len(routed))
	}
}

func TestOpenAPI_ServedAsYAMLJSONAndAReferencePage(t *testing.T) {
	c := env.Client(t)
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(env.Server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return resp, b
	}
	resp, body := get("/v1/openapi.yaml")
	if ct := resp.Header.Get("Content-Type"); ct != "application/yaml" || string(body) != string(api.OpenAPIYAML()) {
		t.Fatalf("openapi.yaml: %q, %d bytes", ct, len(body))
	}
	// Through the validating client too: the JSON form is itself described.
	r := c.Get("/openapi.json", nil)
	if r.Status != http.StatusOK || r.Body["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %d %.200s", r.Status, r.Raw)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil || doc.Paths["/v1/reserve"]["post"] == nil {
		t.Fatalf("openapi.json has no POST /v1/reserve: %v", err)
	}
	resp, page := get("/docs")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("/docs content type %q", ct)
	}
	for _, want := range []string{"<html", "/v1/reserve", "x-officex-install-secret", "INSUFFICIENT_FUNDS", "Pagination"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("/docs does not mention %q", want)
		}
	}
	for _, external := range []string{"<script", "https://", "http://"} {
		if strings.Contains(string(page), external) {
			t.Errorf("/docs has %q: the page must need nothing from elsewhere", external)
		}
	}
}
