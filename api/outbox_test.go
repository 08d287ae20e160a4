package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/api"
	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/outbox"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

// proxiedTemporal is a Temporal client that reaches the dev server through a
// StallProxy (dialled before any stall: dialling checks the server).
func proxiedTemporal(t *testing.T) (*testenv.StallProxy, client.Client) {
	t.Helper()
	proxy := testenv.NewStallProxy(t, env.Config.TemporalAddress)
	tc, err := client.Dial(client.Options{HostPort: proxy.Addr, Namespace: env.Config.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return proxy, tc
}

// TestOutbox_RequestsCommitWithTemporalStalled (issue 12 point 6): every
// request that starts a workflow (install, rate-limit change, uninstall
// with an open reservation, which locks the user's wallet, and a purchase)
// or signals one (Stripe's webhook completing a 3-D Secure purchase)
// commits and answers while the API's own Temporal connection is stalled:
// none calls Temporal, let alone inside its transaction. The package's
// relay then starts each workflow under its business id: the webhooks
// arrive and the purchase is credited.
func TestOutbox_RequestsCommitWithTemporalStalled(t *testing.T) {
	proxy, tc := proxiedTemporal(t)
	srv := httptest.NewServer(env.NewHandler(func(d *api.Deps) {
		d.Temporal = tc
		d.Apps = env.AppsOn(tc)
		d.Purchases = purchases.New(env.Pool, tc, env.Config.TaskQueue, env.Box, true)
	}))
	t.Cleanup(srv.Close)
	c := env.ClientFor(t, srv.URL)
	_, a, rc := appWithReceiver(t, c, map[string]any{})
	u := c.NewUser()
	c.Fund(u.WalletID, "10")
	proxy.Stall()

	in := c.Install(u, a.ID, nil)
	c.Post("/reserve", map[string]any{"amount": 2, "job_id": "open", "timeout_seconds": 600}, in.Headers()).Expect(t, 200, "")
	c.Do(http.MethodPatch, "/users/me/installs/"+in.ID, map[string]any{"max_per_hour": 7}, u.Headers()).Expect(t, 200, "")
	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, u.Headers()).Expect(t, 200, "")
	r := c.Post("/purchase-credits", purchase(20, "tok_visa", "outbox-stalled"), u.Headers()).Expect(t, 200, "")
	pi := c.Post("/purchase-credits", purchase(20, "tok_threeDSecure2Required", "outbox-stalled-3ds"), u.Headers()).
		Expect(t, 202, "").String("payment_intent_id")
	event, err := env.Stripe.CompleteAction(pi, true)
	if err != nil {
		t.Fatal(err)
	}
	sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, "")
	if !proxy.Stalled() {
		t.Fatal("the proxy was resumed during the requests")
	}

	if r.Body["credits_added"] != 20.0 {
		t.Fatalf("purchase answer %s: want it credited by the workflow the relay started", r.Raw)
	}
	testenv.Eventually(t, 30*time.Second, "the 3-D Secure purchase credited through the relayed signal", func() bool {
		_, status, _ := purchaseRow(t, u.ID, "outbox-stalled-3ds")
		return status == "succeeded"
	})
	if av, res := c.Balance(u); av != 50 || res != 0 {
		t.Fatalf("balance %v/%v: want the cancelled reservation back and both purchases credited", av, res)
	}
	purchaseID, _, _ := purchaseRow(t, u.ID, "outbox-stalled")
	if _, err := env.Temporal.DescribeWorkflowExecution(t.Context(), workflows.CreditPurchaseWorkflowID(purchaseID), ""); err != nil {
		t.Fatalf("the purchase's workflow is not credit-purchase-<purchase id>: %v", err)
	}
	events := map[string]bool{}
	for _, h := range rc.WaitFor(t, 3, 15*time.Second) {
		events[h.Envelope.Event] = h.Verified
	}
	if !events["INSTALL"] || !events["RATE_LIMIT_CHANGE"] || !events["UNINSTALL"] {
		t.Fatalf("webhooks delivered (verified): %v", events)
	}
	rows, err := dbgen.New(env.Pool).ListOutboxRowsOfWorkflow(t.Context(), workflows.CreditPurchaseWorkflowID(purchaseID))
	if err != nil || len(rows) != 0 {
		t.Fatalf("outbox rows of the purchase left: %+v (%v)", rows, err)
	}
}

// TestOutboxRelay_TemporalStalledSettlesStillComplete (issue 12 point 7):
// the relay has leased the start rows of open reservations and is calling a
// Temporal that does not answer; settling those reservations completes
// while the relay's calls are still hanging (the relay holds no lock on
// them), and once Temporal answers again the workflows are started and
// then ended by the settles' signals.
func TestOutboxRelay_TemporalStalledSettlesStillComplete(t *testing.T) {
	env.StopRelay(t)
	proxy, tc := proxiedTemporal(t)
	c := env.Client(t)
	_, _, in := billingSetup(t, c, "10", nil)
	const n = 4
	wfIDs := make([]string, n)
	for i := range n {
		job := fmt.Sprintf("stall-%d", i)
		c.Post("/reserve", map[string]any{"amount": 1, "job_id": job, "timeout_seconds": 600}, in.Headers()).Expect(t, 200, "")
		wfIDs[i] = workflows.ReservationWorkflowID(reservationUUID(t, c, in, "RESV%23"+job))
	}
	proxy.Stall()
	calls := newCountingTemporal(tc)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); env.NewRelay(calls).Run(ctx) }()
	t.Cleanup(func() { cancel(); proxy.Resume(); wg.Wait() })

	// After the start debounce the relay calls Temporal for every
	// reservation, and the calls hang in the stall.
	testenv.Eventually(t, 30*time.Second, "the relay calls the stalled Temporal for each reservation", func() bool {
		started, _ := calls.counts(wfIDs)
		return started == n && proxy.Held() > 0
	})

	for i := range n {
		c.Post("/settle", map[string]any{"reservation_id": fmt.Sprintf("RESV#stall-%d", i), "amount": 1, "final": true},
			in.Headers()).Expect(t, 200, "")
	}
	// The settles are done while every call is still hanging: they waited
	// on nothing the relay holds.
	if started, returned := calls.counts(wfIDs); started != n || returned != 0 || !proxy.Stalled() {
		t.Fatalf("settles done with %d start calls made, %d returned (stalled %v): want %d hanging", started, returned, proxy.Stalled(), n)
	}
	for _, id := range wfIDs {
		rows := outboxRows(t, id)
		if len(rows) != 2 || rows[0].LeaseUntil == nil || rows[1].SignalName == nil {
			t.Fatalf("outbox of %s after the settle: %+v; want the leased start kept, then the close signal", id, rows)
		}
	}
	proxy.Resume()

	testenv.Eventually(t, time.Minute, "the relay starts the workflows once Temporal answers", func() bool {
		for _, id := range wfIDs {
			if _, err := env.Temporal.DescribeWorkflowExecution(t.Context(), id, ""); err != nil {
				return false
			}
		}
		return true
	})
	for _, id := range wfIDs {
		wctx, wcancel := context.WithTimeout(t.Context(), time.Minute)
		var res workflows.ReservationResult
		err := env.Temporal.GetWorkflow(wctx, id, "").Get(wctx, &res)
		wcancel()
		if err != nil || res.Status != "closed" {
			t.Fatalf("workflow %s ended %+v, %v; want started after the stall and closed by the settle", id, res, err)
		}
	}
	testenv.Eventually(t, 30*time.Second, "the relayed rows are deleted", func() bool {
		for _, id := range wfIDs {
			if len(outboxRows(t, id)) != 0 {
				return false
			}
		}
		return true
	})
}

// countingTemporal counts, per workflow id, the start calls made through it
// and those that have returned.
type countingTemporal struct {
	client.Client
	mu       sync.Mutex
	starts   map[string]int
	returned map[string]int
}

func newCountingTemporal(tc client.Client) *countingTemporal {
	return &countingTemporal{Client: tc, starts: map[string]int{}, returned: map[string]int{}}
}

func (c *countingTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	c.mu.Lock()
	c.starts[o.ID]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.returned[o.ID]++
		c.mu.Unlock()
	}()
	return c.Client.ExecuteWorkflow(ctx, o, wf, args...)
}

// counts are the start calls made for ids and how many have returned.
func (c *countingTemporal) counts(ids []string) (started, returned int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		started += c.starts[id]
		returned += c.returned[id]
	}
	return started, returned
}

// TestOutboxRelay_RelaysShareRowsAndRepeatsAreHarmless: three relays drain
// one outbox together, each row relayed by exactly one of them; a second
// row for a workflow already started (a relay that died between the start
// and the delete) is relayed without error and starts nothing new.
func TestOutboxRelay_RelaysShareRowsAndRepeatsAreHarmless(t *testing.T) {
	env.StopRelay(t)
	run := uuid.NewString()[:8]
	const n = 60
	ids := make([]string, n)
	err := db.InTx(t.Context(), env.Pool, func(tx pgx.Tx) error {
		for i := range n {
			ids[i] = fmt.Sprintf("outbox-test-%s-%d", run, i)
			s := outbox.Start{Kind: "test", WorkflowID: ids[i], WorkflowType: "PingWorkflow", Input: workflows.PingInput{Note: ids[i]}}
			if err := outbox.Enqueue(t.Context(), tx, s); err != nil {
				return err
			}
			if i == 0 { // the repeat
				if err := outbox.Enqueue(t.Context(), tx, s); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	counter := newCountingTemporal(env.Temporal)
	relay := env.NewRelay(counter)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := relay.Once(t.Context())
				if err != nil || k == 0 {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("relay: %v", err)
		}
	}
	for i, id := range ids {
		want := 1
		if i == 0 {
			want = 2
		}
		if got := counter.starts[id]; got != want {
			t.Errorf("%s: %d start calls, want %d", id, got, want)
		}
		if rows := outboxRows(t, id); len(rows) != 0 {
			t.Errorf("%s: %d outbox rows left", id, len(rows))
		}
	}
	var res workflows.PingResult
	if err := env.Temporal.GetWorkflow(t.Context(), ids[0], "").Get(t.Context(), &res); err != nil || res.Note != ids[0] {
		t.Fatalf("ping %+v, %v", res, err)
	}
}
