package uploads

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LocalPath is where the API serves the local store's files (api/router.go
// registers PUT and GET at LocalPath + "{key}").
const LocalPath = "/v1/uploads/files/"

const (
	// signingLabel derives the URL signing key from OFFICEX_ENCRYPTION_KEY,
	// so a signature can never be confused with any other use of that key.
	signingLabel = "officex/uploads/url-signing/v1"
	// tempDirName holds uploads while they arrive, on the same file system as
	// their final place so the rename that publishes them is atomic.
	tempDirName = ".tmp"
	// staleTempAge: a temp file this old at start is a leftover of a crashed
	// process (an upload never takes this long: URLs live PresignLifetime).
	staleTempAge = time.Hour
)

// LocalOptions configure the embedded store.
type LocalOptions struct {
	Dir           string // OFFICEX_UPLOAD_DIR
	MaxBytes      int64  // OFFICEX_UPLOAD_MAX_BYTES
	PublicURL     string // OFFICEX_PUBLIC_URL; "": the origin of the presign request
	EncryptionKey []byte // OFFICEX_ENCRYPTION_KEY; the signing key is derived from it
	// Now is the store's clock (nil: time.Now); tests move it to expire URLs.
	Now func() time.Time
}

// Local keeps uploads as files under one directory; the API serves them at
// URLs this store signs (HMAC-SHA256 over method, key, content type, size and
// expiry). Several API processes can share the directory.
type Local struct {
	dir, tmp  string
	maxBytes  int64
	publicURL string
	secret    []byte
	now       func() time.Time
}

// NewLocal creates the directory when missing and clears temp files a crashed
// process left behind.
func NewLocal(o LocalOptions) (*Local, error) {
	if o.Dir == "" || o.MaxBytes < 1 {
		return nil, errors.New("local upload store: a directory and a positive size cap are required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("upload directory %s: %w", o.Dir, err)
	}
	if len(o.EncryptionKey) != 32 {
		return nil, errors.New("local upload store: want the 32-byte encryption key")
	}
	secret, err := hkdf.Key(sha256.New, o.EncryptionKey, nil, signingLabel, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("upload signing key: %w", err)
	}
	l := &Local{dir: dir, tmp: filepath.Join(dir, tempDirName), maxBytes: o.MaxBytes,
		publicURL: strings.TrimRight(o.PublicURL, "/"), secret: secret, now: o.Now}
	if l.now == nil {
		l.now = time.Now
	}
	if err := os.MkdirAll(l.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("upload directory: %w", err)
	}
	l.removeStaleTemps()
	return l, nil
}

// Dir is the absolute directory the files live in.
func (l *Local) Dir() string { return l.dir }

// MaxBytes is OFFICEX_UPLOAD_MAX_BYTES.
func (l *Local) MaxBytes() int64 { return l.maxBytes }

// Presign signs a PUT URL (the client must send the signed Content-Type) and
// a GET URL, both under the public URL or else the request's origin.
func (l *Local) Presign(_ context.Context, obj Object, origin string) (Presigned, error) {
	if _, _, err := ParseKey(obj.Key); err != nil {
		return Presigned{}, fmt.Errorf("presign %q: %w", obj.Key, err)
	}
	base := l.publicURL
	if base == "" {
		base = origin
	}
	expires := l.now().Add(PresignLifetime).Unix()
	return Presigned{
		URL:         l.signedURL(base, http.MethodPut, obj.Key, obj.ContentType, obj.Size, expires),
		Method:      http.MethodPut,
		Headers:     map[string]string{"Content-Type": obj.ContentType},
		DownloadURL: l.signedURL(base, http.MethodGet, obj.Key, obj.ContentType, 0, expires),
		ExpiresAt:   time.Unix(expires, 0).UTC(),
	}, nil
}

// signedURL carries everything signed except a PUT's content type, which
// travels in its Content-Type header.
func (l *Local) signedURL(base, method, key, contentType string, size, expires int64) string {
	q := url.Values{"expires": {strconv.FormatInt(expires, 10)}}
	if size > 0 {
		q.Set("size", strconv.FormatInt(size, 10))
	}
	if method == http.MethodGet {
		q.Set("content_type", contentType)
	}
	q.Set("sig", l.sign(method, key, contentType, size, expires))
	segments := strings.Split(key, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return base + LocalPath + strings.Join(segments, "/") + "?" + q.Encode()
}

// sign is the URL signature. Fields are newline-separated; none can contain
// a newline (keys pass ParseKey, content types come from the allow-list).
func (l *Local) sign(method, key, contentType string, size, expires int64) string {
	mac := hmac.New(sha256.New, l.secret)
	fmt.Fprintf(mac, "%s\n%s\n%s\n%s\n%d\n%d", signingLabel, method, key, contentType, size, expires)
	return hex.EncodeToString(mac.Sum(nil))
}

// Grant is what a verified URL allows.
type Grant struct {
	Size  int64 // the signed size the body must have; 0: any size up to Limit
	Limit int64 // the most bytes to read
}

// Verify checks a request to a signed URL: method, key, the content type it
// carries (a PUT's Content-Type header, a GET's content_type parameter) and
// the query. Any mismatch or an expired URL is ErrForbidden.
func (l *Local) Verify(method, key, contentType string, q url.Values) (Grant, error) {
	if _, _, err := ParseKey(key); err != nil {
		return Grant{}, err
	}
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil {
		return Grant{}, fmt.Errorf("%w: the URL has no valid expires parameter", ErrForbidden)
	}
	var size int64
	if raw := q.Get("size"); raw != "" {
		if size, err = strconv.ParseInt(raw, 10, 64); err != nil || size < 1 {
			return Grant{}, fmt.Errorf("%w: the URL has an invalid size parameter", ErrForbidden)
		}
	}
	want := l.sign(method, key, contentType, size, expires)
	if !hmac.Equal([]byte(want), []byte(q.Get("sig"))) {
		return Grant{}, fmt.Errorf("%w: the signature does not match this URL, method and Content-Type", ErrForbidden)
	}
	if at := time.Unix(expires, 0); l.now().After(at) {
		return Grant{}, fmt.Errorf("%w: the URL expired at %s", ErrForbidden, at.UTC().Format(time.RFC3339))
	}
	g := Grant{Size: size, Limit: l.maxBytes}
	if size > 0 {
		g.Limit = size
	}
	return g, nil
}

// Write stores body at key as g allows: it arrives in a temp file and is
// renamed into place only when complete, so a refused or broken upload leaves
// nothing behind. A body over g.Limit is ErrTooLarge (body may be an
// http.MaxBytesReader; its error counts as too large too).
func (l *Local) Write(key string, body io.Reader, g Grant) (int64, error) {
	if _, _, err := ParseKey(key); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return 0, fmt.Errorf("upload temp file: %w", err)
	}
	published := false
	defer func() {
		if !published {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	src := &readErrs{r: body}
	n, err := io.Copy(f, io.LimitReader(src, g.Limit+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(src.err, &maxErr) || n > g.Limit:
		return 0, fmt.Errorf("%w: the limit of this URL is %d bytes", ErrTooLarge, g.Limit)
	case src.err != nil:
		return 0, fmt.Errorf("%w: the body could not be read", ErrInvalid)
	case err != nil:
		return 0, fmt.Errorf("write upload %s: %w", key, err)
	case g.Size > 0 && n != g.Size:
		return 0, fmt.Errorf("%w: the body is %d bytes, the URL was presigned for %d", ErrInvalid, n, g.Size)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("write upload %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("write upload %s: %w", key, err)
	}
	final := l.path(key)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return 0, fmt.Errorf("write upload %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return 0, fmt.Errorf("write upload %s: %w", key, err)
	}
	published = true
	return n, nil
}

// Open opens the file at key for reading.
func (l *Local) Open(key string) (*os.File, error) {
	if _, _, err := ParseKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open upload %s: %w", key, err)
	}
	return f, nil
}

// path is the file of a key that passed ParseKey (so it stays under dir).
func (l *Local) path(key string) string { return filepath.Join(l.dir, filepath.FromSlash(key)) }

func (l *Local) removeStaleTemps() {
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && l.now().Sub(info.ModTime()) > staleTempAge {
			os.Remove(filepath.Join(l.tmp, e.Name()))
		}
	}
}

// readErrs remembers the reader's own error, to tell a broken or too-large
// request body from a failing disk.
type readErrs struct {
	r   io.Reader
	err error
}

func (e *readErrs) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
