package api

import (
	"bytes"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The reference page at GET /docs: rendered once from the OpenAPI document
// with html/template, no script and nothing fetched from elsewhere.

type docsPage struct {
	Title, Version string
	Description    string
	Tags           []docsTag
	Schemas        []docsSchema
}

type docsTag struct {
	Name, Description string
	Ops               []docsOp
}

type docsOp struct {
	Anchor, Method, Path, Summary, Auth string
	Params                              []docsField
	Body                                *docsSchema
	BodyRequired                        bool
	Responses                           []docsResponse
}

type docsField struct {
	Name, In, Type, Notes string
	Required              bool
}

type docsSchema struct {
	Name, Type, Description string
	Fields                  []docsField
}

type docsResponse struct {
	Status, Description, Type string
}

// securityText says which headers an operation needs.
func securityText(doc *openapi3.T, op *openapi3.Operation) string {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	if len(reqs) == 0 {
		return "none"
	}
	alts := make([]string, 0, len(reqs))
	for _, req := range reqs {
		if len(req) == 0 {
			alts = append(alts, "none")
			continue
		}
		var headers []string
		for name := range req {
			if s := doc.Components.SecuritySchemes[name]; s != nil && s.Value != nil {
				headers = append(headers, s.Value.Name)
			}
		}
		sort.Strings(headers)
		alts = append(alts, strings.Join(headers, " + "))
	}
	return strings.Join(alts, "  or  ")
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

// schemaType is a short description of a schema's type: a component's name,
// a type list, "array of ...", or the alternatives of a oneOf/anyOf.
func schemaType(s *openapi3.SchemaRef) string {
	if s == nil {
		return "any"
	}
	if s.Ref != "" {
		return refName(s.Ref)
	}
	v := s.Value
	if v == nil {
		return "any"
	}
	if alts := append(append(openapi3.SchemaRefs{}, v.OneOf...), v.AnyOf...); len(alts) > 0 {
		parts := make([]string, len(alts))
		for i, a := range alts {
			parts[i] = schemaType(a)
		}
		return strings.Join(parts, " | ")
	}
	if len(v.AllOf) == 1 {
		return schemaType(v.AllOf[0])
	}
	if v.Const != nil {
		return fmt.Sprintf("%v", v.Const)
	}
	types := []string{}
	if v.Type != nil {
		types = v.Type.Slice()
	}
	for i, t := range types {
		if t == "array" && v.Items != nil {
			types[i] = "array of " + schemaType(v.Items)
		}
	}
	if len(types) == 0 {
		return "any"
	}
	return strings.Join(types, " | ")
}

// schemaNotes lists a schema's limits.
func schemaNotes(s *openapi3.SchemaRef) string {
	if s == nil || s.Value == nil {
		return ""
	}
	v := s.Value
	var notes []string
	if v.Format != "" {
		notes = append(notes, "format "+v.Format)
	}
	if v.MinLength > 0 {
		notes = append(notes, "min length "+strconv.FormatUint(v.MinLength, 10))
	}
	if v.MaxLength != nil {
		notes = append(notes, "max length "+strconv.FormatUint(*v.MaxLength, 10))
	}
	if v.Min != nil {
		notes = append(notes, "min "+strconv.FormatFloat(*v.Min, 'f', -1, 64))
	}
	if v.Max != nil {
		notes = append(notes, "max "+strconv.FormatFloat(*v.Max, 'f', -1, 64))
	}
	if v.MaxItems != nil {
		notes = append(notes, "max items "+strconv.FormatUint(*v.MaxItems, 10))
	}
	if v.Pattern != "" {
		notes = append(notes, "pattern "+v.Pattern)
	}
	if len(v.Enum) > 0 {
		vals := make([]string, len(v.Enum))
		for i, e := range v.Enum {
			vals[i] = fmt.Sprintf("%v", e)
		}
		notes = append(notes, "one of "+strings.Join(vals, ", "))
	}
	if v.Description != "" {
		notes = append(notes, strings.TrimSpace(v.Description))
	}
	return strings.Join(notes, "; ")
}

// objectFields lists an object schema's properties (those of its allOf too).
func objectFields(v *openapi3.Schema) []docsField {
	if v == nil {
		return nil
	}
	required := map[string]bool{}
	var fields []docsField
	var walk func(v *openapi3.Schema)
	seen := map[string]bool{}
	walk = func(v *openapi3.Schema) {
		for _, r := range v.Required {
			required[r] = true
		}
		for _, a := range v.AllOf {
			if a.Value != nil {
				walk(a.Value)
			}
		}
		names := make([]string, 0, len(v.Properties))
		for name := range v.Properties {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			p := v.Properties[name]
			fields = append(fields, docsField{Name: name, Type: schemaType(p), Notes: schemaNotes(p)})
		}
	}
	walk(v)
	for i := range fields {
		fields[i].Required = required[fields[i].Name]
	}
	return fields
}

func schemaView(name string, s *openapi3.SchemaRef) *docsSchema {
	if s == nil {
		return nil
	}
	view := &docsSchema{Name: name, Type: schemaType(s)}
	if s.Value != nil {
		view.Description = strings.TrimSpace(s.Value.Description)
		view.Fields = objectFields(s.Value)
	}
	return view
}

func jsonSchemaOf(content openapi3.Content) *openapi3.SchemaRef {
	for _, mt := range []string{"application/json", "application/yaml", "text/html", "text/event-stream", "*/*"} {
		if m := content.Get(mt); m != nil {
			return m.Schema
		}
	}
	return nil
}

func renderDocs(doc *openapi3.T) ([]byte, error) {
	page := docsPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	byTag := map[string]int{}
	for i, t := range doc.Tags {
		page.Tags = append(page.Tags, docsTag{Name: t.Name, Description: t.Description})
		byTag[t.Name] = i
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		params := item.Parameters
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			v := docsOp{Anchor: strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(path),
				Method: method, Path: path, Summary: op.Summary, Auth: securityText(doc, op)}
			for _, p := range append(append(openapi3.Parameters{}, params...), op.Parameters...) {
				if p.Value == nil {
					continue
				}
				v.Params = append(v.Params, docsField{Name: p.Value.Name, In: p.Value.In, Required: p.Value.Required,
					Type: schemaType(p.Value.Schema), Notes: strings.TrimSpace(p.Value.Description + " " + schemaNotes(p.Value.Schema))})
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				v.Body = schemaView("", jsonSchemaOf(rb.Value.Content))
				v.BodyRequired = rb.Value.Required
			}
			if op.Responses != nil {
				codes := make([]string, 0, op.Responses.Len())
				for code := range op.Responses.Map() {
					codes = append(codes, code)
				}
				sort.Strings(codes)
				for _, code := range codes {
					r := op.Responses.Value(code)
					if r == nil || r.Value == nil {
						continue
					}
					desc := ""
					if r.Value.Description != nil {
						desc = *r.Value.Description
					}
					typ := schemaType(jsonSchemaOf(r.Value.Content))
					if r.Ref != "" {
						typ = refName(r.Ref)
					}
					v.Responses = append(v.Responses, docsResponse{Status: code, Description: desc, Type: typ})
				}
			}
			tag := "Operations"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			i, ok := byTag[tag]
			if !ok {
				i = len(page.Tags)
				byTag[tag] = i
				page.Tags = append(page.Tags, docsTag{Name: tag})
			}
			page.Tags[i].Ops = append(page.Tags[i].Ops, v)
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := doc.Components.Schemas[name]
		view := schemaView(name, &openapi3.SchemaRef{Value: s.Value})
		view.Type = schemaType(&openapi3.SchemaRef{Value: s.Value})
		if n := schemaNotes(&openapi3.SchemaRef{Value: s.Value}); n != "" && len(view.Fields) == 0 {
			view.Description = n
		}
		page.Schemas = append(page.Schemas, *view)
	}
	var buf bytes.Buffer
	if err := docsTemplate.Execute(&buf, page); err != nil {
		return nil, fmt.Errorf("render /docs: %w", err)
	}
	return buf.Bytes(), nil
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2230;background:#fafbfc}
nav{position:fixed;top:0;bottom:0;left:0;width:250px;overflow:auto;padding:16px;background:#f0f2f5;border-right:1px solid #dde}
nav a{display:block;color:#334;text-decoration:none;font-size:13px}nav h3{margin:14px 0 4px;font-size:13px;text-transform:uppercase;color:#667}
main{margin-left:283px;padding:24px 32px;max-width:1000px}
section.op{border:1px solid #dde;border-radius:6px;background:#fff;margin:14px 0;padding:12px 16px}
.m{display:inline-block;min-width:58px;font:bold 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;text-align:center}
.GET{background:#2f7d32}.POST{background:#1565c0}.PATCH{background:#8e6d00}.PUT{background:#6a1b9a}.DELETE{background:#c62828}
code,.p{font-family:ui-monospace,monospace;font-size:13px}table{border-collapse:collapse;width:100%;margin:6px 0}
td,th{border-top:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top;font-size:13px}th{color:#667;font-weight:600}
.auth{color:#555;font-size:13px}.req{color:#c62828}pre{white-space:pre-wrap;background:#f4f5f7;padding:10px;border-radius:4px}
</style></head><body>
<nav><strong>{{.Title}} v{{.Version}}</strong><a href="/v1/openapi.yaml">openapi.yaml</a><a href="/v1/openapi.json">openapi.json</a>
{{range .Tags}}{{if .Ops}}<h3>{{.Name}}</h3>{{range .Ops}}<a href="#{{.Anchor}}"><span class="p">{{.Method}}</span> {{.Path}}</a>{{end}}{{end}}{{end}}
<h3>Schemas</h3>{{range .Schemas}}<a href="#schema-{{.Name}}">{{.Name}}</a>{{end}}</nav>
<main><h1>{{.Title}}</h1><pre>{{.Description}}</pre>
{{range .Tags}}{{if .Ops}}<h2>{{.Name}}</h2><p>{{.Description}}</p>
{{range $op := .Ops}}<section class="op" id="{{.Anchor}}"><span class="m {{.Method}}">{{.Method}}</span> <span class="p">{{.Path}}</span>
<p>{{.Summary}}</p><p class="auth">Auth: <code>{{.Auth}}</code></p>
{{if .Params}}<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Notes</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} <span class="req">*</span>{{end}}</td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Notes}}</td></tr>{{end}}</table>{{end}}
{{with .Body}}<p><strong>Body</strong>{{if $op.BodyRequired}} (required){{end}} <code>{{.Type}}</code></p>{{if .Fields}}<table><tr><th>Field</th><th>Type</th><th>Notes</th></tr>
{{range .Fields}}<tr><td><code>{{.Name}}</code>{{if .Required}} <span class="req">*</span>{{end}}</td><td>{{.Type}}</td><td>{{.Notes}}</td></tr>{{end}}</table>{{end}}{{end}}
<table><tr><th>Status</th><th>Answer</th><th>Description</th></tr>{{range .Responses}}<tr><td>{{.Status}}</td><td><code>{{.Type}}</code></td><td>{{.Description}}</td></tr>{{end}}</table>
</section>{{end}}{{end}}{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<section class="op" id="schema-{{.Name}}"><strong>{{.Name}}</strong> <code>{{.Type}}</code><p>{{.Description}}</p>
{{if .Fields}}<table><tr><th>Field</th><th>Type</th><th>Notes</th></tr>{{range .Fields}}<tr><td><code>{{.Name}}</code>{{if .Required}} <span class="req">*</span>{{end}}</td><td>{{.Type}}</td><td>{{.Notes}}</td></tr>{{end}}</table>{{end}}
</section>{{end}}
</main></body></html>
`))
