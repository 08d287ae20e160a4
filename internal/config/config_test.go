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
		c.ChatAddr != ":8081" || c.MetricsAddr != "127.0.0.1:9090" || c.TemporalNamespace != "default" || c.AdminSecret != "" || c.AllowPrivateURLs ||
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

func TestLoad_UploadDefaultsAndValues(t *testing.T) {
	base := map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true"}
	c, err := Load(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "" || c.UploadDir != ".data/uploads" || c.UploadMaxBytes != 26214400 || c.S3Bucket != "" {
		t.Fatalf("upload defaults: %+v", c)
	}
	base["OFFICEX_PUBLIC_URL"] = "https://api.example.com/base/"
	base["OFFICEX_UPLOAD_MAX_BYTES"] = "1"
	base["S3_BUCKET"], base["S3_ENDPOINT"], base["S3_REGION"] = "files", "http://127.0.0.1:9000", "eu-west-1"
	if c, err = Load(env(base)); err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://api.example.com/base" || c.UploadMaxBytes != 1 || c.S3Endpoint != "http://127.0.0.1:9000" || c.S3Region != "eu-west-1" {
		t.Fatalf("upload values: %+v", c)
	}
}

func TestLoad_RefusesBadUploadValues(t *testing.T) {
	for name, bad := range map[string][]string{
		"OFFICEX_PUBLIC_URL":       {"api.example.com", "/v1", "ftp://example.com", "https://", "https://example.com?x=1", "https://u:p@example.com"},
		"OFFICEX_UPLOAD_MAX_BYTES": {"0", "-1", "25MiB", "1.5", "99999999999999999999"},
		"S3_ENDPOINT":              {"minio:9000"},
	} {
		for _, v := range bad {
			_, err := Load(env(map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true", "S3_BUCKET": "b", name: v}))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: err = %v", name, v, err)
			}
		}
	}
	_, err := Load(env(map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true", "S3_ENDPOINT": "http://minio:9000"}))
	if err == nil || !strings.Contains(err.Error(), "S3_BUCKET") {
		t.Fatalf("endpoint without bucket: %v", err)
	}
}

func TestLoad_RefusesTestingModeWithLiveStripeKey(t *testing.T) {
	base := map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true", "STRIPE_SECRET_KEY": "sk_live_51Hx"}
	_, err := Load(env(base))
	if err == nil || !strings.Contains(err.Error(), "OFFICEX_TESTING_MODE") || !strings.Contains(err.Error(), "STRIPE_SECRET_KEY") {
		t.Fatalf("testing mode with a live Stripe key: err = %v", err)
	}
	if strings.Contains(err.Error(), "sk_live_51Hx") {
		t.Fatalf("the error shows the key: %v", err)
	}
	base["STRIPE_SECRET_KEY"] = "sk_test_51Hx"
	if _, err := Load(env(base)); err != nil {
		t.Fatalf("testing mode with a test key: %v", err)
	}
	base["OFFICEX_TESTING_MODE"], base["STRIPE_SECRET_KEY"], base["SMTP_URL"] = "false", "sk_live_51Hx", "smtp://127.0.0.1:2525"
	if _, err := Load(env(base)); err != nil {
		t.Fatalf("a live key outside testing mode: %v", err)
	}
}

func TestLoad_MetricsNeverOnTheAPIPort(t *testing.T) {
	base := map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true"}
	for _, addr := range []string{":8080", "0.0.0.0:8081", "9090"} {
		base["OFFICEX_METRICS_ADDR"] = addr
		if _, err := Load(env(base)); err == nil || !strings.Contains(err.Error(), "OFFICEX_METRICS_ADDR") {
			t.Errorf("OFFICEX_METRICS_ADDR=%s: err = %v", addr, err)
		}
	}
	base["OFFICEX_METRICS_ADDR"] = "0.0.0.0:9100"
	if c, err := Load(env(base)); err != nil || c.MetricsAddr != "0.0.0.0:9100" {
		t.Fatalf("c.MetricsAddr = %q, err = %v", c.MetricsAddr, err)
	}
}
