package uploads

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func size(n int64) *int64 { return &n }

func TestNewObject_FilenameLimitAndSanitizing(t *testing.T) {
	user := uuid.New()
	for in, want := range map[string]string{
		strings.Repeat("a", MaxFilenameBytes): strings.Repeat("a", MaxFilenameBytes),
		"../../etc/passwd":                    "passwd",
		`C:\fakepath\photo.png`:               "photo.png",
		"  tab\there\x00.txt  ":               "tabhere.txt",
		"invoice\u202Efdp.exe":                "invoicefdp.exe",
		"résumé 2024 (final).pdf":             "résumé 2024 (final).pdf",
	} {
		obj, err := NewObject(user, in, "application/pdf", nil, DefaultMaxBytes)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !strings.HasSuffix(obj.Key, "/"+want) {
			t.Errorf("%q: key %q, want filename %q", in, obj.Key, want)
		}
		if _, _, err := ParseKey(obj.Key); err != nil {
			t.Errorf("%q: key %q does not parse: %v", in, obj.Key, err)
		}
	}
	for _, bad := range []string{strings.Repeat("a", MaxFilenameBytes+1), "", "   ", "/", "dir/", "..", "a/.", "\x01\x02", "\xff.png"} {
		if _, err := NewObject(user, bad, "application/pdf", nil, DefaultMaxBytes); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

func TestNewObject_ContentTypeAndSize(t *testing.T) {
	user := uuid.New()
	for _, ct := range AllowedContentTypes {
		if _, err := NewObject(user, "f", strings.ToUpper(ct), nil, 10); err != nil {
			t.Errorf("%s: %v", ct, err)
		}
	}
	for _, ct := range []string{"text/html", "image/svg+xml", "application/javascript", "text/plain; charset=utf-8", "", "image/*"} {
		if _, err := NewObject(user, "f", ct, nil, 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("content type %q accepted: %v", ct, err)
		}
	}
	if obj, err := NewObject(user, "f", "text/plain", size(10), 10); err != nil || obj.Size != 10 {
		t.Fatalf("size at the cap: %+v %v", obj, err)
	}
	for _, n := range []int64{11, 0, -1} {
		if _, err := NewObject(user, "f", "text/plain", size(n), 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("size %d accepted: %v", n, err)
		}
	}
}

func TestParseKey_RefusesEverythingNewObjectDoesNotMake(t *testing.T) {
	id := uuid.NewString()
	hex := strings.Repeat("ab", keyRandomBytes)
	if _, _, err := ParseKey("users/" + id + "/" + hex + "/a.png"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"users/" + id + "/" + hex + "/..", "users/" + id + "/" + hex + "/a/b", "users/" + id + "/../a.png",
		"users/" + strings.ToUpper(id) + "/" + hex + "/a.png", "users/" + id + "/" + strings.ToUpper(hex) + "/a.png",
		"files/" + id + "/" + hex + "/a.png", "users/" + id + "/" + hex[2:] + "/a.png", "users/" + id + "/" + hex + "/",
		"users/" + id + "/" + hex + "/a\n.png", "/users/" + id + "/" + hex + "/a.png",
	} {
		if _, _, err := ParseKey(bad); !errors.Is(err, ErrForbidden) {
			t.Errorf("%q parsed: %v", bad, err)
		}
	}
}

// clock is a settable time source.
type clock struct{ at time.Time }

func (c *clock) now() time.Time { return c.at }

func TestLocal_ExpiryAtAndOverAndTamperedFields(t *testing.T) {
	clk := &clock{at: time.Now()}
	l, err := NewLocal(LocalOptions{Dir: t.TempDir(), MaxBytes: 100, EncryptionKey: make([]byte, 32), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := NewObject(uuid.New(), "a.txt", "text/plain", size(5), 100)
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Presign(context.Background(), obj, "http://h")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p.URL)
	q := u.Query()
	clk.at = p.ExpiresAt
	g, err := l.Verify("PUT", obj.Key, "text/plain", q)
	if err != nil || g.Size != 5 || g.Limit != 5 {
		t.Fatalf("at expiry: %+v %v", g, err)
	}
	clk.at = p.ExpiresAt.Add(time.Second)
	if _, err := l.Verify("PUT", obj.Key, "text/plain", q); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after expiry: %v", err)
	}
	clk.at = p.ExpiresAt.Add(-time.Minute)
	for name, edit := range map[string]func(url.Values){
		"sig":     func(v url.Values) { v.Set("sig", strings.Repeat("0", 64)) },
		"expires": func(v url.Values) { v.Set("expires", "99999999999") },
		"size":    func(v url.Values) { v.Set("size", "6") },
		"no size": func(v url.Values) { v.Del("size") },
	} {
		v := url.Values{}
		for k, vs := range q {
			v[k] = append([]string(nil), vs...)
		}
		edit(v)
		if _, err := l.Verify("PUT", obj.Key, "text/plain", v); !errors.Is(err, ErrForbidden) {
			t.Errorf("tampered %s accepted: %v", name, err)
		}
	}
	if _, err := l.Verify("GET", obj.Key, "text/plain", q); !errors.Is(err, ErrForbidden) {
		t.Errorf("PUT URL used for GET: %v", err)
	}
	if _, err := l.Verify("PUT", obj.Key, "text/csv", q); !errors.Is(err, ErrForbidden) {
		t.Errorf("other content type: %v", err)
	}
}

func TestLocal_WriteLeavesNothingUnlessComplete(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(LocalOptions{Dir: dir, MaxBytes: 4, EncryptionKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	key := "users/" + uuid.NewString() + "/" + strings.Repeat("0f", keyRandomBytes) + "/a.txt"
	if _, err := l.Write(key, strings.NewReader("12345"), Grant{Limit: 4}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := l.Write(key, strings.NewReader("123"), Grant{Size: 4, Limit: 4}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short of the signed size: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, key)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refused upload left a file: %v", err)
	}
	if n, err := l.Write(key, strings.NewReader("1234"), Grant{Limit: 4}); err != nil || n != 4 {
		t.Fatalf("at the limit: %d %v", n, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, key)); err != nil || !bytes.Equal(got, []byte("1234")) {
		t.Fatalf("stored %q %v", got, err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, tempDirName)); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}
