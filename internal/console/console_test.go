package console

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/officex/officex/ledger"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestSessions_ExpireAndRefuseAlteredOrForeignCookies(t *testing.T) {
	s := NewSessions(testKey, "admin-secret-0123456789")
	now := time.Now()
	value, sess := s.Issue(now)
	if got, err := s.Verify(value, now.Add(SessionTTL-time.Second)); err != nil || got.ID != sess.ID {
		t.Fatalf("a live session: %v %v", got, err)
	}
	if _, err := s.Verify(value, now.Add(SessionTTL+time.Second)); err != ErrBadSession {
		t.Fatalf("past its TTL: %v", err)
	}
	parts := strings.Split(value, ".")
	later := parts[0] + "." + "9999999999" + "." + parts[2]
	for name, v := range map[string]string{"longer expiry": later, "empty": "", "two parts": parts[0] + "." + parts[1],
		"other secret": func() string { v, _ := NewSessions(testKey, "another-secret-012345").Issue(now); return v }(),
		"other key": func() string {
			v, _ := NewSessions([]byte(strings.Repeat("k", 32)), "admin-secret-0123456789").Issue(now)
			return v
		}()} {
		if _, err := s.Verify(v, now); err != ErrBadSession {
			t.Errorf("%s: %v", name, err)
		}
	}
	if strings.Contains(value, "admin-secret") {
		t.Fatal("the cookie carries the secret")
	}
}

func TestSessions_CSRFTokensAreBoundToTheirSession(t *testing.T) {
	s := NewSessions(testKey, "admin-secret-0123456789")
	_, a := s.Issue(time.Now())
	_, b := s.Issue(time.Now())
	if !s.CheckCSRF(a, s.CSRF(a)) || s.CheckCSRF(a, s.CSRF(b)) || s.CheckCSRF(a, "") {
		t.Fatal("a session's token must pass, another's and none must not")
	}
	if !s.CheckLoginCSRF("nonce-1", s.LoginCSRF("nonce-1")) || s.CheckLoginCSRF("nonce-2", s.LoginCSRF("nonce-1")) ||
		s.CheckLoginCSRF("", s.LoginCSRF("")) || s.CSRF(a) == s.LoginCSRF(a.ID) {
		t.Fatal("sign-in tokens are bound to their nonce and differ from session tokens")
	}
}

func TestCharts_ScaleFromZeroAndBoundThePoints(t *testing.T) {
	pts := []Point{{"2026-01", 0}, {"2026-02", 50 * ledger.Scale}, {"2026-03", 100 * ledger.Scale}}
	line := LineChart("liability", pts)
	if len(line.Dots) != 3 || line.Top != "100" || line.Dots[2].Y != 10 || line.Dots[0].Y != line.Baseline {
		t.Fatalf("line %+v", line)
	}
	bars := BarChart("paid", pts)
	if len(bars.Bars) != 3 || bars.Bars[2].H <= bars.Bars[1].H || bars.Bars[1].Y+bars.Bars[1].H != bars.Baseline {
		t.Fatalf("bars %+v", bars.Bars)
	}
	many := make([]Point, MaxChartPoints+10)
	if got := BarChart("many", many); len(got.Bars) != MaxChartPoints || got.Empty {
		t.Fatalf("%d bars for %d points", len(got.Bars), len(many))
	}
	if !LineChart("none", nil).Empty {
		t.Fatal("no points is an empty chart")
	}
}

func TestRender_EscapesDataAndSetsTheSecurityHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	err := Render(w, 200, "error", Page{Title: "Oops", Error: `<script>alert("x")</script>`})
	if err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("not escaped: %s", body)
	}
	for name, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("%s = %q", name, got)
		}
	}
	if !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP %q", w.Header().Get("Content-Security-Policy"))
	}
}
