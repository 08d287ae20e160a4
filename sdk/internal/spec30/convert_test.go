package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The view of the real spec is valid OpenAPI 3.0 with no 3.1 keyword left,
// and keeps every path.
func TestConvert_TheSpecIsValid30(t *testing.T) {
	in, err := os.ReadFile("../../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Convert(in)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the 3.0 view does not validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" || doc.Paths.Len() < 90 {
		t.Fatalf("openapi %s with %d paths", doc.OpenAPI, doc.Paths.Len())
	}
	var tree any
	_ = json.Unmarshal(out, &tree)
	check31(t, "", tree)
}

func check31(t *testing.T, at string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if k == "const" || k == "contentMediaType" || k == "examples" {
				t.Errorf("%s: %s left", at, k)
			}
			if _, list := child.([]any); k == "type" && list {
				t.Errorf("%s: type is a list", at)
			}
			if k == "type" && child == "null" {
				t.Errorf("%s: type null", at)
			}
			check31(t, at+"/"+k, child)
		}
	case []any:
		for _, child := range v {
			check31(t, at+"[]", child)
		}
	}
}

func TestConvert_Rewrites(t *testing.T) {
	const in = `
openapi: 3.1.0
info: {title: t, version: "1", summary: s}
paths: {}
components:
  schemas:
    Credits: {type: number}
    SignedCredits: {type: number}
    CreditsString: {type: string}
    CreditsInput: {type: [number, string]}
    SignedCreditsInput: {type: [number, string]}
    Error: {type: object}
    A:
      type: object
      properties:
        n: {type: [string, 'null'], maxLength: 3}
        r: {oneOf: [{$ref: '#/components/schemas/Error'}, {type: 'null'}], description: d}
        c: {const: ok}
        b: {type: boolean, const: true}
        m: {$ref: '#/components/schemas/CreditsInput'}
        l: {anyOf: [{$ref: '#/components/schemas/CreditsInput'}, {enum: [-1, '-1']}, {type: 'null'}]}
        o: {oneOf: [{type: 'null'}, {type: object, properties: {x: {type: string}}}]}
        e: {allOf: [{$ref: '#/components/schemas/Error'}, {properties: {code: {const: X}}}]}
`
	out, err := Convert([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI    string
		Info       map[string]any
		Components struct {
			Schemas map[string]struct{ Properties map[string]map[string]any }
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Components.Schemas["A"].Properties
	want := map[string]string{
		"n": `{"maxLength":3,"nullable":true,"type":"string"}`,
		"r": `{"$ref":"#/components/schemas/Error"}`,
		"c": `{"enum":["ok"],"type":"string"}`,
		"b": `{"type":"boolean"}`,
		"m": `{"type":"string","x-go-type":"Credits"}`,
		"e": `{"$ref":"#/components/schemas/Error"}`,
		"l": `{"nullable":true,"type":"string","x-go-type":"Credits"}`,
		"o": `{"nullable":true,"properties":{"x":{"type":"string"}},"type":"object"}`,
	}
	for k, w := range want {
		got, _ := json.Marshal(p[k])
		if string(got) != w {
			t.Errorf("%s: %s, want %s", k, got, w)
		}
	}
	if _, ok := doc.Components.Schemas["CreditsInput"]; ok || doc.Info["summary"] != nil || doc.OpenAPI != "3.0.3" {
		t.Errorf("credit schemas, info.summary or version left: %s", out)
	}
	if _, err := Convert([]byte(strings.Replace(in, "    Credits: {type: number}\n", "", 1))); err == nil {
		t.Error("a spec without the Credits schema converted")
	}
}
