package api_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/officex/officex/internal/testenv"
)

func TestAdminAdjust_BalancedAgainstTreasuryNeverNegative(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	before := liability(t, c)
	r := c.Post("/admin/wallets/"+u.WalletID+"/adjust", map[string]any{"amount": "5.5", "reason": "goodwill"}, testenv.AdminHeaders()).Expect(t, 200, "")
	if r.Body["available"] != 5.5 {
		t.Fatalf("adjust: %s", r.Raw)
	}
	c.Post("/admin/wallets/"+u.WalletID+"/adjust", map[string]any{"amount": "-5.500001", "reason": "too much"}, testenv.AdminHeaders()).Expect(t, 402, "INSUFFICIENT_FUNDS")
	c.Post("/admin/wallets/"+u.WalletID+"/adjust", map[string]any{"amount": -2, "reason": "chargeback"}, testenv.AdminHeaders()).Expect(t, 200, "")
	for _, b := range []map[string]any{{"amount": 1}, {"amount": 0, "reason": "x"}, {"amount": "1.0000001", "reason": "x"}, {"amount": "abc", "reason": "x"}, {"reason": "x"}} {
		c.Post("/admin/wallets/"+u.WalletID+"/adjust", b, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Post("/admin/wallets/"+treasuryWalletID(t)+"/adjust", map[string]any{"amount": 1, "reason": "x"}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/admin/wallets/00000000-0000-0000-0000-000000000001/adjust", map[string]any{"amount": 1, "reason": "x"}, testenv.AdminHeaders()).Expect(t, 404, "WALLET_NOT_FOUND")
	c.Post("/admin/wallets/"+u.WalletID+"/adjust", map[string]any{"amount": 1, "reason": "x"}, u.Headers()).Expect(t, 401, "UNAUTHORIZED")
	if a, _ := c.Balance(u); a != 3.5 {
		t.Fatalf("balance %v, want 3.5", a)
	}
	if got := liability(t, c); got != before+3.5 {
		t.Fatalf("liability %v, want %v", got, before+3.5)
	}
	w := c.Get("/admin/wallets/"+u.WalletID, testenv.AdminHeaders()).Expect(t, 200, "").Object("wallet")
	if w["owner_user_id"] != u.ID || w["available"] != 3.5 {
		t.Fatalf("admin wallet %v", w)
	}
	list := c.Get("/admin/wallets?kind=treasury", testenv.AdminHeaders()).Expect(t, 200, "").Body["wallets"].([]any)
	if len(list) != 1 {
		t.Fatalf("treasury wallets %v", list)
	}
}

func TestAdminTreasuryReconcileAndAudit(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	c.Post("/purchase-credits", purchase(100, "tok_visa", ""), u.Headers()).Expect(t, 200, "")
	for i := 0; i < 4; i++ {
		c.Fund(u.WalletID, "1")
	}
	tr := c.Get("/admin/treasury", testenv.AdminHeaders()).Expect(t, 200, "").Object("treasury")
	liab := tr["liability"].(float64)
	if tr["credits_bought"].(float64) < 100 || liab != tr["user_available"].(float64)+tr["app_available"].(float64)+tr["reserved"].(float64)+tr["payouts_held"].(float64) {
		t.Fatalf("treasury %v does not add up", tr)
	}
	if tr["liability_usd"] == "" {
		t.Fatalf("no dollars: %v", tr)
	}
	rep := c.Post("/admin/reconcile", nil, testenv.AdminHeaders()).Expect(t, 200, "").Object("report")
	if rep["ok"] != true || len(rep["violations"].([]any)) != 0 {
		t.Fatalf("reconcile %v", rep)
	}
	events := c.Get("/admin/audit?limit=3", testenv.AdminHeaders()).Expect(t, 200, "")
	first := events.Body["events"].([]any)[0].(map[string]any)
	if first["action"] != "ledger.adjust" || first["actor"] != "admin" {
		t.Fatalf("newest audit event %v", first)
	}
	next := events.Object("pagination")["next_cursor"].(string)
	page2 := c.Get("/admin/audit?limit=3&cursor="+next, testenv.AdminHeaders()).Expect(t, 200, "").Body["events"].([]any)
	if len(page2) == 0 || page2[0].(map[string]any)["event_id"] == first["event_id"] {
		t.Fatalf("second page %v", page2)
	}
}

func TestAdminAdjust_IdempotencyKeyPostsOnceEvenWhenRacing(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	path := "/admin/wallets/" + u.WalletID + "/adjust"
	body := map[string]any{"amount": "2.5", "reason": "goodwill for ticket 4411", "idempotency_key": "ticket-4411"}
	answers := make([]testenv.Response, 8)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = c.Concurrent().Post(path, body, testenv.AdminHeaders()) }()
	}
	wg.Wait()
	first := ""
	for _, a := range answers {
		a.Expect(t, 200, "")
		if first == "" {
			first = a.String("transaction_id")
		}
		if a.String("transaction_id") != first {
			t.Fatalf("two transactions for one key: %s and %s", first, a.String("transaction_id"))
		}
	}
	if av, _ := c.Balance(u); av != 2.5 {
		t.Fatalf("balance %v after 8 requests with one key, want 2.5", av)
	}
	again := c.Post(path, body, testenv.AdminHeaders()).Expect(t, 200, "")
	if again.Body["replayed"] != true || again.String("transaction_id") != first {
		t.Fatalf("replay %s", again.Raw)
	}
	for _, other := range []map[string]any{
		{"amount": "3", "reason": "goodwill for ticket 4411", "idempotency_key": "ticket-4411"},
		{"amount": "2.5", "reason": "another reason", "idempotency_key": "ticket-4411"},
	} {
		c.Post(path, other, testenv.AdminHeaders()).Expect(t, 409, "DUPLICATE_REQUEST")
	}
	c.Post("/admin/wallets/"+c.NewUser().WalletID+"/adjust", body, testenv.AdminHeaders()).Expect(t, 409, "DUPLICATE_REQUEST")
	c.Post(path, map[string]any{"amount": "1", "reason": "r", "idempotency_key": strings.Repeat("k", 101)}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	c.Post(path, map[string]any{"amount": "1", "reason": "r", "idempotency_key": strings.Repeat("k", 100)}, testenv.AdminHeaders()).Expect(t, 200, "")
	if av, _ := c.Balance(u); av != 3.5 {
		t.Fatalf("balance %v, want 3.5", av)
	}
}
