package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/internal/vouchers"
)

func createVoucher(t *testing.T, c *testenv.Client, body map[string]any) string {
	t.Helper()
	r := c.Post("/admin/vouchers", body, testenv.AdminHeaders()).Expect(t, 201, "")
	return r.Object("voucher")["code"].(string)
}

func TestVoucher_RedeemOncePerWalletWithinMax(t *testing.T) {
	c := env.Client(t)
	code := createVoucher(t, c, map[string]any{"amount": "2.5", "max_redemptions": 2})
	if !strings.HasPrefix(code, "OFX-") {
		t.Fatalf("generated code %q", code)
	}
	pub := c.Get("/vouchers/"+strings.ToLower(code), nil).Expect(t, 200, "").Object("voucher")
	if pub["amount"] != 2.5 || pub["redeemable"] != true {
		t.Fatalf("public voucher %v", pub)
	}
	a, b, d := c.NewUser(), c.NewUser(), c.NewUser()
	r := c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": a.WalletID}, a.Headers()).Expect(t, 200, "")
	if r.Body["credits_added"] != 2.5 || r.Body["new_balance"] != 2.5 {
		t.Fatalf("redeem: %s", r.Raw)
	}
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": a.WalletID}, a.Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": b.WalletID}, b.Headers()).Expect(t, 200, "")
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": d.WalletID}, d.Headers()).Expect(t, 400, "INVALID_REQUEST")
	if av, _ := c.Balance(d); av != 0 {
		t.Fatal("a used-up voucher credited")
	}
	pub = c.Get("/vouchers/"+code, nil).Expect(t, 200, "").Object("voucher")
	if pub["redeemable"] != false {
		t.Fatalf("used-up voucher still redeemable: %v", pub)
	}
	for _, field := range []string{"redemptions", "wallet_id", "user_id", "redeemed_by"} {
		if _, leaked := pub[field]; leaked {
			t.Errorf("public voucher shows %s", field)
		}
	}
	mine := c.Get("/users/me/vouchers", a.Headers()).Expect(t, 200, "").Body["vouchers"].([]any)
	if len(mine) != 1 || mine[0].(map[string]any)["code"] != vouchers.DisplayPrefix(code) {
		t.Fatalf("my vouchers %v", mine)
	}
}

func TestVoucher_AnotherUsersWalletIsForbidden(t *testing.T) {
	c := env.Client(t)
	code := createVoucher(t, c, map[string]any{"amount": 1})
	a, b := c.NewUser(), c.NewUser()
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": b.WalletID}, a.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": treasuryWalletID(t)}, a.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": "x"}, a.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/vouchers/NOPE-NOPE/redeem", map[string]any{"wallet_id": a.WalletID}, a.Headers()).Expect(t, 404, "NOT_FOUND")
	if av, _ := c.Balance(b); av != 0 {
		t.Fatal("credited another user's wallet")
	}
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": a.WalletID}, a.Headers()).Expect(t, 200, "")
}

func TestVoucher_ConcurrentRedemptionsByOneWalletSucceedOnce(t *testing.T) {
	c := env.Client(t)
	code := createVoucher(t, c, map[string]any{"amount": 3, "max_redemptions": 100})
	u := c.NewUser()
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = c.Concurrent().Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": u.WalletID}, u.Headers()).Status
		}()
	}
	wg.Wait()
	wins := 0
	for _, s := range statuses {
		if s == 200 {
			wins++
		} else if s != 409 {
			t.Errorf("status %d", s)
		}
	}
	if wins != 1 {
		t.Fatalf("%d redemptions succeeded, want 1", wins)
	}
	if av, _ := c.Balance(u); av != 3 {
		t.Fatalf("balance %v, want 3", av)
	}
}

func TestVoucher_ExpiredAndDisabledAreRefused(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	code := createVoucher(t, c, map[string]any{"code": "spring-" + strings.ToUpper(testenv.UniqueEmail("x")[:6]), "amount": 1,
		"expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)})
	c.Do(http.MethodPatch, "/admin/vouchers/"+code, map[string]any{"expires_at": time.Now().Add(-time.Minute).Format(time.RFC3339)}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": u.WalletID}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, "/admin/vouchers/"+code, map[string]any{"expires_at": nil}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Do(http.MethodDelete, "/admin/vouchers/"+code, nil, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": u.WalletID}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	got := c.Get("/admin/vouchers/"+code, testenv.AdminHeaders()).Expect(t, 200, "").Object("voucher")
	if got["disabled"] != true || got["redemptions"] != 0.0 {
		t.Fatalf("voucher %v", got)
	}
	c.Do(http.MethodPatch, "/admin/vouchers/"+code, map[string]any{"disabled": false}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": u.WalletID}, u.Headers()).Expect(t, 200, "")
}

func TestAdminVouchers_ValidateAndList(t *testing.T) {
	c := env.Client(t)
	bad := []map[string]any{
		{}, {"amount": 0}, {"amount": -1}, {"amount": "0.0000001"}, {"amount": 1, "max_redemptions": 0},
		{"amount": 1, "code": "a b"}, {"amount": 1, "code": "abc"}, {"amount": 1, "code": strings.Repeat("A", 65)},
		{"amount": 1, "expires_at": "yesterday"}, {"amount": 1, "expires_at": time.Now().Add(-time.Hour).Format(time.RFC3339)},
		{"amount": 1000001}, {"amount": 1, "redemptions": 5},
	}
	for _, b := range bad {
		c.Post("/admin/vouchers", b, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	}
	code := createVoucher(t, c, map[string]any{"amount": 1000000, "code": strings.Repeat("Z", 63) + "1"})
	c.Post("/admin/vouchers", map[string]any{"amount": 1, "code": strings.ToLower(code)}, testenv.AdminHeaders()).Expect(t, 409, "DUPLICATE_REQUEST")
	list := c.Get("/admin/vouchers?limit=1", testenv.AdminHeaders()).Expect(t, 200, "")
	if len(list.Body["vouchers"].([]any)) != 1 {
		t.Fatalf("list %s", list.Raw)
	}
	c.Post("/admin/vouchers", map[string]any{"amount": 1}, nil).Expect(t, 401, "UNAUTHORIZED")
	c.Do(http.MethodPatch, "/admin/vouchers/NOPE-NOPE", map[string]any{"disabled": true}, testenv.AdminHeaders()).Expect(t, 404, "NOT_FOUND")
}
