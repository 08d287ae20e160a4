package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/auth"
	"github.com/officex/officex/internal/testenv"
)

// newTestClock is a testClock (uploads_test.go) at now: a lockout ends when
// the test says so, not 15 minutes later.
func newTestClock() *testClock { return &testClock{at: time.Now()} }

func (c *testClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// randomPeer is a socket address no other test uses, so limits counted per
// client address don't mix between tests sharing the database.
func randomPeer() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
}

// limitsAPI is the API with testing mode off (random codes mailed to box),
// the given throttle and clock, and trustedHeader as
// OFFICEX_TRUSTED_PROXY_HEADER ("" : unset). Its requests come from peer.
type limitsAPI struct {
	*testenv.Client
	box  *testenv.SMTPServer
	url  string
	peer string
}

func newLimitsAPI(t *testing.T, throttle accounts.Throttle, clock *testClock, trustedHeader string) *limitsAPI {
	t.Helper()
	h := env.NewHandler(func(d *api.Deps) {
		d.Config.TestingMode = false
		d.Config.TrustedProxyHeader = trustedHeader
		d.Accounts = env.Accounts(false, throttle).UseClock(clock.Now)
	})
	srv, peer := serveFromOwnPeer(t, h)
	resetGlobalVerifyCount(t)
	return &limitsAPI{Client: env.ClientFor(t, srv.URL), box: env.SMTP, url: srv.URL + "/v1", peer: peer}
}

// serveFromOwnPeer serves h as if every request came from one socket
// address of its own (see randomPeer).
func serveFromOwnPeer(t *testing.T, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	peer := randomPeer()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = peer + ":40000"
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, peer
}

// resetGlobalVerifyCount clears the one global counter of code checks
// before and after the test, so tests with a fixed clock start from zero.
func resetGlobalVerifyCount(t *testing.T) {
	t.Helper()
	del := func() {
		if _, err := env.Pool.Exec(context.Background(), `DELETE FROM auth_guards WHERE key = 'verify'`); err != nil {
			t.Fatal(err)
		}
	}
	del()
	t.Cleanup(del)
}

// codesTo is every code mailed to an address, oldest first, once every mail
// queued for it (SendMailWorkflow delivers them) has arrived.
func codesTo(t *testing.T, box *testenv.SMTPServer, to string) []string {
	t.Helper()
	var out []string
	for _, m := range mailsTo(t, box, to, queuedMails(t, to)) {
		if len(m.To) == 1 && m.To[0] == to {
			if code := sixDigits.FindString(m.Body); code != "" {
				out = append(out, code)
			}
		}
	}
	return out
}

func from(addr string) testenv.Headers { return testenv.Headers{"X-Forwarded-For": addr} }

func expectRetryAfter(t *testing.T, r testenv.Response, lo, hi int) {
	t.Helper()
	s, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || s < lo || s > hi {
		t.Fatalf("Retry-After %q, want %d-%d s", r.Header.Get("Retry-After"), lo, hi)
	}
}

// passwordUser is an account with a password, made on the package's API.
func passwordUser(t *testing.T, password string) testenv.User {
	t.Helper()
	c := env.Client(t)
	u := c.NewUser()
	c.Post("/auth/set-password", map[string]any{"password": password}, u.Headers()).Expect(t, 200, "")
	return u
}

func TestPasswordLogin_ThirtyWrongThenRightIsRefusedUntilLockoutEnds(t *testing.T) {
	clock := newTestClock()
	c := newLimitsAPI(t, accounts.DefaultThrottle, clock, "")
	const password = "correct horse battery"
	u := passwordUser(t, password)
	ghost := testenv.UniqueEmail("ghost")
	login := func(email, pw string) testenv.Response {
		return c.Post("/auth/login", map[string]any{"email": email, "password": pw}, nil)
	}
	for i := 1; i <= 30; i++ {
		r, g := login(u.Email, "wrong password "+strconv.Itoa(i)), login(ghost, "wrong password")
		if i < accounts.DefaultThrottle.PasswordFailures+1 {
			r.Expect(t, 401, "UNAUTHORIZED")
			g.Expect(t, 401, "UNAUTHORIZED")
			continue
		}
		// The 11th attempt and after: refused without checking, the same
		// for an account and for an unknown email.
		r.Expect(t, 429, "RATE_LIMITED")
		g.Expect(t, 429, "RATE_LIMITED")
		expectRetryAfter(t, r, 899, 900)
		if r.Header.Get("Retry-After") != g.Header.Get("Retry-After") || r.Code() != g.Code() {
			t.Fatalf("account and unknown email answer apart: %s / %s", r.Raw, g.Raw)
		}
	}
	login(u.Email, password).Expect(t, 429, "RATE_LIMITED")
	clock.Advance(14 * time.Minute)
	login(u.Email, password).Expect(t, 429, "RATE_LIMITED")
	clock.Advance(time.Minute)

	// The lockout is over; 10 more failures lock it again, twice as long.
	for i := 0; i < accounts.DefaultThrottle.PasswordFailures; i++ {
		login(u.Email, "wrong again").Expect(t, 401, "UNAUTHORIZED")
	}
	r := login(u.Email, password).Expect(t, 429, "RATE_LIMITED")
	expectRetryAfter(t, r, 1799, 1800)
	clock.Advance(30 * time.Minute)
	if login(u.Email, password).Expect(t, 200, "").String("api_key") == "" {
		t.Fatal("no key after the lockout ended")
	}
}

func TestVerifyOTP_TenThousandGuessesFromRotatingForwardedForNeverSucceed(t *testing.T) {
	c := newLimitsAPI(t, accounts.DefaultThrottle, newTestClock(), "") // X-Forwarded-For not trusted
	email := testenv.UniqueEmail("guessed")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	code := lastCode(t, c.box, email)
	want, _ := strconv.Atoi(code)

	// An attacker walks the code space from ever new addresses; the right
	// code is among the guesses, after the first MaxOTPAttempts.
	const guesses = 10_000
	statuses := map[int]int{}
	start := time.Now()
	for i := 0; i < guesses; i++ {
		guess := fmt.Sprintf("%06d", (want+1+i)%1_000_000)
		if i == 100 || i == guesses-1 {
			guess = code
		}
		body, _ := json.Marshal(map[string]string{"email": email, "code": guess})
		req, _ := http.NewRequest(http.MethodPost, c.url+"/auth/verify-otp", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("guess %d (%s) signed in", i, guess)
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d guesses in %s (%.0f/s): %v", guesses, elapsed.Round(time.Millisecond), guesses/elapsed.Seconds(), statuses)
	// The client's budget of failures is spent: the rest are 429.
	if statuses[401] != accounts.DefaultThrottle.ClientFailures || statuses[429] != guesses-accounts.DefaultThrottle.ClientFailures {
		t.Fatalf("statuses %v, want %d x 401 then 429", statuses, accounts.DefaultThrottle.ClientFailures)
	}
	// The code died after MaxOTPAttempts wrong guesses: no live code is left.
	var live int
	if err := env.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM otp_codes WHERE email = $1 AND consumed_at IS NULL`, email).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 0 {
		t.Fatalf("%d live codes after the guesses", live)
	}
	// From a fresh client, the right code is still refused.
	other := newLimitsAPI(t, accounts.DefaultThrottle, newTestClock(), "")
	other.Post("/auth/verify-otp", map[string]any{"email": email, "code": code}, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestVerifyOTP_TrustedProxyHeaderCountsClientsApartUnderAGlobalCap(t *testing.T) {
	clock := newTestClock()
	limits := accounts.Throttle{ClientFailures: 3, ClientWindow: 15 * time.Minute, VerifyPerMinute: 10}
	c := newLimitsAPI(t, limits, clock, "X-Forwarded-For")
	email := testenv.UniqueEmail("proxied")
	verify := func(h testenv.Headers) testenv.Response {
		return c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "999999"}, h)
	}
	for i := 0; i < 3; i++ {
		verify(from("203.0.113.7")).Expect(t, 401, "UNAUTHORIZED")
	}
	r := verify(from("203.0.113.7")).Expect(t, 429, "RATE_LIMITED")
	expectRetryAfter(t, r, 1, 900)
	// A value the caller prepends does not help: the proxy's (last) one counts.
	verify(from("192.0.2.1, 203.0.113.7")).Expect(t, 429, "RATE_LIMITED")
	// Another client has its own budget.
	verify(from("203.0.113.8")).Expect(t, 401, "UNAUTHORIZED")

	// Spread over addresses, code checks still meet the global cap: 4 were
	// counted above (refusals of a spent client are not checks).
	for i := 5; i <= limits.VerifyPerMinute; i++ {
		verify(from(fmt.Sprintf("203.0.113.%d", 100+i))).Expect(t, 401, "UNAUTHORIZED")
	}
	r = verify(from("203.0.113.200")).Expect(t, 429, "RATE_LIMITED")
	expectRetryAfter(t, r, 1, 60)
	clock.Advance(time.Minute)
	verify(from("203.0.113.201")).Expect(t, 401, "UNAUTHORIZED")
}

func TestOTP_DailyCapPerEmailAndHourlyCapPerClient(t *testing.T) {
	clock := newTestClock()
	c := newLimitsAPI(t, accounts.Throttle{PerDay: 3, ClientPerHour: 4}, clock, "X-Forwarded-For")
	email, ghost := testenv.UniqueEmail("daily"), testenv.UniqueEmail("ghost")
	c.Post("/auth/register", map[string]any{"email": email}, from("203.0.113.1")).Expect(t, 200, "")
	for i := 2; i <= 3; i++ {
		c.Post("/auth/resend", map[string]any{"email": email}, from(fmt.Sprintf("203.0.113.%d", i))).Expect(t, 200, "")
		c.Post("/auth/resend", map[string]any{"email": ghost}, from(fmt.Sprintf("203.0.113.%d", i))).Expect(t, 200, "")
	}
	c.Post("/auth/resend", map[string]any{"email": ghost}, from("203.0.113.1")).Expect(t, 200, "")
	// The fourth code of the day is refused, whoever asks, known or not.
	r := c.Post("/auth/resend", map[string]any{"email": email}, from("203.0.113.4")).Expect(t, 429, "RATE_LIMITED")
	expectRetryAfter(t, r, 86399, 86400)
	c.Post("/auth/resend", map[string]any{"email": ghost}, from("203.0.113.4")).Expect(t, 429, "RATE_LIMITED")
	if n := len(codesTo(t, c.box, email)); n != 3 {
		t.Fatalf("%d codes mailed, want 3", n)
	}

	// One client asks for codes for many emails: the fifth in an hour is refused.
	for i := 0; i < 4; i++ {
		c.Post("/auth/resend", map[string]any{"email": testenv.UniqueEmail("spray")}, from("203.0.113.9")).Expect(t, 200, "")
	}
	r = c.Post("/auth/resend", map[string]any{"email": testenv.UniqueEmail("spray")}, from("203.0.113.9")).Expect(t, 429, "RATE_LIMITED")
	expectRetryAfter(t, r, 3599, 3600)

	clock.Advance(24 * time.Hour)
	c.Post("/auth/resend", map[string]any{"email": email}, from("203.0.113.4")).Expect(t, 200, "")
}

func TestOTP_SecondRequestMailsTheSameLiveCode(t *testing.T) {
	clock := newTestClock()
	c := newLimitsAPI(t, accounts.DefaultThrottle, clock, "X-Forwarded-For")
	email := testenv.UniqueEmail("same")
	c.Post("/auth/register", map[string]any{"email": email}, from("203.0.113.1")).Expect(t, 200, "")
	c.Post("/auth/resend", map[string]any{"email": email}, from("203.0.113.2")).Expect(t, 200, "")
	c.Post("/auth/login", map[string]any{"email": email}, from("203.0.113.3")).Expect(t, 200, "")
	codes := codesTo(t, c.box, email)
	if len(codes) != 3 || codes[1] != codes[0] || codes[2] != codes[0] {
		t.Fatalf("codes mailed %v, want the same code three times", codes)
	}
	// Close to its end (less than ResendMinRemaining left) a code is replaced.
	clock.Advance(accounts.OTPValidity - accounts.ResendMinRemaining + time.Second)
	c.Post("/auth/resend", map[string]any{"email": email}, from("203.0.113.4")).Expect(t, 200, "")
	codes = codesTo(t, c.box, email)
	fresh := codes[len(codes)-1]
	if fresh != codes[0] {
		c.Post("/auth/verify-otp", map[string]any{"email": email, "code": codes[0]}, from("203.0.113.4")).Expect(t, 401, "UNAUTHORIZED")
	}
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": fresh}, from("203.0.113.4")).Expect(t, 200, "")
}

func TestOTP_SendBudgetIsCountedPerRequestingClient(t *testing.T) {
	clock := newTestClock()
	c := newLimitsAPI(t, accounts.DefaultThrottle, clock, "X-Forwarded-For")
	owner := env.Client(t).NewUser()
	attacker, home := from("198.51.100.66"), from("203.0.113.10")
	for i := 0; i < accounts.DefaultThrottle.PerHour; i++ {
		c.Post("/auth/login", map[string]any{"email": owner.Email}, attacker).Expect(t, 200, "")
		clock.Advance(accounts.DefaultThrottle.MinInterval)
	}
	c.Post("/auth/login", map[string]any{"email": owner.Email}, attacker).Expect(t, 429, "RATE_LIMITED")
	// The owner, from another address, still gets a code, and it works.
	c.Post("/auth/login", map[string]any{"email": owner.Email}, home).Expect(t, 200, "")
	codes := codesTo(t, c.box, owner.Email)
	if len(codes) != accounts.DefaultThrottle.PerHour+1 {
		t.Fatalf("%d codes mailed, want %d", len(codes), accounts.DefaultThrottle.PerHour+1)
	}
	c.Post("/auth/verify-otp", map[string]any{"email": owner.Email, "code": codes[len(codes)-1]}, home).Expect(t, 200, "")
}

func TestRotateKey_SignedInOwnerAlwaysGetsACode(t *testing.T) {
	clock := newTestClock()
	c := newLimitsAPI(t, accounts.DefaultThrottle, clock, "") // one client address for all
	owner := env.Client(t).NewUser()
	body := map[string]any{"email": owner.Email}
	for i := 0; i < accounts.DefaultThrottle.PerHour; i++ {
		c.Post("/auth/rotate-key", body, nil).Expect(t, 200, "")
		clock.Advance(accounts.DefaultThrottle.MinInterval)
	}
	c.Post("/auth/rotate-key", body, nil).Expect(t, 429, "RATE_LIMITED")
	// Master-key headers that don't check out are refused, not ignored.
	bad := owner.Headers()
	bad["x-officex-master-key"] = "ofx_mk_wrong"
	c.Post("/auth/rotate-key", body, bad).Expect(t, 401, "UNAUTHORIZED")
	// The signed-in owner asks from the same address: the code goes out.
	c.Post("/auth/rotate-key", body, owner.Headers()).Expect(t, 200, "")
	codes := codesTo(t, c.box, owner.Email)
	if len(codes) != accounts.DefaultThrottle.PerHour+1 {
		t.Fatalf("%d codes mailed, want %d", len(codes), accounts.DefaultThrottle.PerHour+1)
	}
	r := c.Post("/auth/confirm-rotate-key", map[string]any{"email": owner.Email, "code": codes[len(codes)-1]}, nil).Expect(t, 200, "")
	if r.String("api_key") == "" || r.String("api_key") == owner.Key {
		t.Fatalf("no new key: %s", r.Raw)
	}
}

func TestOTP_StoredAsKeyedHMACAndSealedNotBareSHA256(t *testing.T) {
	c := newLimitsAPI(t, accounts.DefaultThrottle, newTestClock(), "")
	email := testenv.UniqueEmail("atrest")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	code := lastCode(t, c.box, email)
	var hash, sealed []byte
	if err := env.Pool.QueryRow(context.Background(),
		`SELECT code_hash, code_sealed FROM otp_codes WHERE email = $1 AND consumed_at IS NULL`, email).Scan(&hash, &sealed); err != nil {
		t.Fatal(err)
	}
	// A dump alone can't be checked against the million codes: the bare
	// SHA-256 of earlier versions is not what is stored.
	bare := sha256.Sum256([]byte(email + "\x00login\x00" + code))
	if bytes.Equal(hash, bare[:]) {
		t.Fatal("the code is stored as its bare SHA-256")
	}
	key := auth.DeriveKey(env.Config.EncryptionKey, auth.OTPKeyLabel)
	if !bytes.Equal(hash, auth.OTPMAC(key, email, "login", code)) {
		t.Fatal("the stored hash is not the HMAC under the derived code key")
	}
	if len(sealed) == 0 || bytes.Contains(sealed, []byte(code)) {
		t.Fatalf("the live code is not sealed: %x", sealed)
	}
}

// TestPrune_DeletesOnlyCountersNoLimitReads: what unauthenticated callers
// make us store (guards per email and client, code sends) is deleted once
// no limit reads it, and what a limit still reads is kept.
func TestPrune_DeletesOnlyCountersNoLimitReads(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	tag := randomPeer()
	old, fresh := now.Add(-accounts.GuardRetention-time.Hour), now.Add(-time.Hour)
	guards := []struct {
		key          string
		window       time.Time
		lockedUntil  *time.Time
		shouldRemain bool
	}{
		{"prune-old-" + tag, old, nil, false},
		{"prune-old-locked-" + tag, old, &old, false},
		{"prune-fresh-" + tag, fresh, nil, true},
		{"prune-old-window-recent-lock-" + tag, old, &fresh, true},
	}
	for _, g := range guards {
		if _, err := env.Pool.Exec(ctx, `INSERT INTO auth_guards (key, failures, window_start, lockouts, locked_until) VALUES ($1, 3, $2, 1, $3)`,
			g.key, g.window, g.lockedUntil); err != nil {
			t.Fatal(err)
		}
	}
	email := testenv.UniqueEmail("prune")
	for _, at := range []time.Time{now.Add(-accounts.SendRetention - time.Minute), now.Add(-23 * time.Hour)} {
		if _, err := env.Pool.Exec(ctx, `INSERT INTO otp_sends (email, client, sent_at) VALUES ($1, $2, $3)`, email, tag, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := accounts.Prune(ctx, env.Pool, now); err != nil {
		t.Fatal(err)
	}
	for _, g := range guards {
		var n int
		if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM auth_guards WHERE key = $1`, g.key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (n == 1) != g.shouldRemain {
			t.Errorf("guard %s: %d rows after pruning, should remain %v", g.key, n, g.shouldRemain)
		}
	}
	var sends int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM otp_sends WHERE email = $1`, email).Scan(&sends); err != nil {
		t.Fatal(err)
	}
	if sends != 1 {
		t.Fatalf("%d code sends left, want the one the daily cap still reads", sends)
	}
}
