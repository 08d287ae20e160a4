package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/officex/officex/workflows"
)

// The load's shape.
const (
	cycleTimeout = 20 // timeout_seconds of a reservation a cycle means to close
	// cyclePause spaces one client's cycles: the run checks behaviour under
	// faults, not throughput, and the Temporal dev server shares two cores
	// with the rest (make bench measures throughput).
	cyclePause      = 50 * time.Millisecond
	abandonTimeout  = 5 // and of one it leaves to expire (plus 0-5 s)
	purchaseClients = 2
	purchasePace    = time.Second // between two purchases of one purchase client
	purchaseTries   = 3           // same idempotency key, the other server after a failure
	payoutWave      = 15 * time.Second
	payoutTries     = 3
	payoutCredits   = 100 // payouts.MinCredits
)

// Cards of the simulator that the purchases pay with: four of five succeed.
// Spread over several cards so the per-card velocity limit
// (purchases.MaxPurchasesPerCard per hour) is not what a run measures.
var (
	goodCards = []string{"tok_visa", "tok_visa_debit", "tok_mastercard", "tok_mastercard_debit", "tok_mastercard_prepaid",
		"tok_amex", "tok_discover", "tok_diners", "tok_jcb", "tok_unionpay"}
	badCards = []string{"tok_chargeDeclined", "tok_chargeDeclinedInsufficientFunds", "tok_chargeDeclinedExpiredCard",
		"tok_chargeDeclinedIncorrectCvc"}
)

// next is the server of the next request: the load alternates between them,
// even within one cycle (reserve on one, settle on the other).
func (r *runner) next() int { return int(r.rr.Add(1) % uint64(len(r.stack.serveURLs))) }

func (r *runner) count(m map[string]int, key string) {
	r.mu.Lock()
	m[key]++
	r.mu.Unlock()
}

// billingLoop runs billing cycles, as make bench does, until ctx ends. Of
// ten cycles six reserve -> sip -> final settle, two reserve -> cancel, and
// two leave the reservation open (one after a sip) for its timeout.
func (r *runner) billingLoop(ctx context.Context, w int) {
	for n := 0; ctx.Err() == nil; n++ {
		in := r.fx.installs[(w+n*r.o.Concurrency)%len(r.fx.installs)]
		job := fmt.Sprintf("c-%s-%d-%d", r.run, w, n)
		kind := []string{"settle", "settle", "settle", "settle", "settle", "settle", "cancel", "cancel", "expire after sip", "expire"}[n%10]
		timeout := cycleTimeout
		if kind == "expire" || kind == "expire after sip" {
			timeout = abandonTimeout + n%6
		}
		outcome := "done"
		if err := r.cycle(ctx, in, job, kind, timeout); err != nil {
			if ctx.Err() != nil {
				return
			}
			outcome = "broken"
			time.Sleep(100 * time.Millisecond) // a server is down: don't spin
		}
		r.count(r.cycles, kind+": "+outcome)
		select {
		case <-ctx.Done():
		case <-time.After(cyclePause):
		}
	}
}

func (r *runner) cycle(ctx context.Context, in install, job, kind string, timeout int) error {
	a, err := r.step(ctx, "reserve", "/reserve", map[string]any{"amount": 1, "job_id": job, "timeout_seconds": timeout}, in)
	if err != nil {
		return err
	}
	path := "/reservations/" + url.PathEscape(a.str("reservation_id"))
	switch kind {
	case "settle":
		if _, err := r.step(ctx, "sip", path+"/settle", map[string]any{"amount": 0.5}, in); err != nil {
			return err
		}
		_, err = r.step(ctx, "settle", "/settle", map[string]any{"reservation_id": a.str("reservation_id"), "amount": 0.25, "final": true}, in)
	case "cancel":
		_, err = r.step(ctx, "cancel", path+"/cancel", nil, in)
	case "expire after sip":
		_, err = r.step(ctx, "sip", path+"/settle", map[string]any{"amount": 0.5}, in)
	}
	return err
}

// step is one billing request on the next server; anything but 200 breaks
// the cycle (the reservation is then left to its timeout).
func (r *runner) step(ctx context.Context, route, path string, body any, in install) (answer, error) {
	a, err := r.api.call(ctx, r.next(), route, http.MethodPost, path, body, in.headers())
	if err != nil {
		return a, err
	}
	if a.Status != http.StatusOK {
		return a, fmt.Errorf("%s: %d %s", route, a.Status, a.Code)
	}
	return a, nil
}

// purchaseLoop buys credits until ctx ends: one purchase every
// purchasePace, retried with its idempotency key on the other server when
// the answer is lost or a 5xx.
func (r *runner) purchaseLoop(ctx context.Context, g int) {
	for k := g; ctx.Err() == nil; k += purchaseClients {
		buyer := r.fx.buyers[k%len(r.fx.buyers)]
		card := goodCards[k%len(goodCards)]
		if k%5 == 4 {
			card = badCards[(k/5)%len(badCards)]
		}
		body := map[string]any{"amount": 17 + k%30, "payment_method": map[string]any{"type": "card", "token": card},
			"idempotency_key": fmt.Sprintf("chaos-%s-p%d", r.run, k)}
		r.count(r.purchase, r.purchaseOnce(ctx, buyer, body))
		select {
		case <-ctx.Done():
		case <-time.After(purchasePace):
		}
	}
}

func (r *runner) purchaseOnce(ctx context.Context, buyer user, body map[string]any) string {
	outcome := ""
	for try := 0; try < purchaseTries && ctx.Err() == nil; try++ {
		a, err := r.api.call(ctx, r.next(), "purchase-credits", http.MethodPost, "/purchase-credits", body, buyer.headers())
		switch {
		case err != nil:
			outcome = "no answer"
			continue
		case a.Status >= 500:
			outcome = fmt.Sprintf("%d %s", a.Status, a.Code)
			continue
		case a.Status == http.StatusOK:
			return "credited"
		case a.Status == http.StatusAccepted:
			return "pending (202)"
		}
		return fmt.Sprintf("%d %s", a.Status, a.Code)
	}
	return "gave up: " + outcome
}

// payoutLoop runs a payout wave every payoutWave: each vendor asks for a
// payout to its Stripe account and the admin approves it; then the admin
// starts the period's batch (joining the run that is going, if any) unless
// the last request for it is still waiting on the batch.
func (r *runner) payoutLoop(ctx context.Context) {
	period := workflows.PreviousPeriod(time.Now())
	batch := make(chan struct{}, 1) // one batch request at a time
	var wg sync.WaitGroup
	defer wg.Wait()
	for wave := 0; ; wave++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(r.start.Add(3*time.Second + time.Duration(wave)*payoutWave))):
		}
		for _, v := range r.fx.vendors {
			r.payoutRequest(ctx, v, wave)
		}
		select {
		case batch <- struct{}{}:
		default:
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-batch }()
			if r.runBatch(ctx, period) {
				r.mu.Lock()
				r.payouts.BatchRuns++
				r.mu.Unlock()
			}
		}()
	}
}

func (r *runner) payoutRequest(ctx context.Context, v vendor, wave int) {
	body := map[string]any{"wallet_id": v.AppWallet, "amount": payoutCredits + wave,
		"destination":     map[string]any{"type": "stripe", "account_id": v.Account},
		"idempotency_key": fmt.Sprintf("chaos-%s-w%d", r.run, wave)}
	id := ""
	for try := 0; try < payoutTries && id == "" && ctx.Err() == nil; try++ {
		a, err := r.api.call(ctx, r.next(), "payout", http.MethodPost, "/payout", body, v.headers())
		if err == nil && a.Status == http.StatusOK {
			id = a.str("payout_id")
		}
	}
	if id == "" {
		r.noteWaveError()
		return
	}
	r.mu.Lock()
	r.payouts.Requested++
	r.mu.Unlock()
	for try := 0; try < payoutTries && ctx.Err() == nil; try++ {
		a, err := r.api.call(ctx, r.next(), "admin approve", http.MethodPost, "/admin/payouts/"+id+"/approve", nil, r.admin())
		// 409: approved already, by an attempt whose answer was lost.
		if err == nil && (a.Status == http.StatusOK || a.Status == http.StatusConflict) {
			r.mu.Lock()
			r.payouts.Approved++
			r.mu.Unlock()
			return
		}
	}
	r.noteWaveError()
}

// runBatch starts (or joins) the period's batch; true once a server took it.
func (r *runner) runBatch(ctx context.Context, period string) bool {
	for try := 0; try < payoutTries && ctx.Err() == nil; try++ {
		a, err := r.api.call(ctx, r.next(), "admin payout batch", http.MethodPost, "/admin/payouts/batches", map[string]any{"period": period}, r.admin())
		if err == nil && (a.Status == http.StatusOK || a.Status == http.StatusAccepted) {
			return true
		}
		time.Sleep(time.Second)
	}
	r.noteWaveError()
	return false
}

func (r *runner) noteWaveError() {
	r.mu.Lock()
	r.payouts.WaveErrors++
	r.mu.Unlock()
}
