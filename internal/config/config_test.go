package config

import (
	"encoding/base64"
	"strings"
	"testing"
)

var validKey = base64.StdEncoding.EncodeToString(make([]byte, 32))

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoad_DefaultsOfDesign(t *testing.T) {
	c, err := Load(env(map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAddress != "127.0.0.1:7233" || c.TaskQueue != "officex" || c.HTTPAddr != ":8080" ||
		c.ChatAddr != ":8081" || c.TemporalNamespace != "default" || c.AdminSecret != "" || c.AllowPrivateURLs ||
		!strings.Contains(c.DatabaseURL, "/officex") {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoad_NamesEveryBadVariable(t *testing.T) {
	_, err := Load(env(map[string]string{
		"OFFICEX_ENCRYPTION_KEY":     "c2hvcnQ=",
		"OFFICEX_TESTING_MODE":       "yes please",
		"OFFICEX_ALLOW_PRIVATE_URLS": "maybe",
		"DATABASE_URL":               "mysql://x",
		"OFFICEX_ADMIN_SECRET":       "short",
		"OFFICEX_HTTP_ADDR":          "8080",
		"SMTP_URL":                   "http://mail",
		"STRIPE_API_BASE":            "not a url",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"OFFICEX_ENCRYPTION_KEY", "OFFICEX_TESTING_MODE", "OFFICEX_ALLOW_PRIVATE_URLS",
		"DATABASE_URL", "OFFICEX_ADMIN_SECRET", "OFFICEX_HTTP_ADDR", "SMTP_URL", "STRIPE_API_BASE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestLoad_RequiresKeyAndMailOutsideTestingMode(t *testing.T) {
	_, err := Load(env(nil))
	if err == nil || !strings.Contains(err.Error(), "OFFICEX_ENCRYPTION_KEY is required") || !strings.Contains(err.Error(), "SMTP_URL is required") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Load(env(map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "SMTP_URL": "smtp://127.0.0.1:2525"})); err != nil {
		t.Fatal(err)
	}
}
