package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/testenv"
)

// micro formats micro-credits as the API's decimal amount.
func micro(n int64) string { return fmt.Sprintf("%d.%06d", n/1_000_000, n%1_000_000) }

// TestBilling_SixteenClientsSettleIntoOneAppWallet is issue 13's test: 16
// users of one app reserve and settle as fast as they can for 10 s (3 s with
// -short), while an admin takes credits back out of the app wallet now and
// then (each a debit that sweeps the wallet's slots). Afterwards the app's
// balance is exactly what was settled minus what was taken, and the ledger
// invariants hold (env.CheckInvariants, the reconcile report's checks).
func TestBilling_SixteenClientsSettleIntoOneAppWallet(t *testing.T) {
	run := 10 * time.Second
	if testing.Short() {
		run = 3 * time.Second
	}
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	limits := map[string]any{"max_per_hour": 1_000_000, "max_per_day": 1_000_000, "max_per_month": 1_000_000}
	var installs []testenv.Installed
	for i := 0; i < 16; i++ {
		u := c.NewUser()
		c.Fund(u.WalletID, "100000")
		installs = append(installs, c.Install(u, a.ID, limits))
	}
	// The goroutines' client reports failed requests with t.Errorf, never t.Fatal.
	cc := c.Concurrent()
	var settled, taken atomic.Int64
	var cycles atomic.Int32
	deadline := time.Now().Add(run)
	var wg sync.WaitGroup
	for g, in := range installs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				job := "hot-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				amount := 1 + rand.Int64N(1_000_000) // 0.000001 to 1 of the 1 reserved
				if r := cc.Post("/reserve", map[string]any{"amount": 1, "job_id": job}, in.Headers()); r.Status != 200 {
					t.Errorf("reserve: %s", r.Raw)
					return
				}
				r := cc.Post("/settle", map[string]any{"reservation_id": "RESV#" + job, "amount": micro(amount), "final": true}, in.Headers())
				if r.Status != 200 {
					t.Errorf("settle: %s", r.Raw)
					return
				}
				settled.Add(amount)
				cycles.Add(1)
			}
		}()
	}
	// Debits while the settles run, in the first half (the second half
	// leaves credits spread over the slots).
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline.Add(-run / 2)) {
			amount := 1 + rand.Int64N(500_000)
			r := cc.Post("/admin/wallets/"+a.WalletID+"/adjust", map[string]any{"amount": "-" + micro(amount), "reason": "hot wallet test"}, testenv.AdminHeaders())
			switch {
			case r.Status == 200:
				taken.Add(amount)
			case r.Code() != "INSUFFICIENT_FUNDS":
				t.Errorf("adjust: %s", r.Raw)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wg.Wait()
	if t.Failed() {
		return
	}
	if taken.Load() == 0 {
		t.Fatalf("no debit of the app wallet succeeded while settles ran")
	}
	got := c.Get("/wallets/"+a.WalletID, vendor.Headers()).Expect(t, 200, "").Body["available"].(float64)
	want := settled.Load() - taken.Load()
	if micro(int64(got*1e6+0.5)) != micro(want) {
		t.Fatalf("app wallet has %v, want exactly %s (%d cycles settled %s, %s taken back)", got, micro(want), cycles.Load(), micro(settled.Load()), micro(taken.Load()))
	}
	var exact int64
	var slots int
	if err := env.Pool.QueryRow(context.Background(), `SELECT available, (SELECT count(*) FROM wallet_slots WHERE wallet_id = $1 AND available > 0)
		FROM wallet_balances WHERE id = $1`, uuid.MustParse(a.WalletID)).Scan(&exact, &slots); err != nil {
		t.Fatal(err)
	}
	if exact != want {
		t.Fatalf("app wallet has %d micro-credits, want %d", exact, want)
	}
	if slots < 2 {
		t.Errorf("credits landed in %d slots, want them spread over several", slots)
	}
	t.Logf("%d cycles in %s, %d slots hold credits", cycles.Load(), run, slots)
	env.CheckInvariants(t)
}
