package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentials_SavedWithMode0600AndRefusedWhenOthersCanRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "officex", "credentials")
	want := Credentials{APIURL: "http://127.0.0.1:8080", UserID: "u1", APIKey: "ofx_mk_secret", WalletID: "w1", Email: "ada@example.com"}
	if err := SaveCredentials(path, want); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != CredentialsFileMode {
		t.Fatalf("mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	if dir, _ := os.Stat(filepath.Dir(path)); dir.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode %v, want 0700", dir.Mode().Perm())
	}
	got, found, err := LoadCredentials(path)
	if err != nil || !found || got != want {
		t.Fatalf("loaded %+v %v %v", got, found, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCredentials(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable file was read: %v", err)
	}
	if _, found, err := LoadCredentials(filepath.Join(t.TempDir(), "none")); found || err != nil {
		t.Fatalf("missing file: %v %v", found, err)
	}
}

func TestResolve_FlagsOverEnvironmentOverFile(t *testing.T) {
	file := Credentials{APIURL: "http://file", UserID: "file-user", APIKey: "file-key", WalletID: "file-wallet"}
	env := map[string]string{EnvAPIURL: "http://env", EnvAdminSecret: "env-admin"}
	s := Resolve(Settings{UserID: "flag-user"}, func(k string) string { return env[k] }, file, "/x")
	if s.APIURL != "http://env" || s.UserID != "flag-user" || s.APIKey != "file-key" || s.AdminSecret != "env-admin" {
		t.Fatalf("resolved %+v", s)
	}
	if s.WalletID != "" {
		t.Fatal("the saved wallet was kept for another user")
	}
	var missing *MissingError
	err := Resolve(Settings{}, func(string) string { return "" }, Credentials{}, "/x").NeedUser("officex me")
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "OFFICEX_API_URL, OFFICEX_USER_ID and OFFICEX_API_KEY, which are not set") {
		t.Fatalf("missing: %v", err)
	}
	if err := s.NeedAdmin("officex treasury"); err != nil {
		t.Fatalf("admin settings complete: %v", err)
	}
}

func TestText_AmountsAreTheAPIsOwnDigits(t *testing.T) {
	obj, err := decodeObject([]byte(`{"a":1234567.000001,"b":0.000001,"c":10,"n":null,"d":{"type":"stripe"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"a": "1234567.000001", "b": "0.000001", "c": "10", "n": "-", "d.type": "stripe", "missing": "-"} {
		if got := obj.Text(path); got != want {
			t.Fatalf("%s: %q, want %q", path, got, want)
		}
	}
	var out bytes.Buffer
	if err := JSON(&out, []byte(`{"a":1234567.000001}`)); err != nil || !strings.Contains(out.String(), "1234567.000001") {
		t.Fatalf("JSON %q %v", out.String(), err)
	}
	if _, ok := obj["a"].(json.Number); !ok {
		t.Fatal("numbers are not decoded as json.Number")
	}
}

func TestClient_AnswersAreReadUpToMaxAnswerBytes(t *testing.T) {
	// A JSON object of exactly n bytes: {"pad":"xxx..."}.
	answer := func(n int) []byte { return []byte(`{"pad":"` + strings.Repeat("x", n-10) + `"}`) }
	var size int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(answer(size))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	size = MaxAnswerBytes
	if a, err := c.Get(context.Background(), "/x"); err != nil || len(a.Raw) != MaxAnswerBytes {
		t.Fatalf("an answer of exactly the limit: %v", err)
	}
	size = MaxAnswerBytes + 1
	if _, err := c.Get(context.Background(), "/x"); err == nil || !strings.Contains(err.Error(), "over") {
		t.Fatalf("an answer over the limit: %v", err)
	}
}

func TestCredentials_FileOverTheLimitIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	body := `{"api_url":"http://x","pad":"` // unknown fields are ignored: pad to the size wanted
	write := func(n int) {
		if err := os.WriteFile(path, []byte(body+strings.Repeat("x", n-len(body)-2)+`"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(MaxCredentialsFileBytes)
	if c, found, err := LoadCredentials(path); err != nil || !found || c.APIURL != "http://x" {
		t.Fatalf("a file of exactly the limit: %v", err)
	}
	write(MaxCredentialsFileBytes + 1)
	if _, _, err := LoadCredentials(path); err == nil || !strings.Contains(err.Error(), "over") {
		t.Fatalf("a file over the limit: %v", err)
	}
}
