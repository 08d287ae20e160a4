package api_test

import (
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/mail"
	"github.com/officex/officex/internal/testenv"
)

// productionAPI serves the API with testing mode off: random codes mailed
// through a real SMTP server, and the production throttle.
func productionAPI(t *testing.T) (*testenv.Client, *testenv.SMTPServer) {
	t.Helper()
	box := testenv.StartSMTP(t)
	sender, err := mail.NewSMTP(box.URL, "OfficeX <no-reply@officex.test>")
	if err != nil {
		t.Fatal(err)
	}
	// A peer of its own: the production limits count per client address.
	srv, _ := serveFromOwnPeer(t, env.NewHandler(func(d *api.Deps) {
		d.Config.TestingMode = false
		d.Accounts = env.Accounts(sender, false, accounts.DefaultThrottle)
	}))
	return env.ClientFor(t, srv.URL), box
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func lastCode(t *testing.T, box *testenv.SMTPServer, to string) string {
	t.Helper()
	msgs := box.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].To) == 1 && msgs[i].To[0] == to {
			if code := sixDigits.FindString(msgs[i].Body); code != "" {
				return code
			}
		}
	}
	t.Fatalf("no code mailed to %s (got %d messages)", to, len(msgs))
	return ""
}

func TestOTP_RealCodeIsMailedAndWorksOnce(t *testing.T) {
	c, box := productionAPI(t)
	email := testenv.UniqueEmail("mailed")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	code := lastCode(t, box, email)
	if subject := box.Messages()[0].Msg.Header.Get("Subject"); !strings.Contains(subject, "OfficeX") {
		t.Errorf("subject %q", subject)
	}
	// Testing mode is off: 0000 is just a wrong code.
	if code != "0000" {
		c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 401, "UNAUTHORIZED")
	}
	r := c.Post("/auth/verify-otp", map[string]any{"email": email, "code": code}, nil).Expect(t, 200, "")
	if r.String("api_key") == "" {
		t.Fatalf("no key: %s", r.Raw)
	}
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": code}, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestOTP_UnknownEmailGetsNoMail(t *testing.T) {
	c, box := productionAPI(t)
	c.Post("/auth/forgot-password", map[string]any{"email": testenv.UniqueEmail("ghost")}, nil).Expect(t, 200, "")
	c.Post("/auth/resend", map[string]any{"email": testenv.UniqueEmail("ghost")}, nil).Expect(t, 200, "")
	if n := len(box.Messages()); n != 0 {
		t.Fatalf("%d messages went to unknown emails", n)
	}
}

func TestOTP_ResendIsThrottledPerEmail(t *testing.T) {
	c, box := productionAPI(t)
	email := testenv.UniqueEmail("throttle")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	r := c.Post("/auth/resend", map[string]any{"email": email}, nil).Expect(t, 429, "RATE_LIMITED")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 30 {
		t.Fatalf("Retry-After %q, want 1-30 s", r.Header.Get("Retry-After"))
	}
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 429, "RATE_LIMITED")
	// Unknown emails are throttled alike, so the throttle reveals nothing.
	ghost := testenv.UniqueEmail("ghost")
	c.Post("/auth/resend", map[string]any{"email": ghost}, nil).Expect(t, 200, "")
	c.Post("/auth/resend", map[string]any{"email": ghost}, nil).Expect(t, 429, "RATE_LIMITED")
	// Another email is not affected.
	c.Post("/auth/register", map[string]any{"email": testenv.UniqueEmail("other")}, nil).Expect(t, 200, "")
	if n := len(box.Messages()); n != 2 {
		t.Fatalf("%d messages sent, want 2", n)
	}
	// The first code still works after the refused resends.
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": lastCode(t, box, email)}, nil).Expect(t, 200, "")
}

func TestOTP_HourlyCapPerEmail(t *testing.T) {
	srv := httptest.NewServer(env.NewHandler(func(d *api.Deps) {
		d.Accounts = env.Accounts(mail.Disabled{Log: env.Log}, true, accounts.Throttle{PerHour: 5})
	}))
	defer srv.Close()
	c := env.ClientFor(t, srv.URL)
	email := testenv.UniqueEmail("hourly")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	for i := 0; i < 4; i++ {
		c.Post("/auth/resend", map[string]any{"email": email}, nil).Expect(t, 200, "")
	}
	r := c.Post("/auth/resend", map[string]any{"email": email}, nil).Expect(t, 429, "RATE_LIMITED")
	if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 3500 || s > 3600 {
		t.Fatalf("Retry-After %q, want about an hour", r.Header.Get("Retry-After"))
	}
}

func TestVerifyOTP_ConcurrentUseYieldsOneKey(t *testing.T) {
	c := env.Client(t)
	email := testenv.UniqueEmail("race")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	const n = 10
	statuses := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			statuses <- c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Status
		}()
	}
	wins := 0
	for i := 0; i < n; i++ {
		if <-statuses == 200 {
			wins++
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent verifications succeeded, want exactly 1", wins)
	}
}
