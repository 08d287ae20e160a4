package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/officex/officex/internal/safehttp"
)

// Tool names the model can call.
const (
	ToolLoadAppSkill = "load_app_skill"
	ToolHTTPRequest  = "http_request"
)

// Limits of http_request.
const (
	MaxToolResponseBytes = 64 << 10 // response body the model sees
	MaxToolRequestBytes  = 64 << 10 // request body the model may send
	MaxToolHeaders       = 32
	MaxToolArgumentBytes = 256 << 10 // a tool call's JSON arguments
)

var toolMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true}

// requestHeadersRefused are set by the HTTP client, not by the model.
var requestHeadersRefused = map[string]bool{"Host": true, "Content-Length": true, "Transfer-Encoding": true,
	"Connection": true, "Upgrade": true, "Te": true, "Trailer": true, "Proxy-Authorization": true}

// responseHeadersShown are the response headers the model sees.
var responseHeadersShown = []string{"Content-Type", "Content-Length", "Location", "Retry-After", "Etag", "Last-Modified",
	"Ratelimit-Remaining", "X-Ratelimit-Remaining", "Link"}

func tools() []openai.ChatCompletionToolUnionParam {
	return []openai.ChatCompletionToolUnionParam{
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: ToolLoadAppSkill,
			Description: openai.String("Read an installed app's documentation, instructions and the names of its agent_context credentials."),
			Parameters: shared.FunctionParameters{"type": "object", "required": []string{"app_id"},
				"properties": map[string]any{"app_id": map[string]any{"type": "string", "description": "the app's id or slug"}}}}),
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: ToolHTTPRequest,
			Description: openai.String("Call an HTTP API. Write credentials as {{agent_context.KEY}}; they are filled in only for the app's own origins."),
			Parameters: shared.FunctionParameters{"type": "object", "required": []string{"method", "url"},
				"properties": map[string]any{
					"method":  map[string]any{"type": "string", "enum": []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}},
					"url":     map[string]any{"type": "string"},
					"headers": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
					"body":    map[string]any{"type": "string"},
				}}}),
	}
}

// toolOutcome is what a tool call gives the model (content) and the client (summary).
type toolOutcome struct {
	ok      bool
	content string
	summary string
}

func toolError(format string, args ...any) toolOutcome {
	msg := fmt.Sprintf(format, args...)
	b, _ := json.Marshal(map[string]string{"error": msg})
	return toolOutcome{ok: false, content: string(b), summary: msg}
}

func (a *Agent) runTool(ctx context.Context, p *Prepared, c ToolCall) toolOutcome {
	if len(c.Arguments) > MaxToolArgumentBytes {
		return toolError("arguments are longer than %d bytes", MaxToolArgumentBytes)
	}
	switch c.Name {
	case ToolLoadAppSkill:
		return loadAppSkill(p, c.Arguments)
	case ToolHTTPRequest:
		return a.httpRequest(ctx, p, c.Arguments)
	}
	return toolError("unknown tool %q", truncate(c.Name, 64))
}

func loadAppSkill(p *Prepared, args string) toolOutcome {
	var in struct {
		AppID string `json:"app_id"`
	}
	if err := json.Unmarshal([]byte(args), &in); err != nil || in.AppID == "" {
		return toolError("load_app_skill wants {\"app_id\": \"...\"}")
	}
	s, ok := p.skills.find(in.AppID)
	if !ok {
		return toolError("app %q is not installed", truncate(in.AppID, 100))
	}
	b, _ := json.Marshal(map[string]any{"app_id": s.AppID, "slug": s.Slug, "name": s.Name,
		"context_prompt": s.ContextPrompt, "documentation": s.Documentation,
		"agent_context_keys": s.keyNames(), "origins": s.Origins})
	return toolOutcome{ok: true, content: string(b), summary: "loaded " + s.Name}
}

// placeholder is {{agent_context.KEY}}.
var placeholder = regexp.MustCompile(`\{\{\s*agent_context\.([A-Za-z0-9_.\-]+)\s*\}\}`)

type httpArgs struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func (a *Agent) httpRequest(ctx context.Context, p *Prepared, raw string) toolOutcome {
	var in httpArgs
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return toolError("http_request wants {\"method\", \"url\", \"headers\"?, \"body\"?}: %s", err.Error())
	}
	in.Method = strings.ToUpper(in.Method)
	if !toolMethods[in.Method] {
		return toolError("method must be one of GET, POST, PUT, PATCH, DELETE, HEAD")
	}
	if len(in.Headers) > MaxToolHeaders || len(in.Body) > MaxToolRequestBytes {
		return toolError("at most %d headers and a body of %d bytes", MaxToolHeaders, MaxToolRequestBytes)
	}
	summary := fmt.Sprintf("%s %s", in.Method, truncate(in.URL, 200))
	filled, err := fillCredentials(p.apps, in)
	if err != nil {
		return toolError("%s; nothing was sent", err.Error())
	}
	if err := safehttp.CheckURL(filled.URL, true); err != nil { // addresses are checked at dial time
		return toolError("url: %s", err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, ToolRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, in.Method, filled.URL, strings.NewReader(filled.Body))
	if err != nil {
		return toolError("url: %s", err.Error())
	}
	for k, v := range filled.Headers {
		name := http.CanonicalHeaderKey(k)
		if requestHeadersRefused[name] {
			return toolError("header %s is set by the client, not by the request", name)
		}
		req.Header.Set(name, v)
	}
	resp, err := a.web.Do(req)
	if err != nil {
		return toolError("%s failed: %s", summary, safehttp.Describe(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxToolResponseBytes+1))
	truncated := len(body) > MaxToolResponseBytes
	if truncated {
		body = body[:MaxToolResponseBytes]
	}
	headers := map[string]string{}
	for _, h := range responseHeadersShown {
		if v := resp.Header.Get(h); v != "" {
			headers[h] = v
		}
	}
	out, _ := json.Marshal(map[string]any{"status": resp.StatusCode, "headers": headers,
		"body": strings.ToValidUTF8(string(body), "\uFFFD"), "truncated": truncated})
	return toolOutcome{ok: resp.StatusCode < 400, content: string(out), summary: fmt.Sprintf("%s → %d", summary, resp.StatusCode)}
}

// fillCredentials replaces every {{agent_context.KEY}} with the value of the
// app whose registered origin the request goes to. The origin is read from
// the URL before filling, so a placeholder can never choose the destination;
// a placeholder for any other origin refuses the whole request.
func fillCredentials(included []appSkill, in httpArgs) (httpArgs, error) {
	fields := []string{in.URL, in.Body}
	for k, v := range in.Headers {
		fields = append(fields, k, v)
	}
	needed := false
	for _, f := range fields {
		needed = needed || placeholder.MatchString(f)
	}
	if !needed {
		return in, nil
	}
	origin, ok := originOf(in.URL)
	if !ok || strings.Contains(origin, "{") || strings.Contains(origin, "%7b") {
		return in, fmt.Errorf("credentials are only sent to an absolute http(s) URL of their app")
	}
	var owners []appSkill
	for _, a := range included {
		for _, o := range a.Origins {
			if o == origin {
				owners = append(owners, a)
			}
		}
	}
	if len(owners) == 0 {
		return in, fmt.Errorf("agent_context credentials are only sent to their own app's origins (app_url, iframe_url, webhook_url) of the apps in this chat; %s is not one of them", origin)
	}
	var missing string
	fill := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			key := placeholder.FindStringSubmatch(m)[1]
			for _, a := range owners {
				if v, ok := a.Context[key]; ok {
					return v
				}
			}
			missing = key
			return m
		})
	}
	out := httpArgs{Method: in.Method, URL: fill(in.URL), Body: fill(in.Body), Headers: map[string]string{}}
	for k, v := range in.Headers {
		out.Headers[fill(k)] = fill(v)
	}
	if missing != "" {
		return in, fmt.Errorf("the app at %s has no agent_context key %q", origin, missing)
	}
	if o, ok := originOf(out.URL); !ok || o != origin {
		return in, fmt.Errorf("a credential may not change where the request goes")
	}
	return out, nil
}
