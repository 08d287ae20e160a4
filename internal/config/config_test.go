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
		c.TrustedProxyHeader != "" ||
		!strings.Contains(c.DatabaseURL, "/officex") {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoad_NamesEveryBadVariable(t *testing.T) {
	_, err := Load(env(map[string]string{
		"OFFICEX_ENCRYPTION_KEY":       "c2hvcnQ=",
		"OFFICEX_TESTING_MODE":         "yes please",
		"OFFICEX_ALLOW_PRIVATE_URLS":   "maybe",
		"DATABASE_URL":                 "mysql://x",
		"OFFICEX_ADMIN_SECRET":         "short",
		"OFFICEX_HTTP_ADDR":            "8080",
		"SMTP_URL":                     "http://mail",
		"STRIPE_API_BASE":              "not a url",
		"OFFICEX_TRUSTED_PROXY_HEADER": "X Forwarded: For",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"OFFICEX_ENCRYPTION_KEY", "OFFICEX_TESTING_MODE", "OFFICEX_ALLOW_PRIVATE_URLS",
		"DATABASE_URL", "OFFICEX_ADMIN_SECRET", "OFFICEX_HTTP_ADDR", "SMTP_URL", "STRIPE_API_BASE", "OFFICEX_TRUSTED_PROXY_HEADER"} {
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

func TestLoad_KeyringsAndCodecSettings(t *testing.T) {
	other := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	c, err := Load(env(map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true",
		"OFFICEX_ENCRYPTION_KEYS": other + ", " + validKey, "OFFICEX_TEMPORAL_CODEC_KEY": other,
		"OFFICEX_TEMPORAL_CODEC_KEYS": validKey, "OFFICEX_CODEC_CORS_ORIGINS": "http://localhost:8233,https://temporal.example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.EncryptionOldKeys) != 2 || len(c.TemporalCodecKey) != 32 || len(c.TemporalCodecOldKeys) != 1 ||
		len(c.CodecCORSOrigins) != 2 || c.CodecAddr != DefaultCodecAddr {
		t.Fatalf("parsed: %d old keys, codec key %d bytes, %d old codec keys, origins %v, addr %s",
			len(c.EncryptionOldKeys), len(c.TemporalCodecKey), len(c.TemporalCodecOldKeys), c.CodecCORSOrigins, c.CodecAddr)
	}
	c, err = Load(env(map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true"}))
	if err != nil || c.TemporalCodecKey != nil || c.EncryptionOldKeys != nil || len(c.CodecCORSOrigins) != 1 {
		t.Fatalf("defaults: codec key %v, old keys %v, origins %v, err %v", c.TemporalCodecKey, c.EncryptionOldKeys, c.CodecCORSOrigins, err)
	}
	_, err = Load(env(map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true",
		"OFFICEX_ENCRYPTION_KEYS": validKey + ",c2hvcnQ=", "OFFICEX_TEMPORAL_CODEC_KEY": "c2hvcnQ=",
		"OFFICEX_CODEC_CORS_ORIGINS": "http://localhost:8233/path"}))
	for _, name := range []string{"OFFICEX_ENCRYPTION_KEYS", "OFFICEX_TEMPORAL_CODEC_KEY", "OFFICEX_CODEC_CORS_ORIGINS"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	_, err = Load(env(map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true", "OFFICEX_TEMPORAL_CODEC_KEYS": validKey}))
	if err == nil || !strings.Contains(err.Error(), "without OFFICEX_TEMPORAL_CODEC_KEY") {
		t.Fatalf("old codec keys without a current one: %v", err)
	}
}

func TestLoadCodec_NeedsOnlyTheCodecVariables(t *testing.T) {
	c, err := LoadCodec(env(map[string]string{"OFFICEX_TEMPORAL_CODEC_KEY": validKey, "OFFICEX_CODEC_ADDR": "127.0.0.1:9999"}))
	if err != nil || len(c.TemporalCodecKey) != 32 || c.CodecAddr != "127.0.0.1:9999" || len(c.CodecCORSOrigins) != 1 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := LoadCodec(env(map[string]string{"OFFICEX_TEMPORAL_CODEC_KEY": "c2hvcnQ="})); err == nil {
		t.Fatal("a short codec key was accepted")
	}
}

func TestLoad_TemporalTLSFollowsItsSettings(t *testing.T) {
	base := map[string]string{"OFFICEX_ENCRYPTION_KEY": validKey, "OFFICEX_TESTING_MODE": "true"}
	with := func(kv map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}
	c, err := Load(env(base))
	if err != nil || c.TemporalTLS {
		t.Fatalf("no TLS settings: TLS %v, err %v; want plain (the dev server)", c.TemporalTLS, err)
	}
	for _, kv := range []map[string]string{
		{"TEMPORAL_API_KEY": "k"},
		{"TEMPORAL_TLS_CERT": "/c.pem", "TEMPORAL_TLS_KEY": "/k.pem"},
		{"TEMPORAL_TLS": "true"},
	} {
		if c, err := Load(env(with(kv))); err != nil || !c.TemporalTLS {
			t.Errorf("%v: TLS %v, err %v; want TLS on", kv, c.TemporalTLS, err)
		}
	}
	for _, bad := range []struct {
		env   map[string]string
		names []string
	}{
		{map[string]string{"TEMPORAL_TLS_CERT": "/c.pem"}, []string{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY"}},
		{map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_API_KEY": "k"}, []string{"TEMPORAL_TLS=false", "TEMPORAL_API_KEY"}},
		{map[string]string{"TEMPORAL_TLS": "maybe", "TEMPORAL_TLS_CA": "/ca.pem"}, []string{"TEMPORAL_TLS"}},
	} {
		_, err := Load(env(with(bad.env)))
		for _, name := range bad.names {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%v: err %v, want one naming %s", bad.env, err, name)
			}
		}
	}
}
