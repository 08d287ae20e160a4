package api_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

// billingSetup is a funded user with an install of a fresh app.
func billingSetup(t *testing.T, c *testenv.Client, credits string, installBody any) (testenv.User, testenv.App, testenv.Installed) {
	t.Helper()
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	u := c.NewUser()
	if credits != "0" {
		c.Fund(u.WalletID, credits)
	}
	return vendor, a, c.Install(u, a.ID, installBody)
}

func balanceOf(t *testing.T, c *testenv.Client, wallet string, owner testenv.User) (float64, float64) {
	t.Helper()
	r := c.Get("/wallets/"+wallet, owner.Headers()).Expect(t, 200, "")
	return r.Body["available"].(float64), r.Body["reserved"].(float64)
}

func TestReserveSettle_ReferenceFlowTenThenEightFinal(t *testing.T) {
	c := env.Client(t)
	vendor, a, in := billingSetup(t, c, "50", nil)
	r := c.Post("/reserve", map[string]any{"amount": 10, "job_id": "job-1", "metadata": map[string]any{"leads_count": 50}}, in.Headers()).Expect(t, 200, "")
	if r.String("reservation_id") != "RESV#job-1" || r.Body["amount_reserved"] != 10.0 {
		t.Fatalf("reserve %s", r.Raw)
	}
	if av, res := c.Balance(in.User); av != 40 || res != 10 {
		t.Fatalf("after reserve %v/%v", av, res)
	}
	s := c.Post("/settle", map[string]any{"reservation_id": "RESV#job-1", "amount": 8, "final": true}, in.Headers()).Expect(t, 200, "")
	if s.Body["settled_amount"] != 8.0 || s.Body["remaining_reserved"] != 0.0 || s.String("status") != "completed" {
		t.Fatalf("settle %s", s.Raw)
	}
	if av, res := c.Balance(in.User); av != 42 || res != 0 {
		t.Fatalf("user after settle %v/%v, want 42/0", av, res)
	}
	if av, _ := balanceOf(t, c, a.WalletID, vendor); av != 8 {
		t.Fatalf("app wallet %v, want 8", av)
	}
	got := c.Get("/reservations/RESV%23job-1", in.Headers()).Expect(t, 200, "").Object("reservation")
	if got["status"] != "completed" || got["settled"] != 8.0 || got["refunded"] != 2.0 || got["remaining"] != 0.0 ||
		got["metadata"].(map[string]any)["leads_count"] != 50.0 || len(got["events"].([]any)) != 2 {
		t.Fatalf("reservation %v", got)
	}
	c.Post("/settle", map[string]any{"reservation_id": "RESV#job-1", "amount": 1, "final": true}, in.Headers()).Expect(t, 409, "RESERVATION_CLOSED")
	c.Post("/reservations/RESV%23job-1/cancel", nil, in.Headers()).Expect(t, 409, "RESERVATION_CLOSED")
}

func TestSip_ProgressiveHundredLeads(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "100", nil)
	c.Post("/reserve", map[string]any{"amount": 100, "job_id": "batch-7"}, in.Headers()).Expect(t, 200, "")
	for i, want := range []float64{10, 20, 30} {
		r := c.Post("/reservations/RESV%23batch-7/settle", map[string]any{"amount": 10, "final": false}, in.Headers()).Expect(t, 200, "")
		if r.Body["settled_amount"] != want || r.Body["remaining_reserved"] != 100-want || r.String("status") != "partial" {
			t.Fatalf("sip %d: %s", i+1, r.Raw)
		}
	}
	c.Post("/reservations/RESV%23batch-7/settle", map[string]any{"amount": 70.000001}, in.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/reservations/RESV%23batch-7/settle", map[string]any{"amount": 0}, in.Headers()).Expect(t, 400, "INVALID_REQUEST")
	last := c.Post("/reservations/RESV%23batch-7/settle", map[string]any{"amount": 70, "final": true}, in.Headers()).Expect(t, 200, "")
	if last.Body["settled_amount"] != 100.0 || last.Body["remaining_reserved"] != 0.0 || last.String("status") != "completed" {
		t.Fatalf("final %s", last.Raw)
	}
	// Decimal sips are exact: 0.1 ten times is 1.
	c.Post("/reserve", map[string]any{"amount": "1", "job_id": "micro"}, in.Headers())
	c.Fund(in.User.WalletID, "1")
	c.Post("/reserve", map[string]any{"amount": "1", "job_id": "micro-2"}, in.Headers()).Expect(t, 200, "")
	for i := 0; i < 10; i++ {
		c.Post("/settle", map[string]any{"reservation_id": "RESV#micro-2", "amount": 0.1}, in.Headers()).Expect(t, 200, "")
	}
	r := c.Post("/settle", map[string]any{"reservation_id": "RESV#micro-2", "amount": 0, "final": true}, in.Headers()).Expect(t, 200, "")
	if r.Body["settled_amount"] != 1.0 || r.String("status") != "completed" {
		t.Fatalf("micro sips %s", r.Raw)
	}
}

func TestCancel_RefundsOnlyWhatIsStillReserved(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "10", nil)
	c.Post("/reserve", map[string]any{"amount": 10, "job_id": "c-1"}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#c-1", "amount": 3}, in.Headers()).Expect(t, 200, "")
	r := c.Post("/reservations/RESV%23c-1/cancel", nil, in.Headers()).Expect(t, 200, "")
	if r.Body["refunded_amount"] != 7.0 || r.String("status") != "cancelled" {
		t.Fatalf("cancel %s", r.Raw)
	}
	if av, res := c.Balance(in.User); av != 7 || res != 0 {
		t.Fatalf("balance %v/%v", av, res)
	}
}

func TestReserve_RefusalsWithTheReferenceCodes(t *testing.T) {
	c := env.Client(t)
	_, a, in := billingSetup(t, c, "5", map[string]any{"max_per_hour": 3})
	c.Post("/reserve", map[string]any{"amount": 6, "job_id": "too-much"}, in.Headers()).Expect(t, 402, "INSUFFICIENT_FUNDS")
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "dup"}, in.Headers()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "dup"}, in.Headers()).Expect(t, 409, "DUPLICATE_JOB")
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "two"}, in.Headers()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "three"}, in.Headers()).Expect(t, 200, "")
	r := c.Post("/reserve", map[string]any{"amount": 1, "job_id": "four"}, in.Headers()).Expect(t, 429, "RATE_LIMITED")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Lifetime limit: 3 committed so far; 4.5 allows 1.5 more.
	c.Do(http.MethodPatch, "/users/me/installs/"+in.ID, map[string]any{"max_per_hour": 100, "lifetime_spend_limit": 4.5}, in.User.Headers()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 1.500001, "job_id": "life"}, in.Headers()).Expect(t, 403, "LIFETIME_LIMIT_REACHED")
	c.Post("/reserve", map[string]any{"amount": 1.5, "job_id": "life"}, in.Headers()).Expect(t, 200, "")
	// A refund frees its share of the lifetime limit again.
	c.Post("/reservations/RESV%23life/cancel", nil, in.Headers()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 1.5, "job_id": "life-2"}, in.Headers()).Expect(t, 200, "")
	// allowed_until passed.
	if _, err := env.Pool.Exec(context.Background(), "UPDATE installs SET allowed_until = 1 WHERE id = $1", in.ID); err != nil {
		t.Fatal(err)
	}
	c.Post("/reserve", map[string]any{"amount": 0.1, "job_id": "late"}, in.Headers()).Expect(t, 403, "INSTALL_EXPIRED")
	// Suspended app, then uninstalled install.
	c.Do(http.MethodPatch, "/admin/apps/"+a.ID, map[string]any{"status": "suspended"}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 0.1, "job_id": "sus"}, in.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Do(http.MethodPatch, "/admin/apps/"+a.ID, map[string]any{"status": "active"}, testenv.AdminHeaders()).Expect(t, 200, "")
}

func TestReserve_BadInputAndOtherInstalls(t *testing.T) {
	c := env.Client(t)
	_, a, in := billingSetup(t, c, "5", nil)
	other := c.Install(c.NewUser(), a.ID, nil)
	c.Fund(other.User.WalletID, "5")
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "mine"}, in.Headers()).Expect(t, 200, "")
	for _, b := range []map[string]any{
		{"amount": 0, "job_id": "x"}, {"amount": -1, "job_id": "x"}, {"amount": "0.0000001", "job_id": "x"},
		{"amount": 1, "job_id": ""}, {"amount": 1, "job_id": "has space"}, {"amount": 1, "job_id": "a/b"},
		{"amount": 1, "job_id": string(make([]byte, 201))}, {"amount": 1, "job_id": "x", "metadata": []int{1}},
		{"amount": 1, "job_id": "x", "metadata": map[string]any{"big": string(make([]byte, 17000))}},
		{"amount": 1, "job_id": "x", "timeout_seconds": 0}, {"amount": 1, "job_id": "x", "timeout_seconds": 604801},
		{"job_id": "x"}, {"amount": 1, "job_id": "x", "user_id": in.User.ID},
	} {
		c.Post("/reserve", b, in.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "x"}, testenv.Headers{"x-officex-install-id": in.ID, "x-officex-install-secret": other.Secret}).Expect(t, 401, "INVALID_SECRET")
	// Another install's reservation is not found through mine, and nothing moves.
	c.Post("/settle", map[string]any{"reservation_id": "RESV#mine", "amount": 1, "final": true}, other.Headers()).Expect(t, 404, "RESERVATION_NOT_FOUND")
	c.Post("/reservations/RESV%23mine/cancel", nil, other.Headers()).Expect(t, 404, "RESERVATION_NOT_FOUND")
	c.Get("/reservations/RESV%23mine", other.Headers()).Expect(t, 404, "RESERVATION_NOT_FOUND")
	c.Get("/reservations/mine", in.Headers()).Expect(t, 404, "RESERVATION_NOT_FOUND")
	if av, res := c.Balance(in.User); av != 4 || res != 1 {
		t.Fatalf("balance %v/%v", av, res)
	}
	// The alternative header form works for billing too.
	alt := testenv.Headers{"x-officex-user-id": in.User.ID, "x-officex-app-id": a.ID, "x-officex-install-secret": in.Secret}
	c.Post("/settle", map[string]any{"reservation_id": "RESV#mine", "amount": 1, "final": true}, alt).Expect(t, 200, "")

	// Through that form, "not installed" and "wrong secret" answer alike, so
	// nobody can probe which users installed which apps.
	stranger := c.NewUser()
	notInstalled := testenv.Headers{"x-officex-user-id": stranger.ID, "x-officex-app-id": a.ID, "x-officex-install-secret": in.Secret}
	wrongSecret := testenv.Headers{"x-officex-user-id": in.User.ID, "x-officex-app-id": a.ID, "x-officex-install-secret": "wrong"}
	for _, h := range []testenv.Headers{notInstalled, wrongSecret} {
		c.Post("/reserve", map[string]any{"amount": 1, "job_id": "probe"}, h).Expect(t, 401, "INVALID_SECRET")
		c.Post("/installs/"+in.ID+"/inbox", map[string]any{"id": "p", "title": "t", "text": "t"}, h).Expect(t, 401, "INVALID_SECRET")
	}
}

func TestReserve_ConcurrentOverdraftAllowsExactlyAffordable(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "7", nil)
	var wg sync.WaitGroup
	codes := make([]string, 50)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Concurrent().Post("/reserve", map[string]any{"amount": 1, "job_id": "burst-" + strconv.Itoa(i)}, in.Headers())
			codes[i] = strconv.Itoa(r.Status) + r.Code()
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, code := range codes {
		count[code]++
	}
	if count["200"] != 7 || count["402INSUFFICIENT_FUNDS"] != 43 {
		t.Fatalf("outcomes %v, want 7 successes and 43 INSUFFICIENT_FUNDS", count)
	}
	if av, res := c.Balance(in.User); av != 0 || res != 7 {
		t.Fatalf("balance %v/%v", av, res)
	}
}

func TestReserve_RateLimitBurstAllowsExactlyMaxPerHour(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "100", map[string]any{"max_per_hour": 5})
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = c.Concurrent().Post("/reserve", map[string]any{"amount": 1, "job_id": "rl-" + strconv.Itoa(i)}, in.Headers()).Status
		}()
	}
	wg.Wait()
	ok, limited := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 429:
			limited++
		}
	}
	if ok != 5 || limited != 15 {
		t.Fatalf("%d reserved and %d rate limited, want 5 and 15", ok, limited)
	}
	u := c.Get("/users/me/installs/"+in.ID, in.User.Headers()).Expect(t, 200, "").Object("install")["usage"].(map[string]any)
	if u["hour"] != 5.0 || u["day"] != 5.0 || u["month"] != 5.0 {
		t.Fatalf("usage %v", u)
	}
}

func TestSettle_ConcurrentSipsFinalsAndCancelCloseOnce(t *testing.T) {
	c := env.Client(t)
	vendor, a, in := billingSetup(t, c, "10", nil)
	c.Post("/reserve", map[string]any{"amount": 10, "job_id": "race"}, in.Headers()).Expect(t, 200, "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	closes, sips, finalClosed := 0, 0, false
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := c.Concurrent()
			var r testenv.Response
			switch i % 3 {
			case 0:
				r = c.Post("/settle", map[string]any{"reservation_id": "RESV#race", "amount": 1}, in.Headers())
			case 1:
				r = c.Post("/settle", map[string]any{"reservation_id": "RESV#race", "amount": 2, "final": true}, in.Headers())
			default:
				r = c.Post("/reservations/RESV%23race/cancel", nil, in.Headers())
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Status == 200 && r.String("status") == "partial":
				sips++
			case r.Status == 200:
				closes++
				finalClosed = i%3 == 1
			case r.Code() != "RESERVATION_CLOSED" && r.Code() != "INVALID_REQUEST":
				t.Errorf("unexpected answer %s", r.Raw)
			}
		}()
	}
	wg.Wait()
	if closes != 1 {
		t.Fatalf("%d closing transitions won, want exactly 1", closes)
	}
	got := c.Get("/reservations/RESV%23race", in.Headers()).Expect(t, 200, "").Object("reservation")
	settled, refunded := got["settled"].(float64), got["refunded"].(float64)
	if settled+refunded != 10 || settled > 10 {
		t.Fatalf("settled %v + refunded %v, want 10", settled, refunded)
	}
	if app, _ := balanceOf(t, c, a.WalletID, vendor); app != settled {
		t.Fatalf("app got %v, reservation settled %v", app, settled)
	}
	if av, res := c.Balance(in.User); av != 10-settled || res != 0 {
		t.Fatalf("user %v/%v", av, res)
	}
	// What was settled is the sips that were answered, plus the 2 of the
	// final settle when that is what closed the reservation.
	want := float64(sips)
	if finalClosed {
		want += 2
	}
	if settled != want {
		t.Fatalf("settled %v after %d answered sips (closed by a final settle: %v), want %v", settled, sips, finalClosed, want)
	}
}

func waitReservation(t *testing.T, c *testenv.Client, in testenv.Installed, id, status string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := c.Get("/reservations/"+id, in.Headers()).Expect(t, 200, "").Object("reservation")
		if got["status"] == status {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("reservation %s is %v, want %s", id, got["status"], status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReservation_TimeoutRefundsTheRemainderAndTellsTheUser(t *testing.T) {
	c := env.Client(t)
	vendor, a, in := billingSetup(t, c, "10", nil)
	c.Post("/reserve", map[string]any{"amount": 4, "job_id": "slow", "timeout_seconds": 1}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#slow", "amount": 1.25}, in.Headers()).Expect(t, 200, "")
	got := waitReservation(t, c, in, "RESV%23slow", "expired", 10*time.Second)
	if got["settled"] != 1.25 || got["refunded"] != 2.75 {
		t.Fatalf("expired reservation %v", got)
	}
	if av, res := c.Balance(in.User); av != 8.75 || res != 0 {
		t.Fatalf("balance %v/%v", av, res)
	}
	msgs := c.Get("/users/me/inbox", in.User.Headers()).Expect(t, 200, "").Body["messages"].([]any)
	// The message is written by billing_expire in SQL: the credits must
	// read as ledger.Credits prints them.
	want := "Reservation RESV#slow timed out unsettled; 2.75 credits went back to your wallet."
	if len(msgs) != 1 || msgs[0].(map[string]any)["title"] != "Reservation expired" || msgs[0].(map[string]any)["text"] != want {
		t.Fatalf("user inbox %v", msgs)
	}
	events := c.Get("/users/me/apps/"+a.ID+"/inbox", vendor.Headers()).Expect(t, 200, "").Body["reservations"].([]any)
	if len(events) != 3 || events[0].(map[string]any)["event"] != "expired" || events[0].(map[string]any)["amount"] != 2.75 {
		t.Fatalf("vendor inbox %v", events)
	}
	c.Post("/settle", map[string]any{"reservation_id": "RESV#slow", "amount": 1}, in.Headers()).Expect(t, 409, "RESERVATION_CLOSED")
}

func TestReservation_WorkerDownWhileExpiringRefundsOnceOnRestart(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "10", nil)
	restart := env.StopWorker(t) // its cleanup restarts the worker if the test fails first
	for i := 0; i < 3; i++ {
		c.Post("/reserve", map[string]any{"amount": 2, "job_id": "down-" + strconv.Itoa(i), "timeout_seconds": 1}, in.Headers()).Expect(t, 200, "")
	}
	// Expired, and the relay started each reservation's workflow: only a
	// worker is missing for the refunds.
	for i := 0; i < 3; i++ {
		id := "RESV%23down-" + strconv.Itoa(i)
		expires, err := time.Parse(time.RFC3339Nano, c.Get("/reservations/"+id, in.Headers()).Expect(t, 200, "").Object("reservation")["expires_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		wfID := workflows.ReservationWorkflowID(reservationUUID(t, c, in, id))
		testenv.Eventually(t, 15*time.Second, "the relay to start "+wfID+" past its timeout", func() bool {
			_, err := env.Temporal.DescribeWorkflowExecution(t.Context(), wfID, "")
			return err == nil && time.Now().After(expires)
		})
	}
	if av, res := c.Balance(in.User); av != 4 || res != 6 {
		t.Fatalf("refunded without a worker: %v/%v", av, res)
	}
	// Past its timeout a reservation can't be settled, even before its refund.
	if r := c.Post("/settle", map[string]any{"reservation_id": "RESV#down-0", "amount": 1}, in.Headers()); r.Code() != "RESERVATION_CLOSED" {
		t.Fatalf("settle after the timeout: %s", r.Raw)
	}
	restart()
	for i := 0; i < 3; i++ {
		waitReservation(t, c, in, "RESV%23down-"+strconv.Itoa(i), "expired", 15*time.Second)
	}
	if av, res := c.Balance(in.User); av != 10 || res != 0 {
		t.Fatalf("balance %v/%v after the restart", av, res)
	}
	var refunds int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM journal_transactions t JOIN reservations r
		ON t.reference = 'resv:' || r.id || ':refund' WHERE r.install_id = $1`, in.ID).Scan(&refunds); err != nil || refunds != 3 {
		t.Fatalf("%d refunds (%v), want exactly 3", refunds, err)
	}
}

// With the relay paused, Temporal never hears of the reservation: the
// worker's expiry sweeper refunds it soon after its timeout, once, and the
// start that was waiting in the outbox goes with it.
func TestReservation_SweeperRefundsWhenNoWorkflowRuns(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "10", nil)
	env.StopRelay(t)
	c.Post("/reserve", map[string]any{"amount": 3, "job_id": "swept", "timeout_seconds": 1}, in.Headers()).Expect(t, 200, "")
	id := reservationUUID(t, c, in, "RESV%23swept")
	waitReservation(t, c, in, "RESV%23swept", "expired", billing.SweepGrace+15*time.Second)
	if av, res := c.Balance(in.User); av != 10 || res != 0 {
		t.Fatalf("balance %v/%v after the sweep", av, res)
	}
	var refunds, waiting int
	if err := env.Pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM journal_transactions WHERE reference = 'resv:' || $1::uuid || ':refund'),
		(SELECT count(*) FROM outbox WHERE workflow_id = 'reservation-' || $1::uuid)`, id).Scan(&refunds, &waiting); err != nil {
		t.Fatal(err)
	}
	if refunds != 1 || waiting != 0 {
		t.Fatalf("%d refunds and %d outbox rows; want 1 and 0", refunds, waiting)
	}
	if _, err := env.Temporal.DescribeWorkflowExecution(t.Context(), workflows.ReservationWorkflowID(id), ""); err == nil {
		t.Fatal("a ReservationWorkflow ran: the refund was not the sweeper's")
	}
}

func TestUninstall_CancelsOpenReservations(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "10", nil)
	c.Post("/reserve", map[string]any{"amount": 6, "job_id": "open"}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#open", "amount": 1}, in.Headers()).Expect(t, 200, "")
	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, in.User.Headers()).Expect(t, 200, "")
	if av, res := c.Balance(in.User); av != 9 || res != 0 {
		t.Fatalf("balance %v/%v", av, res)
	}
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "after"}, in.Headers()).Expect(t, 403, "FORBIDDEN")
}

func TestWalletReservationsAndVendorInbox(t *testing.T) {
	c := env.Client(t)
	vendor, a, in := billingSetup(t, c, "10", nil)
	c.Post("/reserve", map[string]any{"amount": 2, "job_id": "w-1"}, in.Headers()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 3, "job_id": "w-2"}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#w-1", "amount": 2, "final": true}, in.Headers()).Expect(t, 200, "")
	out := c.Get("/wallets/"+in.User.WalletID+"/reservations?direction=outgoing", in.User.Headers()).Expect(t, 200, "").Body["reservations"].([]any)
	inc := c.Get("/wallets/"+a.WalletID+"/reservations?direction=incoming&limit=1", vendor.Headers()).Expect(t, 200, "")
	if len(out) != 2 || out[0].(map[string]any)["reservation_id"] != "RESV#w-2" || len(inc.Body["reservations"].([]any)) != 1 ||
		inc.Object("pagination")["has_more"] != true {
		t.Fatalf("outgoing %v incoming %s", out, inc.Raw)
	}
	id := out[1].(map[string]any)["id"].(string)
	one := c.Get("/wallets/"+a.WalletID+"/reservations/"+id, vendor.Headers()).Expect(t, 200, "").Object("reservation")
	if one["status"] != "completed" || len(one["events"].([]any)) != 2 {
		t.Fatalf("reservation %v", one)
	}
	c.Get("/wallets/"+in.User.WalletID+"/reservations", vendor.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Get("/wallets/"+in.User.WalletID+"/reservations?direction=sideways", in.User.Headers()).Expect(t, 400, "INVALID_REQUEST")

	inbox := c.Get("/users/me/apps/"+a.ID+"/inbox?limit=2", vendor.Headers()).Expect(t, 200, "")
	events := inbox.Body["reservations"].([]any)
	if len(events) != 2 || events[0].(map[string]any)["event"] != "settled" || inbox.Object("pagination")["has_more"] != true {
		t.Fatalf("vendor inbox %s", inbox.Raw)
	}
	logID := strconv.Itoa(int(events[0].(map[string]any)["log_id"].(float64)))
	c.Post("/users/me/apps/"+a.ID+"/inbox/"+logID+"/ack", nil, vendor.Headers()).Expect(t, 200, "")
	unacked := c.Get("/users/me/apps/"+a.ID+"/inbox?unacknowledged=true", vendor.Headers()).Expect(t, 200, "").Body["reservations"].([]any)
	if len(unacked) != 2 {
		t.Fatalf("unacknowledged %v", unacked)
	}
	next := inbox.Object("pagination")["next_cursor"].(string)
	rest := c.Get("/users/me/apps/"+a.ID+"/inbox?cursor="+next, vendor.Headers()).Expect(t, 200, "").Body["reservations"].([]any)
	if len(rest) != 1 || rest[0].(map[string]any)["event"] != "reserved" {
		t.Fatalf("second page %v", rest)
	}
	c.Get("/users/me/apps/"+a.ID+"/inbox", in.User.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/users/me/apps/"+a.ID+"/inbox/999999999/ack", nil, vendor.Headers()).Expect(t, 404, "NOT_FOUND")
}

// TestBilling_ConcurrentReservesAndSettlesOnOneInstallNeverDeadlock runs full
// cycles from many clients on one install: reserves lock the install then the
// wallet, settles the reservation, the install, then the wallets.
func TestBilling_ConcurrentReservesAndSettlesOnOneInstallNeverDeadlock(t *testing.T) {
	c := env.Client(t)
	vendor, a, in := billingSetup(t, c, "1000", nil)
	var wg sync.WaitGroup
	var failures atomic.Int32
	for g := 0; g < 12; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				job := "dl-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				for _, step := range []struct {
					path string
					body map[string]any
				}{
					{"/reserve", map[string]any{"amount": 2, "job_id": job}},
					{"/settle", map[string]any{"reservation_id": "RESV#" + job, "amount": 0.5}},
					{"/settle", map[string]any{"reservation_id": "RESV#" + job, "amount": 0.5, "final": true}},
				} {
					if r := c.Concurrent().Post(step.path, step.body, in.Headers()); r.Status != 200 {
						failures.Add(1)
						t.Errorf("%s: %s", step.path, r.Raw)
					}
				}
			}
		}()
	}
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d steps failed", failures.Load())
	}
	if av, _ := balanceOf(t, c, a.WalletID, vendor); av != 96 {
		t.Fatalf("app wallet %v, want 96", av)
	}
	if av, res := c.Balance(in.User); av != 904 || res != 0 {
		t.Fatalf("user %v/%v, want 904/0", av, res)
	}
}

func reservationUUID(t *testing.T, c *testenv.Client, in testenv.Installed, id string) string {
	t.Helper()
	return c.Get("/reservations/"+id, in.Headers()).Expect(t, 200, "").Object("reservation")["id"].(string)
}

// TestReservationWorkflow_LongLivedIsStartedThenEndsWhenSettled: a
// reservation still open after the relay's debounce gets its workflow, and
// settling it ends the workflow through the relay's signal.
func TestReservationWorkflow_LongLivedIsStartedThenEndsWhenSettled(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "10", nil)
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "long", "timeout_seconds": 600}, in.Headers()).Expect(t, 200, "")
	wfID := workflows.ReservationWorkflowID(reservationUUID(t, c, in, "RESV%23long"))
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := env.Temporal.DescribeWorkflowExecution(t.Context(), wfID, ""); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay never started the workflow of a long-lived reservation")
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Post("/settle", map[string]any{"reservation_id": "RESV#long", "amount": 1, "final": true}, in.Headers()).Expect(t, 200, "")
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	var res workflows.ReservationResult
	if err := env.Temporal.GetWorkflow(ctx, wfID, "").Get(ctx, &res); err != nil || res.Status != "closed" {
		t.Fatalf("workflow ended %+v, %v; want closed by the settle", res, err)
	}
}

// TestReservationWorkflow_ShortLivedNeverReachesTemporal: closed within the
// debounce, a reservation lives its whole life in its own row: its start
// waits on the row (workflow_due_at), never in the outbox, and the settle's
// update clears it, so no relay can ever start its workflow.
func TestReservationWorkflow_ShortLivedNeverReachesTemporal(t *testing.T) {
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "10", nil)
	c.Post("/reserve", map[string]any{"amount": 1, "job_id": "quick", "timeout_seconds": 600}, in.Headers()).Expect(t, 200, "")
	id := reservationUUID(t, c, in, "RESV%23quick")
	wfID := workflows.ReservationWorkflowID(id)
	if due := startDue(t, id); due == nil || len(outboxRows(t, wfID)) != 0 {
		t.Fatalf("open reservation: start due %v, outbox %+v; want a start due on the row and none queued", due, outboxRows(t, wfID))
	}
	c.Post("/settle", map[string]any{"reservation_id": "RESV#quick", "amount": 1, "final": true}, in.Headers()).Expect(t, 200, "")
	if due := startDue(t, id); due != nil || len(outboxRows(t, wfID)) != 0 {
		t.Fatalf("after the settle: start due %v, outbox %+v; want neither", due, outboxRows(t, wfID))
	}
	if _, err := env.Temporal.DescribeWorkflowExecution(t.Context(), wfID, ""); err == nil {
		t.Fatal("a reservation closed within the debounce got a workflow")
	}
}

// startDue is when the reservation's workflow start is due, nil when none waits on it.
func startDue(t *testing.T, id string) *time.Time {
	t.Helper()
	var due *time.Time
	if err := env.Pool.QueryRow(t.Context(), `SELECT workflow_due_at FROM reservations WHERE id = $1`, id).Scan(&due); err != nil {
		t.Fatal(err)
	}
	return due
}

func outboxRows(t *testing.T, workflowID string) []dbgen.Outbox {
	t.Helper()
	rows, err := dbgen.New(env.Pool).ListOutboxRowsOfWorkflow(t.Context(), workflowID)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
