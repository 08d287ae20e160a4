package api_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/testenv"
)

func fingerprintsOf(t *testing.T, u testenv.User) []string {
	t.Helper()
	rows, err := env.Pool.Query(context.Background(), "SELECT COALESCE(card_fingerprint, '') FROM credit_purchases WHERE user_id = $1 ORDER BY created_at", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			t.Fatal(err)
		}
		out = append(out, fp)
	}
	return out
}

func TestPurchase_VelocityPerUserAllowsTheLimitThenRateLimited(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	for i := range purchases.MaxPurchasesPerUser {
		c.Post("/purchase-credits", purchase(purchases.MinCredits, "tok_mastercard", fmt.Sprintf("vel-user-%d", i)), u.Headers()).Expect(t, 200, "")
	}
	before := countPurchases(t)
	r := c.Post("/purchase-credits", purchase(purchases.MinCredits, "tok_mastercard", "vel-user-over"), u.Headers()).Expect(t, 429, "RATE_LIMITED")
	retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || retry < 3500 || retry > 3600 {
		t.Fatalf("Retry-After %q, want about an hour (the oldest purchase leaves the window)", r.Header.Get("Retry-After"))
	}
	if !strings.Contains(r.Object("error")["message"].(string), strconv.Itoa(purchases.MaxPurchasesPerUser)) || countPurchases(t) != before {
		t.Fatalf("refusal %s, or it recorded a purchase", r.Raw)
	}
	// Without a key it is refused too; a replayed key is the same attempt and still answers.
	c.Post("/purchase-credits", purchase(purchases.MinCredits, "tok_visa", ""), u.Headers()).Expect(t, 429, "RATE_LIMITED")
	c.Post("/purchase-credits", purchase(purchases.MinCredits, "tok_mastercard", "vel-user-0"), u.Headers()).Expect(t, 200, "")
	if a, _ := c.Balance(u); a != float64(purchases.MaxPurchasesPerUser*purchases.MinCredits) {
		t.Fatalf("balance %v", a)
	}
	// Each purchase records its card's fingerprint, Stripe's, the same for the same card.
	fps := fingerprintsOf(t, u)
	if len(fps) != purchases.MaxPurchasesPerUser || fps[0] == "" || fps[0] != fps[len(fps)-1] {
		t.Fatalf("fingerprints %v", fps)
	}
	other := c.NewUser()
	c.Post("/purchase-credits", purchase(purchases.MinCredits, "tok_mastercard_debit", "vel-other"), other.Headers()).Expect(t, 200, "")
	if got := fingerprintsOf(t, other); len(got) != 1 || got[0] == "" || got[0] == fps[0] {
		t.Fatalf("another card's fingerprint %v, mastercard's %s", got, fps[0])
	}
}

// TestPurchase_VelocityPerCardHoldsUnderConcurrentUsers: 3 users race 25
// purchases on one card; exactly MaxPurchasesPerCard get through, the rest
// are refused for the card, and another card still pays.
func TestPurchase_VelocityPerCardHoldsUnderConcurrentUsers(t *testing.T) {
	c := env.Client(t)
	users := []testenv.User{c.NewUser(), c.NewUser(), c.NewUser()}
	perUser := []int{9, 8, 8} // each under the per-user limit; 25 in all
	var mu sync.Mutex
	statuses := map[int]int{}
	var wrong []string // refusals that name another limit than the card's
	var wg sync.WaitGroup
	for ui, u := range users {
		for i := range perUser[ui] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.Concurrent().Post("/purchase-credits", purchase(purchases.MinCredits, "tok_amex", fmt.Sprintf("vel-card-%d-%d", ui, i)), u.Headers())
				mu.Lock()
				defer mu.Unlock()
				statuses[r.Status]++
				if r.Status == 429 && !strings.Contains(string(r.Raw), "this card may pay") {
					wrong = append(wrong, string(r.Raw))
				}
			}()
		}
	}
	wg.Wait()
	if len(wrong) > 0 {
		t.Fatalf("refusals name the wrong limit: %v", wrong)
	}
	if statuses[429] != 25-purchases.MaxPurchasesPerCard || statuses[200]+statuses[202] != purchases.MaxPurchasesPerCard {
		t.Fatalf("answers %v, want %d admitted and %d refused", statuses, purchases.MaxPurchasesPerCard, 25-purchases.MaxPurchasesPerCard)
	}
	var n int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM credit_purchases
		WHERE user_id = ANY($1::uuid[])`, []string{users[0].ID, users[1].ID, users[2].ID}).Scan(&n); err != nil || n != purchases.MaxPurchasesPerCard {
		t.Fatalf("%d purchases recorded (%v), want %d", n, err, purchases.MaxPurchasesPerCard)
	}
	c.Post("/purchase-credits", purchase(purchases.MinCredits, "tok_mastercard_prepaid", "vel-card-other"), users[0].Headers()).Expect(t, 200, "")
}
