package api_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/internal/uploads"
)

// presigned is a decoded presign answer.
type presigned struct {
	URL, Key, DownloadURL, Method string
	Headers                       map[string]any
	ExpiresAt                     time.Time
}

func presign(t *testing.T, c *testenv.Client, u testenv.User, body map[string]any) presigned {
	t.Helper()
	r := c.Post("/uploads/presign", body, u.Headers()).Expect(t, http.StatusOK, "")
	at, err := time.Parse(time.RFC3339, r.String("expires_at"))
	if err != nil {
		t.Fatalf("expires_at: %s", r.Raw)
	}
	h, _ := r.Body["headers"].(map[string]any)
	return presigned{URL: r.String("presigned_url"), Key: r.String("key"), DownloadURL: r.String("download_url"),
		Method: r.String("method"), Headers: h, ExpiresAt: at}
}

// send makes a raw request (uploads are not JSON) and returns the answer.
func send(t *testing.T, method, rawURL string, body io.Reader, contentType string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// expectRefused checks the reference's error envelope of a raw answer.
func expectRefused(t *testing.T, resp *http.Response, raw []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || !bytes.Contains(raw, []byte(`"success":false`)) || !bytes.Contains(raw, []byte(`"code":"`+code+`"`)) {
		t.Fatalf("status %d %s, want %d %s", resp.StatusCode, raw, status, code)
	}
}

// noFile fails when the local store holds anything at key or in its temp folder.
func noFile(t *testing.T, store *uploads.Local, key string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(store.Dir(), filepath.FromSlash(key))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file exists at %s: %v", key, err)
	}
	if left, _ := os.ReadDir(filepath.Join(store.Dir(), ".tmp")); len(left) != 0 {
		t.Fatalf("temp files left behind: %v", left)
	}
}

// testClock is a settable clock for a store whose URLs a test expires.
type testClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *testClock) Now() time.Time   { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *testClock) Set(at time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.at = at }

// localStore is a local store of its own for one test.
func localStore(t *testing.T, o uploads.LocalOptions) *uploads.Local {
	t.Helper()
	o.Dir, o.EncryptionKey = t.TempDir(), env.Config.EncryptionKey
	if o.MaxBytes == 0 {
		o.MaxBytes = env.Config.UploadMaxBytes
	}
	s, err := uploads.NewLocal(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUploads_PresignPutThenGetReturnsTheBytes(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	p := presign(t, c, u, map[string]any{"filename": "Q3 report (final).pdf", "content_type": "application/pdf"})
	if p.Method != http.MethodPut || p.Headers["Content-Type"] != "application/pdf" ||
		!strings.HasPrefix(p.URL, env.Server.URL+"/v1/uploads/files/users/"+u.ID+"/") || !strings.HasSuffix(p.Key, "/Q3 report (final).pdf") {
		t.Fatalf("presign answer %+v", p)
	}
	if d := time.Until(p.ExpiresAt); d <= uploads.PresignLifetime-time.Minute || d > uploads.PresignLifetime {
		t.Fatalf("expires_at %s is not %s away", p.ExpiresAt, uploads.PresignLifetime)
	}
	// Bigger than the JSON body limit: the upload route has the store's cap.
	data := bytes.Repeat([]byte("%PDF-1.7 officex "), 2*api.MaxBodyBytes/16)
	resp, raw := send(t, http.MethodPut, p.URL, bytes.NewReader(data), "application/pdf")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte(`"success":true`)) {
		t.Fatalf("PUT: %d %s", resp.StatusCode, raw)
	}
	resp, got := send(t, http.MethodGet, p.DownloadURL, nil, "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET: %d, %d bytes back of %d", resp.StatusCode, len(got), len(data))
	}
	if resp.Header.Get("Content-Type") != "application/pdf" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("GET headers %v", resp.Header)
	}
	if onDisk, err := os.ReadFile(filepath.Join(env.Uploads.Dir(), filepath.FromSlash(p.Key))); err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("file on disk: %v", err)
	}
}

func TestUploads_GetOfNothingUploadedIs404(t *testing.T) {
	c := env.Client(t)
	p := presign(t, c, c.NewUser(), map[string]any{"filename": "never.txt", "content_type": "text/plain"})
	resp, raw := send(t, http.MethodGet, p.DownloadURL, nil, "")
	expectRefused(t, resp, raw, http.StatusNotFound, "NOT_FOUND")
}

func TestUploads_PutWithoutTheSignedContentTypeIsForbidden(t *testing.T) {
	c := env.Client(t)
	p := presign(t, c, c.NewUser(), map[string]any{"filename": "a.png", "content_type": "image/png"})
	for _, ct := range []string{"text/plain", "image/png; charset=utf-8", "IMAGE/PNG", ""} {
		resp, raw := send(t, http.MethodPut, p.URL, strings.NewReader("png"), ct)
		expectRefused(t, resp, raw, http.StatusForbidden, "FORBIDDEN")
	}
	noFile(t, env.Uploads, p.Key)
}

func TestUploads_URLValidUntilExpiryRefusedAfter(t *testing.T) {
	clock := &testClock{at: time.Now()}
	store := localStore(t, uploads.LocalOptions{Now: clock.Now})
	c := env.ClientFor(t, newServer(t, func(d *api.Deps) { d.Uploads = store }))
	u := c.NewUser()
	first := presign(t, c, u, map[string]any{"filename": "at.txt", "content_type": "text/plain"})
	late := presign(t, c, u, map[string]any{"filename": "over.txt", "content_type": "text/plain"})

	clock.Set(first.ExpiresAt)
	if resp, raw := send(t, http.MethodPut, first.URL, strings.NewReader("in time"), "text/plain"); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT at the expiry: %d %s", resp.StatusCode, raw)
	}
	if resp, _ := send(t, http.MethodGet, first.DownloadURL, nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET at the expiry: %d", resp.StatusCode)
	}
	clock.Set(late.ExpiresAt.Add(time.Second))
	resp, raw := send(t, http.MethodPut, late.URL, strings.NewReader("too late"), "text/plain")
	expectRefused(t, resp, raw, http.StatusForbidden, "FORBIDDEN")
	noFile(t, store, late.Key)
	resp, raw = send(t, http.MethodGet, first.DownloadURL, nil, "")
	expectRefused(t, resp, raw, http.StatusForbidden, "FORBIDDEN")
}

func TestUploads_TamperedURLsAreForbidden(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	p := presign(t, c, u, map[string]any{"filename": "secret.csv", "content_type": "text/csv", "size": 9})
	other := presign(t, c, c.NewUser(), map[string]any{"filename": "secret.csv", "content_type": "text/csv", "size": 9})
	if resp, raw := send(t, http.MethodPut, other.URL, strings.NewReader("a,b\n1,2\n\n"), "text/csv"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the other user's upload: %d %s", resp.StatusCode, raw)
	}
	edit := func(raw string, f func(*url.URL, url.Values)) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		f(u, q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	otherKeyPath := "/v1/uploads/files/" + other.Key
	for name, tampered := range map[string]struct{ method, url, ct string }{
		"signature":          {http.MethodPut, edit(p.URL, func(_ *url.URL, q url.Values) { q.Set("sig", strings.Repeat("0", 64)) }), "text/csv"},
		"no signature":       {http.MethodPut, edit(p.URL, func(_ *url.URL, q url.Values) { q.Del("sig") }), "text/csv"},
		"expiry pushed out":  {http.MethodPut, edit(p.URL, func(_ *url.URL, q url.Values) { q.Set("expires", "4102444800") }), "text/csv"},
		"size dropped":       {http.MethodPut, edit(p.URL, func(_ *url.URL, q url.Values) { q.Del("size") }), "text/csv"},
		"key of another":     {http.MethodPut, edit(p.URL, func(u *url.URL, _ url.Values) { u.Path = otherKeyPath }), "text/csv"},
		"PUT URL used a GET": {http.MethodGet, edit(p.URL, func(_ *url.URL, q url.Values) { q.Set("content_type", "text/csv") }), ""},
		"GET URL used a PUT": {http.MethodPut, p.DownloadURL, "text/csv"},
		"GET of another key": {http.MethodGet, edit(p.DownloadURL, func(u *url.URL, _ url.Values) { u.Path = otherKeyPath }), ""},
		"GET as other type":  {http.MethodGet, edit(p.DownloadURL, func(_ *url.URL, q url.Values) { q.Set("content_type", "text/plain") }), ""},
		"key not ours":       {http.MethodPut, edit(p.URL, func(u *url.URL, _ url.Values) { u.Path = "/v1/uploads/files/etc/passwd" }), "text/csv"},
	} {
		var body io.Reader
		if tampered.method == http.MethodPut {
			body = strings.NewReader("x,y\n3,4\n\n")
		}
		resp, raw := send(t, tampered.method, tampered.url, body, tampered.ct)
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(raw, []byte(`"code":"FORBIDDEN"`)) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, raw)
		}
	}
	noFile(t, env.Uploads, p.Key)
	if _, got := send(t, http.MethodGet, other.DownloadURL, nil, ""); string(got) != "a,b\n1,2\n\n" {
		t.Fatalf("the other user's file changed: %q", got)
	}
}

// hiddenLength makes the client send a body chunked, without Content-Length,
// so the server finds out the size only by reading.
type hiddenLength struct{ io.Reader }

func TestUploads_OverTheCapIs413AndLeavesNoFile(t *testing.T) {
	const capBytes = 1024
	store := localStore(t, uploads.LocalOptions{MaxBytes: capBytes})
	c := env.ClientFor(t, newServer(t, func(d *api.Deps) { d.Uploads = store }))
	u := c.NewUser()
	up := func(body map[string]any) presigned { return presign(t, c, u, body) }
	at := up(map[string]any{"filename": "at.bin.txt", "content_type": "text/plain"})
	if resp, raw := send(t, http.MethodPut, at.URL, bytes.NewReader(make([]byte, capBytes)), "text/plain"); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT at the cap: %d %s", resp.StatusCode, raw)
	}
	over := up(map[string]any{"filename": "over.txt", "content_type": "text/plain"})
	resp, raw := send(t, http.MethodPut, over.URL, bytes.NewReader(make([]byte, capBytes+1)), "text/plain")
	expectRefused(t, resp, raw, http.StatusRequestEntityTooLarge, "INVALID_REQUEST")
	noFile(t, store, over.Key)
	resp, raw = send(t, http.MethodPut, over.URL, hiddenLength{bytes.NewReader(make([]byte, 4*capBytes))}, "text/plain")
	expectRefused(t, resp, raw, http.StatusRequestEntityTooLarge, "INVALID_REQUEST")
	noFile(t, store, over.Key)

	// A declared size is signed: the body must be exactly that long.
	sized := up(map[string]any{"filename": "sized.txt", "content_type": "text/plain", "size": 10})
	resp, raw = send(t, http.MethodPut, sized.URL, hiddenLength{strings.NewReader("01234567890")}, "text/plain")
	expectRefused(t, resp, raw, http.StatusRequestEntityTooLarge, "INVALID_REQUEST")
	resp, raw = send(t, http.MethodPut, sized.URL, strings.NewReader("012345678"), "text/plain")
	expectRefused(t, resp, raw, http.StatusBadRequest, "INVALID_REQUEST")
	noFile(t, store, sized.Key)
	if resp, raw := send(t, http.MethodPut, sized.URL, strings.NewReader("0123456789"), "text/plain"); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT of the declared size: %d %s", resp.StatusCode, raw)
	}

	c.Post("/uploads/presign", map[string]any{"filename": "f.txt", "content_type": "text/plain", "size": capBytes}, u.Headers()).Expect(t, 200, "")
	c.Post("/uploads/presign", map[string]any{"filename": "f.txt", "content_type": "text/plain", "size": capBytes + 1}, u.Headers()).
		Expect(t, 400, "INVALID_REQUEST")
}

func TestUploads_PresignRefusesBadInput(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	ok := func(filename string) presigned {
		return presign(t, c, u, map[string]any{"filename": filename, "content_type": "text/plain"})
	}
	if p := ok(strings.Repeat("n", uploads.MaxFilenameBytes)); !strings.HasSuffix(p.Key, "/"+strings.Repeat("n", uploads.MaxFilenameBytes)) {
		t.Fatalf("filename at the limit: %s", p.Key)
	}
	if p := ok("../../../etc/passwd"); !strings.HasSuffix(p.Key, "/passwd") || strings.Contains(p.Key, "..") {
		t.Fatalf("path in filename: %s", p.Key)
	}
	if p := ok("new\nline\x7f.txt"); !strings.HasSuffix(p.Key, "/newline.txt") {
		t.Fatalf("control characters: %s", p.Key)
	}
	for _, body := range []map[string]any{
		{"filename": "nul\x00.txt", "content_type": "text/plain"}, // a NUL is refused by the decoder, everywhere
		{"filename": strings.Repeat("n", uploads.MaxFilenameBytes+1), "content_type": "text/plain"},
		{"filename": "", "content_type": "text/plain"},
		{"filename": "dir/", "content_type": "text/plain"},
		{"filename": "..", "content_type": "text/plain"},
		{"filename": "\x01\x02\u200f", "content_type": "text/plain"},
		{"content_type": "text/plain"},
		{"filename": "a.html", "content_type": "text/html"},
		{"filename": "a.svg", "content_type": "image/svg+xml"},
		{"filename": "a.js", "content_type": "application/javascript"},
		{"filename": "a.txt", "content_type": "text/plain; charset=utf-8"},
		{"filename": "a.txt"},
		{"filename": "a.txt", "content_type": "text/plain", "size": 0},
		{"filename": "a.txt", "content_type": "text/plain", "size": -1},
		{"filename": "a.txt", "content_type": "text/plain", "size": env.Config.UploadMaxBytes + 1},
		{"filename": "a.txt", "content_type": "text/plain", "size": 1.5},
		{"filename": "a.txt", "content_type": "text/plain", "key": "users/me/chosen"},
	} {
		c.Post("/uploads/presign", body, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Post("/uploads/presign", map[string]any{"filename": "a.txt", "content_type": "text/plain", "size": env.Config.UploadMaxBytes}, u.Headers()).
		Expect(t, 200, "")
	c.Post("/uploads/presign", map[string]any{"filename": "a.txt", "content_type": "text/plain"}, nil).Expect(t, 401, "UNAUTHORIZED")
	c.Post("/uploads/presign", map[string]any{"filename": "a.txt", "content_type": "text/plain"},
		testenv.Headers{"x-officex-user-id": u.ID, "x-officex-master-key": "ofx_mk_wrong"}).Expect(t, 401, "UNAUTHORIZED")
}

func TestUploads_KeysArePerUserAndNeverRepeat(t *testing.T) {
	c := env.Client(t)
	a, b := c.NewUser(), c.NewUser()
	body := map[string]any{"filename": "avatar.png", "content_type": "image/png"}
	shape := regexp.MustCompile(`^users/([0-9a-f-]{36})/[0-9a-f]{32}/avatar\.png$`)
	seen := map[string]bool{}
	for _, u := range []testenv.User{a, a, b, b} {
		key := presign(t, c, u, body).Key
		m := shape.FindStringSubmatch(key)
		if m == nil || m[1] != u.ID || seen[key] {
			t.Fatalf("key %q for user %s (seen before: %v)", key, u.ID, seen[key])
		}
		seen[key] = true
	}
}

func TestUploads_URLsStartWithPublicURLElseTheRequestOrigin(t *testing.T) {
	public := localStore(t, uploads.LocalOptions{PublicURL: "https://files.example.com/officex"})
	c := env.ClientFor(t, newServer(t, func(d *api.Deps) { d.Uploads = public }))
	p := presign(t, c, c.NewUser(), map[string]any{"filename": "a.txt", "content_type": "text/plain"})
	if !strings.HasPrefix(p.URL, "https://files.example.com/officex/v1/uploads/files/users/") ||
		!strings.HasPrefix(p.DownloadURL, "https://files.example.com/officex/v1/uploads/files/users/") {
		t.Fatalf("with OFFICEX_PUBLIC_URL: %s %s", p.URL, p.DownloadURL)
	}

	// Unset: the request's scheme and host, https when it came in over TLS.
	tlsServer := httptest.NewTLSServer(env.NewHandler(nil))
	t.Cleanup(tlsServer.Close)
	u := c.NewUser()
	req, _ := http.NewRequest(http.MethodPost, tlsServer.URL+"/v1/uploads/presign", strings.NewReader(`{"filename":"a.txt","content_type":"text/plain"}`))
	for k, v := range u.Headers() {
		req.Header.Set(k, v)
	}
	resp, err := tlsServer.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte(`"presigned_url":"`+tlsServer.URL+`/v1/uploads/files/users/`+u.ID+`/`)) {
		t.Fatalf("over TLS: %d %s", resp.StatusCode, raw)
	}
}
