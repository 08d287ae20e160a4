package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/officex/officex/internal/testenv"
)

func TestQuickStart_RegisterVerifyAndReadProfile(t *testing.T) {
	c := env.Client(t)
	email := testenv.UniqueEmail("quick")
	r := c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	if r.String("message") == "" {
		t.Fatalf("register answered no message: %s", r.Raw)
	}
	v := c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 200, "")
	key, userID, walletID := v.String("api_key"), v.String("user_id"), v.String("wallet_id")
	if !strings.HasPrefix(key, "ofx_mk_") || userID == "" || walletID == "" {
		t.Fatalf("verify-otp answer incomplete: %s", v.Raw)
	}
	me := c.Get("/users/me", testenv.Headers{"X-OFFICEX-USER-ID": userID, "x-officex-master-key": key}).Expect(t, 200, "")
	u := me.Object("user")
	if u["user_id"] != userID || u["email"] != email || u["wallet_id"] != walletID || u["status"] != "active" {
		t.Fatalf("profile %v does not match the sign-up", u)
	}
	w := c.Get("/admin/users/"+userID+"/wallets", testenv.AdminHeaders()).Expect(t, 200, "")
	wallets := w.Body["wallets"].([]any)
	if len(wallets) != 1 {
		t.Fatalf("want one wallet, got %s", w.Raw)
	}
	wl := wallets[0].(map[string]any)
	if wl["wallet_id"] != walletID || wl["owner_type"] != "user" || wl["available"] != 0.0 || wl["reserved"] != 0.0 {
		t.Fatalf("new wallet is not an empty user wallet: %v", wl)
	}
}

func TestMasterKeyAuth_RefusesMissingAndWrongCredentials(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	cases := map[string]testenv.Headers{
		"no headers":      nil,
		"no key":          {"x-officex-user-id": u.ID},
		"no user":         {"x-officex-master-key": u.Key},
		"wrong key":       {"x-officex-user-id": u.ID, "x-officex-master-key": u.Key + "x"},
		"malformed user":  {"x-officex-user-id": "not-a-uuid", "x-officex-master-key": u.Key},
		"other user's id": {"x-officex-user-id": c.NewUser().ID, "x-officex-master-key": u.Key},
		"huge key":        {"x-officex-user-id": u.ID, "x-officex-master-key": strings.Repeat("k", 5000)},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			c.Get("/users/me", h).Expect(t, 401, "UNAUTHORIZED")
		})
	}
}

func TestVerifyOTP_CodeIsSingleUse(t *testing.T) {
	c := env.Client(t)
	email := testenv.UniqueEmail("reuse")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 200, "")
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestVerifyOTP_FiveWrongTriesKillTheCode(t *testing.T) {
	c := env.Client(t)
	email := testenv.UniqueEmail("brute")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	for i := 0; i < 4; i++ {
		c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "1234"}, nil).Expect(t, 401, "UNAUTHORIZED")
	}
	// Four wrong tries leave the code alive...
	c.Post("/auth/resend", map[string]any{"email": email}, nil).Expect(t, 200, "")
	for i := 0; i < 5; i++ {
		c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "9999"}, nil).Expect(t, 401, "UNAUTHORIZED")
	}
	// ...the fifth kills it: even the right code is refused now.
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestVerifyOTP_FourWrongTriesThenRightCodeWorks(t *testing.T) {
	c := env.Client(t)
	email := testenv.UniqueEmail("four")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	for i := 0; i < 4; i++ {
		c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "1111"}, nil).Expect(t, 401, "UNAUTHORIZED")
	}
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 200, "")
}

func TestVerifyOTP_ExpiredCodeIsRefused(t *testing.T) {
	c := env.Client(t)
	email := testenv.UniqueEmail("expired")
	c.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	if _, err := env.Pool.Exec(context.Background(),
		"UPDATE otp_codes SET expires_at = now() - interval '1 second' WHERE email = $1", email); err != nil {
		t.Fatal(err)
	}
	c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestVerifyOTP_UnknownEmailIsRefused(t *testing.T) {
	c := env.Client(t)
	c.Post("/auth/verify-otp", map[string]any{"email": testenv.UniqueEmail("nobody"), "code": "0000"}, nil).
		Expect(t, 401, "UNAUTHORIZED")
}

func TestCodeRequests_AnswerUnknownEmailsLikeKnownOnes(t *testing.T) {
	c := env.Client(t)
	known := c.NewUser().Email
	unknown := testenv.UniqueEmail("ghost")
	for _, path := range []string{"/auth/resend", "/auth/forgot-password", "/auth/rotate-key", "/auth/login", "/auth/register"} {
		a := c.Post(path, map[string]any{"email": known}, nil).Expect(t, 200, "")
		b := c.Post(path, map[string]any{"email": unknown}, nil).Expect(t, 200, "")
		if string(a.Raw) != string(b.Raw) {
			t.Errorf("%s answers differ for known and unknown emails:\n%s\n%s", path, a.Raw, b.Raw)
		}
	}
	// A wrong password answers the same for both too.
	a := c.Post("/auth/login", map[string]any{"email": known, "password": "wrong-password-1"}, nil).Expect(t, 401, "UNAUTHORIZED")
	b := c.Post("/auth/login", map[string]any{"email": unknown, "password": "wrong-password-1"}, nil).Expect(t, 401, "UNAUTHORIZED")
	if string(a.Raw) != string(b.Raw) {
		t.Errorf("login answers differ:\n%s\n%s", a.Raw, b.Raw)
	}
}

func TestPasswordLogin_IssuesAnotherKeyAndKeepsTheFirst(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	c.Post("/auth/set-password", map[string]any{"password": "short"}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/auth/set-password", map[string]any{"password": strings.Repeat("p", 129)}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/auth/set-password", map[string]any{"password": "correct horse battery"}, nil).Expect(t, 401, "UNAUTHORIZED")
	c.Post("/auth/set-password", map[string]any{"password": "correct horse battery"}, u.Headers()).Expect(t, 200, "")

	c.Post("/auth/login", map[string]any{"email": u.Email, "password": "wrong horse battery"}, nil).Expect(t, 401, "UNAUTHORIZED")
	r := c.Post("/auth/login", map[string]any{"email": strings.ToUpper(u.Email), "password": "correct horse battery"}, nil).Expect(t, 200, "")
	if r.String("user_id") != u.ID || r.String("api_key") == "" || r.String("api_key") == u.Key {
		t.Fatalf("login answer: %s", r.Raw)
	}
	second := u
	second.Key = r.String("api_key")
	c.Get("/users/me", u.Headers()).Expect(t, 200, "")
	c.Get("/users/me", second.Headers()).Expect(t, 200, "")
}

func TestPasswordlessLogin_SendsCodeThenVerifies(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	r := c.Post("/auth/login", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	if r.String("api_key") != "" {
		t.Fatalf("login without password must not answer a key: %s", r.Raw)
	}
	v := c.Post("/auth/verify-otp", map[string]any{"email": u.Email, "code": "0000"}, nil).Expect(t, 200, "")
	if v.String("user_id") != u.ID || v.String("wallet_id") != u.WalletID {
		t.Fatalf("verify-otp signed in someone else: %s", v.Raw)
	}
}

func TestResetPassword_WithEmailedCode(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	c.Post("/auth/reset-password", map[string]any{"email": u.Email, "code": "0000", "new_password": "a brand new password"}, nil).
		Expect(t, 401, "UNAUTHORIZED") // no reset code was asked for
	c.Post("/auth/forgot-password", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	c.Post("/auth/reset-password", map[string]any{"email": u.Email, "code": "0000", "new_password": "short"}, nil).
		Expect(t, 400, "INVALID_REQUEST")
	c.Post("/auth/reset-password", map[string]any{"email": u.Email, "code": "0000", "new_password": "a brand new password"}, nil).
		Expect(t, 200, "")
	c.Post("/auth/login", map[string]any{"email": u.Email, "password": "a brand new password"}, nil).Expect(t, 200, "")
	// A login code does not reset a password, and a reset code does not sign in.
	c.Post("/auth/forgot-password", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	c.Post("/auth/verify-otp", map[string]any{"email": u.Email, "code": "0000"}, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestConfirmRotateKey_RevokesEveryOldKey(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	second := u
	c.Post("/auth/login", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	second.Key = c.Post("/auth/verify-otp", map[string]any{"email": u.Email, "code": "0000"}, nil).Expect(t, 200, "").String("api_key")

	c.Post("/auth/rotate-key", map[string]any{"email": u.Email}, nil).Expect(t, 200, "")
	r := c.Post("/auth/confirm-rotate-key", map[string]any{"email": u.Email, "code": "0000"}, nil).Expect(t, 200, "")
	rotated := u
	rotated.Key = r.String("api_key")
	c.Get("/users/me", u.Headers()).Expect(t, 401, "UNAUTHORIZED")
	c.Get("/users/me", second.Headers()).Expect(t, 401, "UNAUTHORIZED")
	c.Get("/users/me", rotated.Headers()).Expect(t, 200, "")
}

func TestUsersMeRotateKey_ChosenKeyReplacesAll(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	for _, bad := range []any{"too-short", strings.Repeat("k", 257), strings.Repeat("k", 31), "has space " + strings.Repeat("k", 40), 42} {
		c.Post("/users/me/rotate-key", map[string]any{"new_master_key": bad}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Get("/users/me", u.Headers()).Expect(t, 200, "")       // nothing changed
	chosen := "my-own-master-key-" + strings.Repeat("x", 14) // exactly 32
	c.Post("/users/me/rotate-key", map[string]any{"new_master_key": chosen}, u.Headers()).Expect(t, 200, "")
	c.Get("/users/me", u.Headers()).Expect(t, 401, "UNAUTHORIZED")
	u.Key = chosen
	c.Get("/users/me", u.Headers()).Expect(t, 200, "")
	long := strings.Repeat("L", 256)
	c.Post("/users/me/rotate-key", map[string]any{"new_master_key": long}, u.Headers()).Expect(t, 200, "")
}

// TestPatchMe_ChangesNoEmail: the email changes only through
// POST /users/me/email (account_proof_test.go); PATCH refuses another
// address, taken or not, with the same answer.
func TestPatchMe_ChangesNoEmail(t *testing.T) {
	c := env.Client(t)
	u, other := c.NewUser(), c.NewUser()
	fresh := testenv.UniqueEmail("moved")
	a := c.Do(http.MethodPatch, "/users/me", map[string]any{"email": fresh}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	b := c.Do(http.MethodPatch, "/users/me", map[string]any{"email": other.Email}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	if string(a.Raw) != string(b.Raw) {
		t.Fatalf("free and taken addresses answer differently: %s / %s", a.Raw, b.Raw)
	}
	c.Do(http.MethodPatch, "/users/me", map[string]any{"email": u.Email}, u.Headers()).Expect(t, 200, "")
	c.Do(http.MethodPatch, "/users/me", map[string]any{"status": "suspended"}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, "/users/me", map[string]any{"wallet_id": other.WalletID}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	me := c.Get("/users/me", u.Headers()).Expect(t, 200, "").Object("user")
	if me["email"] != u.Email || me["status"] != "active" || me["wallet_id"] != u.WalletID {
		t.Fatalf("refused patches changed the profile: %v", me)
	}
}

func TestLegacyRegisterUser(t *testing.T) {
	c := env.Client(t)
	email := testenv.UniqueEmail("legacy")
	r := c.Post("/register-user", map[string]any{"email": email}, nil).Expect(t, 201, "")
	u := testenv.User{ID: r.String("user_id"), Key: r.String("api_key"), WalletID: r.String("wallet_id")}
	if u.ID == "" || u.Key == "" || u.WalletID == "" {
		t.Fatalf("legacy answer incomplete: %s", r.Raw)
	}
	c.Get("/users/me", u.Headers()).Expect(t, 200, "")
	c.Post("/register-user", map[string]any{"email": strings.ToUpper(email)}, nil).Expect(t, 409, "DUPLICATE_REQUEST")
}
