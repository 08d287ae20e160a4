package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// creditSchemas are the component schemas of exact decimal amounts: the SDK
// reads and writes them as its Credits type (int64 micro-credits), never as
// float64.
const errorRef = "#/components/schemas/Error"

var creditSchemas = []string{"Credits", "SignedCredits", "CreditsString", "CreditsInput", "SignedCreditsInput"}

// Convert turns an OpenAPI 3.1 document into the 3.0 dialect oapi-codegen
// understands, as indented JSON (map keys sorted, so the output is stable):
//   - type: [T, 'null'] becomes type: T, nullable: true;
//   - oneOf: [X, {type: 'null'}] (either order) becomes X, nullable (a bare $ref stays
//     a $ref: optional fields are pointers anyway);
//   - const: v becomes enum: [v] (dropped on booleans: a lone true is not a type);
//   - error answers that narrow the envelope's codes become the envelope;
//   - 3.1-only keywords (contentMediaType, examples, unevaluatedProperties,
//     propertyNames, info.summary) go;
//   - references to the credit schemas become x-go-type: Credits, and so do
//     anyOf of Credits and a sentinel (-1 for unlimited).
func Convert(in []byte) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(in, &doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	doc["openapi"] = "3.0.3"
	if info, ok := doc["info"].(map[string]any); ok {
		delete(info, "summary")
	}
	schemas, _ := dig(doc, "components", "schemas").(map[string]any)
	for _, name := range creditSchemas {
		if _, ok := schemas[name]; !ok {
			return nil, fmt.Errorf("components.schemas.%s is missing", name)
		}
		delete(schemas, name) // inlined by schema30 where referenced
	}
	// A request body named like a schema would give two Go types one name.
	bodies, _ := dig(doc, "components", "requestBodies").(map[string]any)
	for name, b := range bodies {
		if _, clash := schemas[name]; clash {
			b.(map[string]any)["x-go-name"] = name + "Body"
		}
	}
	out, err := json.MarshalIndent(walk(doc), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// walk rewrites every schema-like map below v.
func walk(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			t[k] = walk(child)
		}
		return schema30(t)
	case []any:
		for i, child := range t {
			t[i] = walk(child)
		}
	}
	return v
}

func schema30(m map[string]any) map[string]any {
	if ref, ok := m["$ref"].(string); ok && slices.Contains(creditSchemas, strings.TrimPrefix(ref, "#/components/schemas/")) {
		// A decimal number or string: the Go type decides, the schema only documents.
		return map[string]any{"type": "string", "x-go-type": "Credits"}
	}
	if types, ok := m["type"].([]any); ok {
		rest := slices.DeleteFunc(slices.Clone(types), func(t any) bool { return t == "null" })
		if len(rest) < len(types) {
			m["nullable"] = true
		}
		if len(rest) == 1 {
			m["type"] = rest[0]
		} else {
			delete(m, "type") // several types: any value
		}
	}
	if alts, ok := m["anyOf"].([]any); ok && slices.ContainsFunc(alts, isCredits) {
		// Credits or a sentinel (-1: unlimited) or null: Credits reads them all.
		out := map[string]any{"type": "string", "x-go-type": "Credits"}
		if slices.ContainsFunc(alts, isNull) {
			out["nullable"] = true
		}
		if d, ok := m["description"]; ok {
			out["description"] = d
		}
		return out
	}
	if all, ok := m["allOf"].([]any); ok && len(all) > 1 && dig(all[0], "$ref") == errorRef {
		// An error answer narrowing the codes a route may send: the SDK
		// reads every error as the one envelope (its *Error).
		return map[string]any{"$ref": errorRef}
	}
	if of, ok := m["oneOf"].([]any); ok && len(of) == 2 && (isNull(of[0]) || isNull(of[1])) {
		other := of[0].(map[string]any)
		if isNull(of[0]) {
			other = of[1].(map[string]any)
		}
		delete(m, "oneOf")
		if ref, ok := other["$ref"]; ok && len(m) <= 1 { // only a description beside it
			return map[string]any{"$ref": ref}
		}
		for k, v := range other {
			m[k] = v
		}
		m["nullable"] = true
	}
	if c, ok := m["const"]; ok {
		delete(m, "const")
		if _, isBool := c.(bool); !isBool {
			m["enum"] = []any{c}
			if _, typed := m["type"]; !typed {
				m["type"] = "string"
			}
		}
	}
	for _, k := range []string{"contentMediaType", "examples", "unevaluatedProperties", "propertyNames"} {
		delete(m, k) // JSON Schema 2020-12 only: checks the server makes, not types
	}
	return m
}

func isCredits(v any) bool { return dig(v, "x-go-type") == "Credits" }

func isNull(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["type"] == "null"
}
