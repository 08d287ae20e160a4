package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/clientaddr"
	"github.com/officex/officex/internal/console"
)

// The finance console (/admin/console): HTML pages over the same services as
// the admin API, signed in with the admin secret. The pages are in
// console_pages.go; sessions, CSRF tokens, templates and charts in
// internal/console.

// flashCookie carries the outcome of a form to the page it redirects to.
const flashCookie = "officex_console_flash"

// consoleHandler is a signed-in console page; page has the session's CSRF
// token and the flash of the last action.
type consoleHandler func(w http.ResponseWriter, r *http.Request, page console.Page) error

// adminSecretMatches compares a presented secret with the configured one in
// constant time (hashed first, so the length leaks nothing either).
func (s *Server) adminSecretMatches(presented string) bool {
	want, got := sha256.Sum256([]byte(s.cfg.AdminSecret)), sha256.Sum256([]byte(presented))
	return s.cfg.AdminSecret != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// consoleSecure: cookies are Secure when the console is served over TLS,
// here or at a proxy in front (OFFICEX_PUBLIC_URL is https).
func (s *Server) consoleSecure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://")
}

// consoleErrors renders a handler's error as a console page.
func consoleErrors(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		e := toAPIError(r, err)
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int((e.RetryAfter+time.Second-1)/time.Second)))
		}
		_ = console.Render(w, e.Status, "error", console.Page{Title: http.StatusText(e.Status), Error: e.Message})
	})
}

// consolePage serves h to a signed-in session: a GET without one goes to
// the sign-in page, any other request is refused (401), and a POST without
// the session's CSRF token is refused (403) before h runs.
func (s *Server) consolePage(h consoleHandler) http.Handler {
	return consoleErrors(func(w http.ResponseWriter, r *http.Request) error {
		if s.consoleSessions == nil {
			return errNotFound // no admin secret: the console does not exist
		}
		var sess console.Session
		c, err := r.Cookie(console.SessionCookie)
		if err == nil {
			sess, err = s.consoleSessions.Verify(c.Value, time.Now())
		}
		if err != nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/admin/console/login", http.StatusSeeOther)
				return nil
			}
			return &Error{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "Your session ended: sign in again."}
		}
		if r.Method == http.MethodPost && !s.consoleSessions.CheckCSRF(sess, r.PostFormValue("csrf")) {
			return &Error{Status: http.StatusForbidden, Code: "FORBIDDEN",
				Message: "The form's security token is missing or wrong: reload the page and try again."}
		}
		page := console.Page{CSRF: s.consoleSessions.CSRF(sess)}
		if f, err := r.Cookie(flashCookie); err == nil {
			page.Flash, _ = url.QueryUnescape(f.Value)
			http.SetCookie(w, console.Cookie(flashCookie, "", 0, s.consoleSecure(r)))
		}
		return h(w, r, page)
	})
}

// maxFlash bounds the flash (a cookie carries it).
const maxFlash = 1000

// consoleRedirect answers a form with a redirect to path, carrying flash.
func (s *Server) consoleRedirect(w http.ResponseWriter, r *http.Request, path, flash string) error {
	if len(flash) > maxFlash {
		flash = strings.ToValidUTF8(flash[:maxFlash], "") + "…"
	}
	if flash != "" {
		http.SetCookie(w, console.Cookie(flashCookie, url.QueryEscape(flash), time.Minute, s.consoleSecure(r)))
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// consoleHome sends a visitor to the treasury (or to sign in first).
func (s *Server) consoleHome(w http.ResponseWriter, r *http.Request, _ console.Page) error {
	http.Redirect(w, r, "/admin/console/treasury", http.StatusSeeOther)
	return nil
}

// consoleLoginForm shows the sign-in form with a fresh CSRF nonce.
func (s *Server) consoleLoginForm(w http.ResponseWriter, r *http.Request) error {
	if s.consoleSessions == nil {
		return errNotFound
	}
	return s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	nonce := console.NewID()
	http.SetCookie(w, console.Cookie(console.LoginCookie, nonce, console.LoginTTL, s.consoleSecure(r)))
	return console.Render(w, status, "login", console.Page{Title: "Sign in", Error: msg, Data: s.consoleSessions.LoginCSRF(nonce)})
}

// consoleLogin checks the admin secret and starts a session. A client with
// too many wrong secrets is refused before the secret is looked at.
func (s *Server) consoleLogin(w http.ResponseWriter, r *http.Request) error {
	if s.consoleSessions == nil {
		return errNotFound
	}
	ctx, now, client := r.Context(), time.Now(), clientaddr.FromContext(r.Context())
	wait, err := s.consoleGuard.Locked(ctx, client, now)
	if err != nil {
		return err
	}
	if wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		return s.renderLogin(w, r, http.StatusTooManyRequests,
			fmt.Sprintf("Too many wrong secrets from this address: try again in %d minutes.", int(wait.Minutes())+1))
	}
	var nonce string
	if c, err := r.Cookie(console.LoginCookie); err == nil {
		nonce = c.Value
	}
	if !s.consoleSessions.CheckLoginCSRF(nonce, r.PostFormValue("csrf")) {
		return s.renderLogin(w, r, http.StatusForbidden, "The sign-in form expired or did not come from this console: try again.")
	}
	if !s.adminSecretMatches(r.PostFormValue("secret")) {
		if err := s.consoleGuard.Fail(ctx, client, now); err != nil {
			return err
		}
		return s.renderLogin(w, r, http.StatusUnauthorized, "That is not the admin secret.")
	}
	value, _ := s.consoleSessions.Issue(now)
	secure := s.consoleSecure(r)
	http.SetCookie(w, console.Cookie(console.SessionCookie, value, console.SessionTTL, secure))
	http.SetCookie(w, console.Cookie(console.LoginCookie, "", 0, secure))
	details, _ := json.Marshal(map[string]string{"client": client})
	if err := dbgen.New(s.pool).InsertAudit(ctx, dbgen.InsertAuditParams{Actor: "admin", Action: "console.sign_in",
		TargetType: "console", TargetID: "console", Details: details}); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/console/treasury", http.StatusSeeOther)
	return nil
}

// consoleLogout forgets the session in this browser (sessions are signed,
// not stored: rotating OFFICEX_ADMIN_SECRET ends every session at once).
func (s *Server) consoleLogout(w http.ResponseWriter, r *http.Request, _ console.Page) error {
	http.SetCookie(w, console.Cookie(console.SessionCookie, "", 0, s.consoleSecure(r)))
	return s.consoleRedirect(w, r, "/admin/console/login", "")
}
