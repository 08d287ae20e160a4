package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/officex/officex/api"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/testenv"
)

// productionAPI serves the API with testing mode off: random codes queued as
// mail that SendMailWorkflow delivers to the package's real SMTP server
// (env.SMTP), and the production throttle.
func productionAPI(t *testing.T) (*testenv.Client, *testenv.SMTPServer) {
	t.Helper()
	return env.ClientFor(t, productionServer(t, accounts.DefaultThrottle)), env.SMTP
}

// productionServer serves the API with testing mode off and throttle, from a
// client address of its own (the production limits count per client), and
// returns its URL.
func productionServer(t *testing.T, throttle accounts.Throttle) string {
	t.Helper()
	srv, _ := serveFromOwnPeer(t, env.NewHandler(func(d *api.Deps) {
		d.Config.TestingMode = false
		d.Accounts = env.NewProductionAccounts(throttle)
	}))
	return srv.URL
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// mailWait bounds how long a queued mail takes to arrive (relay, workflow, SMTP).
const mailWait = 15 * time.Second

// mailsTo waits until n messages have arrived for to and returns them.
func mailsTo(t *testing.T, box *testenv.SMTPServer, to string, n int) []testenv.Mail {
	t.Helper()
	testenv.Eventually(t, mailWait, fmt.Sprintf("%d mails to %s", n, to), func() bool { return len(box.To(to)) >= n })
	return box.To(to)
}

// lastCode waits until every mail queued for to (at least one) arrived and
// returns the code in the newest.
func lastCode(t *testing.T, box *testenv.SMTPServer, to string) string {
	t.Helper()
	msgs := mailsTo(t, box, to, max(1, queuedMails(t, to)))
	if code := sixDigits.FindString(msgs[len(msgs)-1].Body); code != "" {
		return code
	}
	t.Fatalf("no code in the mail to %s", to)
	return ""
}

// queuedMails counts the messages written for to: what the API decided to
// send, readable as soon as the request returned.
func queuedMails(t *testing.T, to string) int {
	t.Helper()
	n, err := dbgen.New(env.Pool).CountMailTo(context.Background(), to)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestOTP_RealCodeIsMailedAndWorksOnce(t *testing.T) {
	c, box := productionAPI(t)
	email := testenv.UniqueEmail("mailed")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	code := lastCode(t, box, email)
	if subject := box.To(email)[0].Msg.Header.Get("Subject"); !strings.Contains(subject, "OfficeX") {
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
	ghosts := []string{testenv.UniqueEmail("ghost"), testenv.UniqueEmail("ghost")}
	c.Post("/auth/forgot-password", map[string]any{"email": ghosts[0]}, nil).Expect(t, 200, "")
	c.Post("/auth/resend", map[string]any{"email": ghosts[1]}, nil).Expect(t, 200, "")
	for _, g := range ghosts {
		if n := queuedMails(t, g) + len(box.To(g)); n != 0 {
			t.Fatalf("%d messages for unknown email %s", n, g)
		}
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
	other := testenv.UniqueEmail("other")
	c.Post("/auth/register", map[string]any{"email": other}, nil).Expect(t, 200, "")
	if n, m, g := queuedMails(t, email), queuedMails(t, other), queuedMails(t, ghost); n != 1 || m != 1 || g != 0 {
		t.Fatalf("messages queued: %d, %d and %d to the unknown email, want 1, 1, 0", n, m, g)
	}
	// The first code still works after the refused resends.
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": lastCode(t, box, email)}, nil).Expect(t, 200, "")
}

func TestOTP_HourlyCapPerEmail(t *testing.T) {
	srv := httptest.NewServer(env.NewHandler(func(d *api.Deps) {
		d.Accounts = env.Accounts(true, accounts.Throttle{PerHour: 5})
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
			statuses <- c.Concurrent().Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Status
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
