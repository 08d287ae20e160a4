package chat

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestMaskedStream_CatchesAValueSplitAcrossEveryBoundary(t *testing.T) {
	secret := "sk-live-0123456789"
	s := newSecrets([]appSkill{{Context: map[string]string{"api_key": secret, "region": "eu"}}})
	text := "before " + secret + " middle " + secret + " and é after"
	for cut := 1; cut < len(text); cut++ {
		var out strings.Builder
		m := s.stream(func(p string) { out.WriteString(p) })
		m.write(text[:cut])
		m.write(text[cut:])
		m.flush()
		want := "before " + Masked + " middle " + Masked + " and é after"
		if out.String() != want {
			t.Fatalf("split at %d: %q", cut, out.String())
		}
	}
	if s.mask("region eu") != "region eu" {
		t.Fatal("a value shorter than MinMaskedLen was masked")
	}
}

func TestFillCredentials_OnlyForTheOwnOrigin(t *testing.T) {
	app := appSkill{Origins: []string{"https://api.leads.example:443"}, Context: map[string]string{"api_key": "secret-value-1"}}
	ok := httpArgs{Method: "GET", URL: "https://api.leads.example/v1?k={{agent_context.api_key}}",
		Headers: map[string]string{"Authorization": "Bearer {{ agent_context.api_key }}"}}
	got, err := fillCredentials([]appSkill{app}, ok)
	if err != nil || got.URL != "https://api.leads.example/v1?k=secret-value-1" || got.Headers["Authorization"] != "Bearer secret-value-1" {
		t.Fatalf("filled %+v, %v", got, err)
	}
	for _, bad := range []string{
		"https://evil.example/?k={{agent_context.api_key}}",
		"http://api.leads.example/?k={{agent_context.api_key}}",       // another scheme
		"https://api.leads.example:8443/?k={{agent_context.api_key}}", // another port
		"https://api.leads.example@evil.example/{{agent_context.api_key}}",
		"https://{{agent_context.api_key}}.evil.example/",
		"//api.leads.example/{{agent_context.api_key}}",
		"https://api.leads.example/{{agent_context.missing}}",
	} {
		if _, err := fillCredentials([]appSkill{app}, httpArgs{Method: "GET", URL: bad}); err == nil {
			t.Errorf("%s: filled", bad)
		}
	}
	if got, err := fillCredentials([]appSkill{app}, httpArgs{Method: "GET", URL: "https://evil.example/"}); err != nil || got.URL != "https://evil.example/" {
		t.Fatalf("a request without placeholders: %v", err)
	}
}

func TestTracerIDs(t *testing.T) {
	id := NewTracerID(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	if err := ValidTracerID(id); err != nil || !strings.HasPrefix(id, "trc_") || len(id) > MaxTracerIDLen {
		t.Fatalf("%q: %v", id, err)
	}
	for _, bad := range []string{"", "trc_a b", "trc_ä", strings.Repeat("a", MaxTracerIDLen+1)} {
		if ValidTracerID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSystemPrompt_AppsBeyondTheBudgetAreListedByName(t *testing.T) {
	big := strings.Repeat("d", SystemPromptBudget/2)
	var apps []appSkill
	for i := 0; i < 3; i++ {
		apps = append(apps, appSkill{AppID: uuid.New(), Name: "App" + string(rune('A'+i)), Documentation: big,
			Context: map[string]string{"api_key": "value-never-shown"}})
	}
	p := systemPrompt("custom", apps)
	if len(p) > SystemPromptBudget || strings.Contains(p, "value-never-shown") {
		t.Fatalf("prompt of %d characters, or it holds a credential value", len(p))
	}
	if !strings.Contains(p, "{{agent_context.api_key}}") || !strings.Contains(p, "- AppB (app_id") || !strings.Contains(p, "- AppC (app_id") {
		t.Fatalf("prompt tail: %s", p[len(p)-300:])
	}
}
