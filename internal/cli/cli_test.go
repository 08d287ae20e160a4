package cli

import (
	"bytes"
	"encoding/json"
	"errors"
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
