package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/officex/officex/internal/testenv"
)

func TestVoucher_RedeemRequiresAVerifiedEmail(t *testing.T) {
	c := env.Client(t)
	code := createVoucher(t, c, map[string]any{"amount": 5})
	email := testenv.UniqueEmail("unverified")
	r := c.Post("/register-user", map[string]any{"email": email}, nil).Expect(t, 201, "")
	u := testenv.User{ID: r.String("user_id"), Email: email, Key: r.String("api_key"), WalletID: r.String("wallet_id")}
	refused := c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": u.WalletID}, u.Headers()).Expect(t, 403, "FORBIDDEN")
	if !strings.Contains(refused.Object("error")["message"].(string), "verify your email") {
		t.Fatalf("refusal does not say what to do: %s", refused.Raw)
	}
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM voucher_redemptions WHERE user_id = $1", u.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d redemptions (%v) by an unverified account", n, err)
	}
	if a, _ := c.Balance(u); a != 0 {
		t.Fatalf("balance %v", a)
	}
	// Proving the address with a code lets the same account redeem.
	c.Post("/auth/login", map[string]any{"email": email}, nil).Expect(t, 200, "")
	v := c.Post("/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil).Expect(t, 200, "")
	u.Key = v.String("api_key")
	c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": u.WalletID}, u.Headers()).Expect(t, 200, "")
	if a, _ := c.Balance(u); a != 5 {
		t.Fatalf("balance %v after redeeming, want 5", a)
	}
}

// selfBillingOf is the admin view's flag and amount for a payout, from the
// payout itself and from the admin list.
func selfBillingOf(t *testing.T, c *testenv.Client, id string) (bool, float64) {
	t.Helper()
	p := payoutOf(t, c, id)
	list := c.Get("/admin/payouts?limit=100", testenv.AdminHeaders()).Expect(t, 200, "").Body["payouts"].([]any)
	for _, item := range list {
		if m := item.(map[string]any); m["payout_id"] == id && m["self_billing"] != p["self_billing"] {
			t.Fatalf("list says self_billing %v, the payout %v", m["self_billing"], p["self_billing"])
		}
	}
	return p["self_billing"].(bool), p["self_billed_amount"].(float64)
}

func TestPayout_VendorBillingItsOwnAppIsFlaggedForFinance(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	customer := c.NewUser()
	c.Fund(customer.WalletID, "150")
	paid := c.Install(customer, a.ID, nil)
	c.Post("/reserve", map[string]any{"amount": 150, "job_id": "sb-customer"}, paid.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#sb-customer", "amount": 150, "final": true}, paid.Headers()).Expect(t, 200, "")
	honest := c.Post("/payout", stripePayout(a.WalletID, 100, acctOf(vendor), "sb-1"), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	if flagged, amount := selfBillingOf(t, c, honest); flagged || amount != 0 {
		t.Fatalf("a payout earned from a customer is flagged: %v %v", flagged, amount)
	}
	// The vendor installs its own app and bills itself with credits it bought.
	c.Fund(vendor.WalletID, "100")
	self := c.Install(vendor, a.ID, nil)
	c.Post("/reserve", map[string]any{"amount": 100, "job_id": "sb-self"}, self.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#sb-self", "amount": 80, "final": true}, self.Headers()).Expect(t, 200, "")
	flaggedID := c.Post("/payout", stripePayout(a.WalletID, 100, acctOf(vendor), "sb-2"), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	if flagged, amount := selfBillingOf(t, c, flaggedID); !flagged || amount != 80 {
		t.Fatalf("self-billed payout: self_billing %v, amount %v; want true, 80", flagged, amount)
	}
	// The vendor's own view does not carry finance's fields.
	mine := c.Get("/wallets/"+a.WalletID+"/payouts/"+flaggedID, vendor.Headers()).Expect(t, 200, "").Object("payout")
	if _, shown := mine["self_billing"]; shown {
		t.Fatalf("vendor view shows self_billing: %v", mine)
	}
}
