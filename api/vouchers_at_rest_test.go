package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/internal/vouchers"
)

// clearCopies counts the rows anywhere a voucher code could have been
// written (the voucher, its redemptions, the audit log, the journal) whose
// text contains code.
func clearCopies(t *testing.T, code string) int {
	t.Helper()
	var n int
	err := env.Pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM vouchers v WHERE row_to_json(v)::text ILIKE '%' || $1 || '%')
		     + (SELECT count(*) FROM voucher_redemptions r WHERE row_to_json(r)::text ILIKE '%' || $1 || '%')
		     + (SELECT count(*) FROM audit_log a WHERE row_to_json(a)::text ILIKE '%' || $1 || '%')
		     + (SELECT count(*) FROM journal_transactions j WHERE row_to_json(j)::text ILIKE '%' || $1 || '%')`, code).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVoucher_StoredAsHMACAdminsSeeOnlyTheDisplayPrefix(t *testing.T) {
	c := env.Client(t)
	created := c.Post("/admin/vouchers", map[string]any{"amount": 2, "max_redemptions": 2}, testenv.AdminHeaders()).
		Expect(t, 201, "").Object("voucher")
	code, id, prefix := created["code"].(string), created["id"].(string), created["code_prefix"].(string)
	if !strings.HasPrefix(code, "OFX-") || len(code) != 16 || prefix != code[:8]+"…" {
		t.Fatalf("created %v", created)
	}
	// Admins see the prefix from now on, by id and in the list.
	got := c.Get("/admin/vouchers/"+id, testenv.AdminHeaders()).Expect(t, 200, "").Object("voucher")
	if got["code"] != prefix || got["id"] != id {
		t.Fatalf("admin view %v", got)
	}
	listed := false
	for _, v := range c.Get("/admin/vouchers?limit=100", testenv.AdminHeaders()).Expect(t, 200, "").Body["vouchers"].([]any) {
		v := v.(map[string]any)
		if strings.Contains(v["code"].(string), code) {
			t.Fatalf("the list shows a full code: %v", v)
		}
		listed = listed || v["id"] == id
	}
	if !listed {
		t.Fatal("voucher not in the list")
	}
	c.Do(http.MethodPatch, "/admin/vouchers/"+id, map[string]any{"max_redemptions": 3}, testenv.AdminHeaders()).Expect(t, 200, "")

	// Whoever holds the code looks it up and redeems it.
	u := c.NewUser()
	if c.Get("/vouchers/"+code, nil).Expect(t, 200, "").Object("voucher")["code"] != code {
		t.Fatal("public lookup by code")
	}
	c.Post("/vouchers/"+strings.ToLower(code)+"/redeem", map[string]any{"wallet_id": u.WalletID}, u.Headers()).Expect(t, 200, "")
	mine := c.Get("/users/me/vouchers", u.Headers()).Expect(t, 200, "").Body["vouchers"].([]any)
	if len(mine) != 1 || mine[0].(map[string]any)["code"] != prefix {
		t.Fatalf("my vouchers %v", mine)
	}
	// Nowhere in the database is the code in clear.
	if n := clearCopies(t, code); n != 0 {
		t.Fatalf("the code is stored in clear in %d rows", n)
	}
	// A short custom code shows at most half of itself.
	short := c.Post("/admin/vouchers", map[string]any{"amount": 1, "code": "WELCOME" + strconv.Itoa(int(time.Now().UnixNano()%90+10))},
		testenv.AdminHeaders()).Expect(t, 201, "").Object("voucher")
	if p := short["code_prefix"].(string); len([]rune(p))-1 > len(short["code"].(string))/2 {
		t.Fatalf("prefix %q of %q shows more than half", p, short["code"])
	}
	// A custom code may not look like a voucher id.
	c.Post("/admin/vouchers", map[string]any{"amount": 1, "code": strings.ToUpper(id)}, testenv.AdminHeaders()).
		Expect(t, 400, "INVALID_REQUEST")
}

func TestVoucher_ClearCodeOfAnEarlierVersionIsSealedAndStillRedeems(t *testing.T) {
	c := env.Client(t)
	code := "LEGACY-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	code = strings.ToUpper(code)
	ctx := context.Background()
	if _, err := env.Pool.Exec(ctx, `INSERT INTO vouchers (code, code_prefix, amount) VALUES ($1, '', 1000000)`, code); err != nil {
		t.Fatal(err)
	}
	// What officex migrate (and serve, at start) runs.
	n, err := vouchers.New(env.Pool, env.Config.EncryptionKey).SealLegacyCodes(ctx)
	if err != nil || n < 1 {
		t.Fatalf("sealed %d: %v", n, err)
	}
	if copies := clearCopies(t, code); copies != 0 {
		t.Fatalf("the code is still in clear in %d rows", copies)
	}
	u := c.NewUser()
	r := c.Post("/vouchers/"+code+"/redeem", map[string]any{"wallet_id": u.WalletID}, u.Headers()).Expect(t, 200, "")
	if r.Body["credits_added"] != 1.0 {
		t.Fatalf("redeem: %s", r.Raw)
	}
	got := c.Get("/admin/vouchers/"+code, testenv.AdminHeaders()).Expect(t, 200, "").Object("voucher")
	if got["code_prefix"] != vouchers.DisplayPrefix(code) {
		t.Fatalf("admin view %v", got)
	}
}
