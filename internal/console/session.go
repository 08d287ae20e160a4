// Package console is the finance console's web layer: signed sessions, CSRF
// tokens, the sign-in failure limit, the embedded templates and assets, and
// the inline SVG charts. It holds no business rules and reads no money
// itself: api/console.go calls the same services as the admin API and hands
// the results here to render.
package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Cookie names and the one path they are sent to.
const (
	SessionCookie = "officex_console"
	LoginCookie   = "officex_console_login" // the sign-in form's CSRF nonce
	CookiePath    = "/admin/console"
)

// Lifetimes: a session ends SessionTTL after sign-in whatever happens (there
// is no server-side state to extend); a sign-in form is good for LoginTTL.
const (
	SessionTTL = 4 * time.Hour
	LoginTTL   = 15 * time.Minute
)

// ErrBadSession is a missing, altered or expired session cookie.
var ErrBadSession = errors.New("no valid console session")

// Sessions issues and checks stateless sessions: the cookie carries a random
// id and its expiry, signed with HMAC-SHA256. The key is derived from the
// server's encryption key and the admin secret, so every serve process
// accepts the same cookies, rotating the admin secret signs every session
// out, and the cookie says nothing about the secret (it never reaches the
// browser).
type Sessions struct {
	key []byte
}

// NewSessions derives the signing key.
func NewSessions(encryptionKey []byte, adminSecret string) *Sessions {
	m := hmac.New(sha256.New, encryptionKey)
	m.Write([]byte("officex-console-session\x00" + adminSecret))
	return &Sessions{key: m.Sum(nil)}
}

// Session is a signed-in console session.
type Session struct {
	ID      string // random, base64url
	Expires time.Time
}

func (s *Sessions) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// NewID is a random token id (16 bytes, base64url).
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Issue starts a session at now: the cookie value and the session.
func (s *Sessions) Issue(now time.Time) (string, Session) {
	sess := Session{ID: NewID(), Expires: now.Add(SessionTTL).Truncate(time.Second)}
	exp := strconv.FormatInt(sess.Expires.Unix(), 10)
	return sess.ID + "." + exp + "." + s.mac("session", sess.ID, exp), sess
}

// Verify checks a cookie value's signature and expiry at now.
func (s *Sessions) Verify(value string, now time.Time) (Session, error) {
	parts := strings.Split(value, ".")
	if len(parts) != 3 || !hmac.Equal([]byte(parts[2]), []byte(s.mac("session", parts[0], parts[1]))) {
		return Session{}, ErrBadSession
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return Session{}, ErrBadSession
	}
	return Session{ID: parts[0], Expires: time.Unix(exp, 0)}, nil
}

// CSRF is the token every form of the session carries: bound to the
// session, so a token from another session (or none) is refused.
func (s *Sessions) CSRF(sess Session) string { return s.mac("csrf", sess.ID) }

// CheckCSRF compares a form's token with the session's in constant time.
func (s *Sessions) CheckCSRF(sess Session, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.CSRF(sess)))
}

// LoginCSRF is the sign-in form's token, bound to the nonce in LoginCookie
// (there is no session yet to bind it to).
func (s *Sessions) LoginCSRF(nonce string) string { return s.mac("login", nonce) }

// CheckLoginCSRF checks a sign-in form's token against its cookie's nonce.
func (s *Sessions) CheckLoginCSRF(nonce, token string) bool {
	return nonce != "" && token != "" && hmac.Equal([]byte(token), []byte(s.LoginCSRF(nonce)))
}
