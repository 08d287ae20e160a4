package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/console"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/ledger"
)

// consoleBrowser is a cookie-keeping HTTP client of the console that does
// not follow redirects (the tests look at them).
type consoleBrowser struct {
	t    *testing.T
	base string
	http *http.Client
}

func newConsoleBrowser(t *testing.T, base string) *consoleBrowser {
	jar, _ := cookiejar.New(nil)
	return &consoleBrowser{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *consoleBrowser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token in %s", page)
	}
	return m[1]
}

// signIn signs b in and returns a page's CSRF token.
func (b *consoleBrowser) signIn() string {
	b.t.Helper()
	_, form := b.do("GET", "/admin/console/login", nil)
	resp, _ := b.do("POST", "/admin/console/login", url.Values{"csrf": {csrfOf(b.t, form)}, "secret": {testenv.AdminSecret}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/console/treasury" {
		b.t.Fatalf("sign-in answered %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := b.do("GET", "/admin/console/treasury", nil)
	return csrfOf(b.t, page)
}

func TestConsole_SignInSetsAStrictHttpOnlySessionAndShowsTheTreasury(t *testing.T) {
	b := newConsoleBrowser(t, env.Server.URL)
	resp, _ := b.do("GET", "/admin/console/treasury", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/console/login" {
		t.Fatalf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, form := b.do("GET", "/admin/console/login", nil)
	resp, _ = b.do("POST", "/admin/console/login", url.Values{"csrf": {csrfOf(t, form)}, "secret": {testenv.AdminSecret}})
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == console.SessionCookie && c.Value != "" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure ||
		session.MaxAge != int(console.SessionTTL.Seconds()) || session.Path != "/admin/console" {
		t.Fatalf("session cookie %+v", session)
	}
	if strings.Contains(session.Value, testenv.AdminSecret) {
		t.Fatal("the cookie carries the secret")
	}
	resp, page := b.do("GET", "/admin/console/treasury", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="liability"`) || !strings.Contains(page, "<svg") {
		t.Fatalf("treasury %d: %s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers %v", resp.Header)
	}
	if strings.Contains(page, testenv.AdminSecret) {
		t.Fatal("the page carries the secret")
	}
}

// TestTreasuryHistory_WalksTheLiabilityBackThroughEachMonth: the package's
// database was created this month, so last month ended owing nothing and
// this month ends at today's liability and payouts.
func TestTreasuryHistory_WalksTheLiabilityBackThroughEachMonth(t *testing.T) {
	ctx := context.Background()
	env.Client(t).Fund(env.Client(t).NewUser().WalletID, "12.5")
	months, err := ledger.TreasuryHistory(ctx, env.Pool, time.Now(), 3)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.GetTreasuryReport(ctx, env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if len(months) != 3 || months[2].Month != now.Format("2006-01") || months[1].Month != now.AddDate(0, 0, -now.Day()).Format("2006-01") {
		t.Fatalf("months %+v", months)
	}
	if months[2].Liability != rep.Liability || months[2].PaidOut != rep.CreditsPaidOut || months[1].Liability != 0 || months[0].Liability != 0 {
		t.Fatalf("history %+v, report liability %s paid out %s", months, rep.Liability, rep.CreditsPaidOut)
	}
}

func TestConsole_SecureCookieBehindHTTPSPublicURL(t *testing.T) {
	b := newConsoleBrowser(t, newServer(t, func(d *api.Deps) { d.Config.PublicURL = "https://finance.example.com" }))
	_, form := b.do("GET", "/admin/console/login", nil)
	resp, _ := b.do("POST", "/admin/console/login", url.Values{"csrf": {csrfOf(t, form)}, "secret": {testenv.AdminSecret}})
	for _, c := range resp.Cookies() {
		if c.Name == console.SessionCookie && !c.Secure {
			t.Fatalf("session cookie not Secure: %+v", c)
		}
	}
}

func TestConsole_WrongSecretAndMissingCSRFAreRefused(t *testing.T) {
	srv, _ := serveFromOwnPeer(t, env.NewHandler(nil))
	b := newConsoleBrowser(t, srv.URL)
	_, form := b.do("GET", "/admin/console/login", nil)
	resp, page := b.do("POST", "/admin/console/login", url.Values{"csrf": {csrfOf(t, form)}, "secret": {"not-the-secret-0123"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "not the admin secret") {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
	if c := sessionCookie(resp); c != "" {
		t.Fatal("a wrong secret got a session")
	}
	resp, _ = b.do("POST", "/admin/console/login", url.Values{"secret": {testenv.AdminSecret}})
	if resp.StatusCode != http.StatusForbidden || sessionCookie(resp) != "" {
		t.Fatalf("sign-in without its CSRF token: %d", resp.StatusCode)
	}

	// Signed in, a form without the token changes nothing.
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "300")
	id := c.Post("/payout", stripePayout(a.WalletID, 200, acctOf(vendor), ""), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	csrf := b.signIn()
	reject := url.Values{"reject": {id}, "reason-" + id: {"forged"}}
	for _, token := range []string{"", "forged", csrfOf(t, form)} { // none, made up, the sign-in form's
		if token != "" {
			reject.Set("csrf", token)
		}
		if resp, _ := b.do("POST", "/admin/console/payouts", reject); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("decision with token %q: %d", token, resp.StatusCode)
		}
	}
	if p := payoutOf(t, c, id); p["status"] != "pending" {
		t.Fatalf("a form without its CSRF token rejected a payout: %v", p["status"])
	}
	reject.Set("csrf", csrf)
	resp, _ = b.do("POST", "/admin/console/payouts", reject)
	if p := payoutOf(t, c, id); resp.StatusCode != http.StatusSeeOther || p["status"] != "rejected" || p["failure_reason"] != "forged" {
		t.Fatalf("reject with the token: %d, payout %v", resp.StatusCode, p)
	}
}

func sessionCookie(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == console.SessionCookie {
			return c.Value
		}
	}
	return ""
}

func TestConsole_ExpiredOrAlteredSessionIsRefused(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "300")
	id := c.Post("/payout", stripePayout(a.WalletID, 200, acctOf(vendor), ""), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	sessions := console.NewSessions(env.Config.EncryptionKey, testenv.AdminSecret)
	expired, sess := sessions.Issue(time.Now().Add(-console.SessionTTL - time.Minute))
	live, _ := sessions.Issue(time.Now())
	otherSecret, _ := console.NewSessions(env.Config.EncryptionKey, "another-admin-secret-42").Issue(time.Now())
	for name, value := range map[string]string{"expired": expired, "altered": strings.Replace(live, ".", ".9", 1), "other secret": otherSecret} {
		b := newConsoleBrowser(t, env.Server.URL)
		u, _ := url.Parse(env.Server.URL + "/admin/console")
		b.http.Jar.SetCookies(u, []*http.Cookie{{Name: console.SessionCookie, Value: value, Path: "/admin/console"}})
		resp, _ := b.do("GET", "/admin/console/payouts", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/console/login" {
			t.Fatalf("%s session: GET answered %d", name, resp.StatusCode)
		}
		resp, _ = b.do("POST", "/admin/console/payouts", url.Values{"approve": {id}, "csrf": {sessions.CSRF(sess)}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s session: POST answered %d", name, resp.StatusCode)
		}
	}
	if payoutOf(t, c, id)["approved"] != false {
		t.Fatal("a refused session approved a payout")
	}
	c.Post("/admin/payouts/"+id+"/reject", map[string]any{"reason": "test over"}, testenv.AdminHeaders()).Expect(t, 200, "")
}

func TestConsole_SignInFailuresAreLimitedPerClient(t *testing.T) {
	srv, peer := serveFromOwnPeer(t, env.NewHandler(nil))
	b := newConsoleBrowser(t, srv.URL)
	for i := 0; i < console.SignInFailures; i++ {
		_, form := b.do("GET", "/admin/console/login", nil)
		if resp, _ := b.do("POST", "/admin/console/login", url.Values{"csrf": {csrfOf(t, form)}, "secret": {"guess-number-00000"}}); resp.StatusCode != 401 {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	_, form := b.do("GET", "/admin/console/login", nil)
	resp, _ := b.do("POST", "/admin/console/login", url.Values{"csrf": {csrfOf(t, form)}, "secret": {testenv.AdminSecret}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || sessionCookie(resp) != "" {
		t.Fatalf("after %d failures from %s: %d", console.SignInFailures, peer, resp.StatusCode)
	}
	// Another address is not held back by this one's failures.
	other, _ := serveFromOwnPeer(t, env.NewHandler(nil))
	newConsoleBrowser(t, other.URL).signIn()
}
