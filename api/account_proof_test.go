package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

// Tests of issue 11 items 1 (account pre-hijacking, email change without
// proof) and 4 (account enumeration, durable mail).

// prodUser signs up through c (testing mode off) with the code mailed to box.
func prodUser(t *testing.T, c *testenv.Client, box *testenv.SMTPServer) testenv.User {
	t.Helper()
	email := testenv.UniqueEmail("prod")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	r := c.Post("/auth/verify-otp", map[string]any{"email": email, "code": lastCode(t, box, email)}, nil).Expect(t, 200, "")
	return testenv.User{ID: r.String("user_id"), Email: email, Key: r.String("api_key"), WalletID: r.String("wallet_id")}
}

// TestVerifyOTP_FirstProofOfTheAddressRevokesEarlierKeysAndPassword: a
// squatter who claimed an address through /register-user (testing mode) kept
// a working key, and a password, after the owner's first code sign-in.
func TestVerifyOTP_FirstProofOfTheAddressRevokesEarlierKeysAndPassword(t *testing.T) {
	c := env.Client(t)
	email := testenv.UniqueEmail("squatted")
	r := c.Post("/register-user", map[string]any{"email": email}, nil).Expect(t, 201, "")
	squatter := testenv.User{ID: r.String("user_id"), Email: email, Key: r.String("api_key")}
	c.Post("/auth/set-password", map[string]any{"password": "the squatter's password"}, squatter.Headers()).Expect(t, 200, "")
	if me := c.Get("/users/me", squatter.Headers()).Expect(t, 200, "").Object("user"); me["email_verified"] != false {
		t.Fatalf("legacy account verified without a code: %v", me)
	}

	// The owner signs in with a code sent to the address.
	c.Post("/auth/login", map[string]any{"email": email}, nil).Expect(t, 200, "")
	v := c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 200, "")
	owner := testenv.User{ID: v.String("user_id"), Email: email, Key: v.String("api_key")}

	c.Get("/users/me", squatter.Headers()).Expect(t, 401, "UNAUTHORIZED")
	c.Post("/auth/login", map[string]any{"email": email, "password": "the squatter's password"}, nil).Expect(t, 401, "UNAUTHORIZED")
	me := c.Get("/users/me", owner.Headers()).Expect(t, 200, "").Object("user")
	if me["email_verified"] != true || me["has_password"] != false {
		t.Fatalf("after the first proof: %v", me)
	}
	// Later sign-ins of a verified account keep the other devices' keys.
	c.Post("/auth/login", map[string]any{"email": email}, nil).Expect(t, 200, "")
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 200, "")
	c.Get("/users/me", owner.Headers()).Expect(t, 200, "")
}

// TestRegisterUser_NotFoundOutsideTestingMode: the legacy route handed out a
// key for any unproven address, and its 409 told who has an account.
func TestRegisterUser_NotFoundOutsideTestingMode(t *testing.T) {
	c, box := productionAPI(t)
	taken := prodUser(t, c, box)
	fresh := testenv.UniqueEmail("legacy")
	a := c.Post("/register-user", map[string]any{"email": fresh}, nil).Expect(t, 404, "NOT_FOUND")
	b := c.Post("/register-user", map[string]any{"email": taken.Email}, nil).Expect(t, 404, "NOT_FOUND")
	u := c.Post("/register-user-nonexistent-route", map[string]any{"email": fresh}, nil).Expect(t, 404, "NOT_FOUND")
	if string(a.Raw) != string(b.Raw) || string(a.Raw) != string(u.Raw) {
		t.Fatalf("answers differ: %s / %s / %s", a.Raw, b.Raw, u.Raw)
	}
	if _, err := dbgen.New(env.Pool).GetUserByEmail(context.Background(), fresh); err == nil {
		t.Fatal("the refused legacy registration created an account")
	}
}

// TestEmailChange_TakesEffectOnlyWithTheCodeSentToTheNewAddress: PATCH
// /users/me changed the address without any proof and kept email_verified.
func TestEmailChange_TakesEffectOnlyWithTheCodeSentToTheNewAddress(t *testing.T) {
	// No 30 s spacing: the taken address just got its sign-up code.
	c, box := env.ClientFor(t, productionServer(t, testenv.TestThrottle)), env.SMTP
	u, other := prodUser(t, c, box), prodUser(t, c, box)
	fresh := testenv.UniqueEmail("moved")

	e := c.Do(http.MethodPatch, "/users/me", map[string]any{"email": fresh}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	if msg := e.Body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "/users/me/email") {
		t.Fatalf("the refusal does not point to the new route: %s", msg)
	}
	c.Do(http.MethodPatch, "/users/me", map[string]any{"email": strings.ToUpper(u.Email)}, u.Headers()).Expect(t, 200, "")

	// A taken address answers exactly like a free one, and gets no code.
	a := c.Post("/users/me/email", map[string]any{"email": other.Email}, u.Headers()).Expect(t, 200, "")
	b := c.Post("/users/me/email", map[string]any{"email": fresh}, u.Headers()).Expect(t, 200, "")
	if string(a.Raw) != string(b.Raw) {
		t.Fatalf("taken and free addresses answer differently: %s / %s", a.Raw, b.Raw)
	}
	if n := queuedMails(t, other.Email); n != 1 { // its own sign-up code only
		t.Fatalf("%d messages to the taken address, want only its sign-up code", n)
	}
	c.Post("/users/me/email/confirm", map[string]any{"email": other.Email, "code": "123456"}, u.Headers()).Expect(t, 401, "UNAUTHORIZED")
	c.Post("/users/me/email", map[string]any{"email": u.Email}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")

	code := lastCode(t, box, fresh)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	c.Post("/users/me/email/confirm", map[string]any{"email": fresh, "code": wrong}, u.Headers()).Expect(t, 401, "UNAUTHORIZED")
	// Another user can't use the code of u's pending change.
	c.Post("/users/me/email/confirm", map[string]any{"email": fresh, "code": code}, other.Headers()).Expect(t, 401, "UNAUTHORIZED")
	if me := c.Get("/users/me", u.Headers()).Expect(t, 200, "").Object("user"); me["email"] != u.Email {
		t.Fatalf("the email changed before the confirmation: %v", me)
	}
	r := c.Post("/users/me/email/confirm", map[string]any{"email": fresh, "code": code}, u.Headers()).Expect(t, 200, "")
	if me := r.Object("user"); me["email"] != fresh || me["email_verified"] != true {
		t.Fatalf("after confirmation: %v", me)
	}
	c.Post("/users/me/email/confirm", map[string]any{"email": fresh, "code": code}, u.Headers()).Expect(t, 401, "UNAUTHORIZED")

	// The old address is told; the new one signs in, the old one no longer does.
	notice := mailsTo(t, box, u.Email, 2)[1]
	if !strings.Contains(notice.Body, fresh) || !strings.Contains(notice.Msg.Header.Get("Subject"), "changed") {
		t.Fatalf("notice to the old address: %q", notice.Body)
	}
	moved := testenv.User{ID: u.ID, Email: fresh, Key: u.Key}
	if got := len(box.To(fresh)); got != 1 {
		t.Fatalf("%d mails to the new address before sign-in, want 1", got)
	}
	c.Get("/users/me", moved.Headers()).Expect(t, 200, "")
	if n := queuedMails(t, u.Email); n != 2 {
		t.Fatalf("%d messages to the old address, want the sign-up code and the notice", n)
	}
}

// TestResetPassword_RevokesEveryMasterKeyAndSaysSo: a reset used to leave
// every key valid, so whoever held one kept the account.
func TestResetPassword_RevokesEveryMasterKeyAndSaysSo(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	c.Post("/auth/login", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	second := c.Post("/auth/verify-otp", map[string]any{"email": u.Email, "code": "0000"}, nil).Expect(t, 200, "")
	other := testenv.User{ID: u.ID, Key: second.String("api_key")}

	c.Post("/auth/forgot-password", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	r := c.Post("/auth/reset-password", map[string]any{"email": u.Email, "code": "0000", "new_password": "a brand new password"}, nil).
		Expect(t, 200, "")
	if n, _ := r.Body["revoked_master_keys"].(float64); n != 2 {
		t.Fatalf("revoked_master_keys %v, want 2: %s", r.Body["revoked_master_keys"], r.Raw)
	}
	c.Get("/users/me", u.Headers()).Expect(t, 401, "UNAUTHORIZED")
	c.Get("/users/me", other.Headers()).Expect(t, 401, "UNAUTHORIZED")
	l := c.Post("/auth/login", map[string]any{"email": u.Email, "password": "a brand new password"}, nil).Expect(t, 200, "")
	c.Get("/users/me", testenv.User{ID: u.ID, Key: l.String("api_key")}.Headers()).Expect(t, 200, "")
}

// slowMail is how long the mail server takes to accept a message in the
// timing test; every answer must come well before it.
const slowMail = 4 * time.Second

// TestCodeRoutes_SameAnswerAndTimeWhetherOrNotTheAccountExists: the code
// routes mailed synchronously for existing accounts only, so a slow answer
// told who has an account. Mail now leaves through SendMailWorkflow.
func TestCodeRoutes_SameAnswerAndTimeWhetherOrNotTheAccountExists(t *testing.T) {
	srv := productionServer(t, testenv.TestThrottle) // no 30 s spacing: four codes to one address
	c, box := env.ClientFor(t, srv), env.SMTP
	known := prodUser(t, c, box)
	box.Delay(known.Email, slowMail)
	routes := []string{"/auth/login", "/auth/resend", "/auth/forgot-password", "/auth/rotate-key"}
	for _, path := range routes {
		start := time.Now()
		k := c.Post(path, map[string]any{"email": known.Email}, nil).Expect(t, 200, "")
		tookKnown := time.Since(start)
		start = time.Now()
		g := c.Post(path, map[string]any{"email": testenv.UniqueEmail("ghost")}, nil).Expect(t, 200, "")
		tookGhost := time.Since(start)
		if string(k.Raw) != string(g.Raw) {
			t.Fatalf("%s: known and unknown emails answer differently: %s / %s", path, k.Raw, g.Raw)
		}
		if tookKnown > slowMail/2 || tookGhost > slowMail/2 {
			t.Fatalf("%s took %s (known) and %s (unknown) with a mail server taking %s: the answer waits on mail",
				path, tookKnown, tookGhost, slowMail)
		}
	}
	// Every code still arrives, from the workflow.
	mailsTo(t, box, known.Email, 1+len(routes))
}

// TestSendMail_RetriedUntilTheServerAcceptsWithoutTheCodeInHistory: a mail
// server refusing a code's mail lost it for good (the error was only logged).
func TestSendMail_RetriedUntilTheServerAcceptsWithoutTheCodeInHistory(t *testing.T) {
	c, box := productionAPI(t)
	email := testenv.UniqueEmail("retried")
	box.Refuse(email, 2)
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	code := lastCode(t, box, email)
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": code}, nil).Expect(t, 200, "")

	ctx := context.Background()
	q := dbgen.New(env.Pool)
	var id uuid.UUID
	if err := env.Pool.QueryRow(ctx, "SELECT id FROM mail_messages WHERE recipient = $1", email).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var msg dbgen.MailMessage
	testenv.Eventually(t, mailWait, "message marked sent", func() bool {
		var err error
		msg, err = q.GetMailMessage(ctx, id)
		return err == nil && msg.Status == "sent"
	})
	if msg.Attempts != 3 || msg.BodySealed != nil {
		t.Fatalf("message after two refusals: attempts %d, body kept: %v", msg.Attempts, msg.BodySealed != nil)
	}
	// The workflow is visible by its id, completed, and its history never holds the code.
	wid := workflows.SendMailWorkflowID(id.String())
	var result workflows.SendMailResult
	if err := env.Temporal.GetWorkflow(ctx, wid, "").Get(ctx, &result); err != nil || result.Status != workflows.MailSent {
		t.Fatalf("%s: %+v, %v", wid, result, err)
	}
	iter := env.Temporal.GetWorkflowHistory(ctx, wid, "", false, 0)
	events := 0
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		if strings.Contains(ev.String(), code) || strings.Contains(ev.String(), email) {
			t.Fatalf("history event %d carries the code or the address: %s", ev.EventId, ev.String())
		}
	}
	if events == 0 {
		t.Fatal("empty history")
	}
}
