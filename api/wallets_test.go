package api_test

import (
	"context"
	"testing"

	"github.com/officex/officex/ledger"
)

func treasuryWalletID(t *testing.T) string {
	t.Helper()
	id, err := ledger.TreasuryID(context.Background(), env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func TestWallets_OwnerSeesOthersAreForbidden(t *testing.T) {
	c := env.Client(t)
	u, other := c.NewUser(), c.NewUser()
	c.Fund(u.WalletID, "12.345678")
	r := c.Get("/wallets/"+u.WalletID, u.Headers()).Expect(t, 200, "")
	if r.Body["owner_type"] != "user" || r.Body["available"] != 12.345678 || r.Body["total"] != 12.345678 {
		t.Fatalf("wallet: %s", r.Raw)
	}
	b := c.Get("/balance", u.Headers()).Expect(t, 200, "")
	if b.String("wallet_id") != u.WalletID || b.Body["available"] != 12.345678 || b.Body["reserved"] != 0.0 {
		t.Fatalf("balance: %s", b.Raw)
	}
	for _, path := range []string{"/wallets/" + other.WalletID, "/wallets/" + other.WalletID + "/transactions", "/wallets/" + treasuryWalletID(t)} {
		c.Get(path, u.Headers()).Expect(t, 403, "FORBIDDEN")
	}
	c.Get("/wallets/00000000-0000-0000-0000-000000000001", u.Headers()).Expect(t, 404, "WALLET_NOT_FOUND")
	c.Get("/wallets/nope", u.Headers()).Expect(t, 404, "WALLET_NOT_FOUND")
	c.Get("/wallets/"+u.WalletID, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestWalletTransactions_PagesNewestFirstAndReadsOne(t *testing.T) {
	c := env.Client(t)
	u, other := c.NewUser(), c.NewUser()
	for _, a := range []string{"1", "2", "3", "4", "5"} {
		c.Fund(u.WalletID, a)
	}
	c.Fund(other.WalletID, "9")
	var amounts []float64
	var ids []string
	cursor := ""
	for page := 0; page < 10; page++ {
		path := "/wallets/" + u.WalletID + "/transactions?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := c.Get(path, u.Headers()).Expect(t, 200, "")
		for _, tx := range r.Body["transactions"].([]any) {
			m := tx.(map[string]any)
			amounts = append(amounts, m["amount"].(float64))
			ids = append(ids, m["log_id"].(string))
		}
		if r.Object("pagination")["has_more"] != true {
			break
		}
		cursor = r.Object("pagination")["next_cursor"].(string)
	}
	want := []float64{5, 4, 3, 2, 1}
	if len(amounts) != len(want) {
		t.Fatalf("amounts %v, want %v", amounts, want)
	}
	for i := range want {
		if amounts[i] != want[i] {
			t.Fatalf("amounts %v, want %v (newest first)", amounts, want)
		}
	}
	one := c.Get("/wallets/"+u.WalletID+"/transactions/"+ids[0], u.Headers()).Expect(t, 200, "").Object("transaction")
	if one["kind"] != "adjust" || one["available_change"] != 5.0 || len(one["entries"].([]any)) != 2 {
		t.Fatalf("transaction %v", one)
	}
	// A transaction of another wallet is not found through this one.
	otherTx := c.Get("/wallets/"+other.WalletID+"/transactions", other.Headers()).Expect(t, 200, "").Body["transactions"].([]any)[0].(map[string]any)["log_id"].(string)
	c.Get("/wallets/"+u.WalletID+"/transactions/"+otherTx, u.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Get("/wallets/"+u.WalletID+"/transactions?limit=101", u.Headers()).Expect(t, 400, "INVALID_REQUEST")
}
