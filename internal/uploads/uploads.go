// Package uploads owns user file uploads: the object key (per user, never
// guessable), the allow-list of content types, the size cap, the lifetime of
// presigned URLs, and the two stores behind one interface that hold the bytes:
// Local (files on disk, PUT and GET served by the API at HMAC-signed, expiring
// URLs) and S3 (presigned URLs of an S3-compatible bucket).
//
// What this package must not do: authenticate users (api/ does, before it asks
// for a presigned URL), hand out a URL without an expiry, accept or serve a
// local file whose URL signature it has not checked, leave a partial file
// under a final key, or touch a path outside its upload directory.
package uploads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits of an upload.
const (
	// PresignLifetime is how long a presigned URL (PUT and GET) stays valid.
	PresignLifetime = 15 * time.Minute
	// MaxFilenameBytes bounds the filename a caller sends; it is also the
	// longest file name common file systems accept.
	MaxFilenameBytes = 255
	// DefaultMaxBytes is the default size cap of one upload (25 MiB), the
	// default of OFFICEX_UPLOAD_MAX_BYTES.
	DefaultMaxBytes = 25 << 20
	// keyRandomBytes is the randomness in a key (32 hex characters), what
	// makes a key unguessable even to someone who knows the user and file.
	keyRandomBytes = 16
)

// AllowedContentTypes are the media types an upload may have: images,
// documents, archives and common audio/video. Anything a browser would run
// (HTML, SVG, JavaScript) is deliberately absent, since the local store serves
// uploads from the API's own origin.
var AllowedContentTypes = []string{
	"image/png", "image/jpeg", "image/gif", "image/webp",
	"application/pdf", "application/json", "application/zip",
	"text/plain", "text/csv", "text/markdown",
	"audio/mpeg", "video/mp4",
}

// Errors of uploads; api/ maps each to the reference's code.
var (
	ErrInvalid   = errors.New("invalid upload")
	ErrForbidden = errors.New("upload URL refused")
	ErrTooLarge  = errors.New("upload too large")
	ErrNotFound  = errors.New("no upload at this key")
)

// Store holds uploaded bytes and hands out presigned URLs to them.
type Store interface {
	// Presign returns the URL to PUT obj to, and one to GET it back, both
	// valid for PresignLifetime. origin is the scheme and host the presign
	// request came in on; a store that serves its own URLs may use it.
	Presign(ctx context.Context, obj Object, origin string) (Presigned, error)
	// MaxBytes is the largest upload the store accepts.
	MaxBytes() int64
}

// Object is an upload about to be made: where it goes and what it is.
type Object struct {
	Key         string // users/<user_id>/<32 hex random>/<sanitized filename>
	ContentType string // one of AllowedContentTypes
	Size        int64  // declared size in bytes; 0: not declared
}

// Presigned is what a client needs to upload (and later fetch) an object.
type Presigned struct {
	URL         string // PUT here
	Method      string // always PUT
	Headers     map[string]string
	DownloadURL string // GET here, same expiry
	ExpiresAt   time.Time
}

// NewObject validates what a user asked to upload and gives it a fresh key.
// size is optional (nil) and, when given, must be 1..maxBytes.
func NewObject(userID uuid.UUID, filename, contentType string, size *int64, maxBytes int64) (Object, error) {
	if len(filename) > MaxFilenameBytes {
		return Object{}, fmt.Errorf("%w: filename is longer than %d bytes", ErrInvalid, MaxFilenameBytes)
	}
	name := SanitizeFilename(filename)
	if name == "" {
		return Object{}, fmt.Errorf("%w: filename is empty once path separators and control characters are removed", ErrInvalid)
	}
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if !slices.Contains(AllowedContentTypes, ct) {
		return Object{}, fmt.Errorf("%w: content_type must be one of %s (no parameters)", ErrInvalid, strings.Join(AllowedContentTypes, ", "))
	}
	obj := Object{ContentType: ct}
	if size != nil {
		if *size < 1 || *size > maxBytes {
			return Object{}, fmt.Errorf("%w: size must be 1-%d bytes", ErrInvalid, maxBytes)
		}
		obj.Size = *size
	}
	random := make([]byte, keyRandomBytes)
	if _, err := rand.Read(random); err != nil {
		return Object{}, fmt.Errorf("upload key: %w", err)
	}
	obj.Key = "users/" + userID.String() + "/" + hex.EncodeToString(random) + "/" + name
	return obj, nil
}

// SanitizeFilename keeps the last element of a path (either separator, so
// "C:\fakepath\a.png" is "a.png"), drops control and invisible formatting
// characters (bidi overrides that disguise an extension), and trims spaces.
// "." and ".." become "", as does a name that is not valid UTF-8.
func SanitizeFilename(filename string) string {
	if !utf8.ValidString(filename) {
		return ""
	}
	if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
		filename = filename[i+1:]
	}
	name := strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, filename))
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// ParseKey checks that key has the shape NewObject gives keys, so a key that
// reaches a file system or a bucket can never climb out of its folder.
func ParseKey(key string) (userID uuid.UUID, filename string, err error) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "users" {
		return uuid.Nil, "", fmt.Errorf("%w: malformed key", ErrForbidden)
	}
	if userID, err = uuid.Parse(parts[1]); err != nil || userID.String() != parts[1] {
		return uuid.Nil, "", fmt.Errorf("%w: malformed key", ErrForbidden)
	}
	if raw, err := hex.DecodeString(parts[2]); err != nil || len(raw) != keyRandomBytes || hex.EncodeToString(raw) != parts[2] {
		return uuid.Nil, "", fmt.Errorf("%w: malformed key", ErrForbidden)
	}
	name := parts[3]
	if name == "" || len(name) > MaxFilenameBytes || SanitizeFilename(name) != name {
		return uuid.Nil, "", fmt.Errorf("%w: malformed key", ErrForbidden)
	}
	return userID, name, nil
}
