package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/officex/officex/workflows"
)

// check is one end-of-run check and what it found.
type check struct {
	Name   string
	OK     bool
	Detail string
}

// maxListed bounds the subjects a failed check names.
const maxListed = 10

// after is what the drain after the load measured, for the report.
type after struct {
	reservations reservationFigures
	purchases    purchaseFigures
	payouts      payoutFigures
}

type reservationFigures struct {
	Total, Expired, Open       int
	LateP50, LateP99, LateMax  time.Duration // closed_at - expires_at of expired ones
	Settled, Cancelled, Closed int
}

type purchaseFigures struct {
	Succeeded, Failed, Open, Charges int
}

type payoutFigures struct {
	Completed, Failed, Unfinished, Transfers int
}

// settleAndCheck lets the system finish what the load started (every
// process up, a last payout batch, purchases decided, reservations past
// their timeout) and runs the checks.
func (r *runner) settleAndCheck(ctx context.Context) []check {
	var checks []check
	var waitErrs []string
	for _, p := range r.stack.procs {
		if _, err := p.waitReadyAfter(ctx, 0); err != nil {
			waitErrs = append(waitErrs, err.Error())
		}
	}
	checks = append(checks, check{Name: "all four processes up after the run", OK: len(waitErrs) == 0, Detail: strings.Join(waitErrs, "; ")})
	logf("draining: a last payout batch, then waiting for payouts, purchases and reservations to finish")
	r.drainPayouts(ctx)
	r.waitUntil(ctx, "purchases decided", `SELECT count(*) FROM credit_purchases WHERE status IN ('processing', 'requires_action')`)
	r.waitReservations(ctx)
	checks = append(checks, r.checkReconcile(ctx))
	checks = append(checks, r.checkReservations(ctx))
	checks = append(checks, r.checkPurchases(ctx))
	checks = append(checks, r.checkPayouts(ctx))
	return checks
}

// drainPayouts runs the period's batch until every approved payout has
// finished: a run joined while it was going took only the payouts approved
// before it started, so the ones approved since need another.
func (r *runner) drainPayouts(ctx context.Context) {
	period := workflows.PreviousPeriod(time.Now())
	deadline := time.Now().Add(drainLimit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var unfinished int
		err := r.stack.pool.QueryRow(ctx, `SELECT count(*) FROM payouts
			WHERE status = 'burned' OR (status = 'pending' AND approved_at IS NOT NULL)`).Scan(&unfinished)
		if err == nil && unfinished == 0 {
			return
		}
		r.runBatch(ctx, period) // waits for the batch, up to the API's 30 s
	}
	logf("gave up waiting for the payouts after %s", drainLimit)
}

// waitUntil polls a count until it is 0, for at most drainLimit.
func (r *runner) waitUntil(ctx context.Context, what, countSQL string) {
	deadline := time.Now().Add(drainLimit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var n int
		if err := r.stack.pool.QueryRow(ctx, countSQL).Scan(&n); err == nil && n == 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	logf("gave up waiting for %s after %s", what, drainLimit)
}

// waitReservations waits until no reservation is open, or until the last
// open one is past its timeout plus -expiry-grace (then the check fails).
func (r *runner) waitReservations(ctx context.Context) {
	for ctx.Err() == nil {
		var open int
		var overdue bool
		err := r.stack.pool.QueryRow(ctx, `SELECT count(*), COALESCE(bool_and(now() > expires_at + $1::interval), false)
			FROM reservations WHERE status IN ('reserved', 'partial')`, fmt.Sprintf("%d seconds", int(r.o.ExpiryGrace.Seconds())+2)).Scan(&open, &overdue)
		if err == nil && (open == 0 || overdue) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// reconcileTries bounds the runs of `officex reconcile` that printed no
// report (PostgreSQL refused the connection: the server is shared).
const reconcileTries = 5

// checkReconcile runs `officex reconcile` on the run's database.
func (r *runner) checkReconcile(ctx context.Context) check {
	out, err := r.stack.officexOutput(ctx, nil, "reconcile")
	for try := 1; try < reconcileTries && err != nil && !strings.Contains(out, "{") && ctx.Err() == nil; try++ {
		time.Sleep(2 * time.Second)
		out, err = r.stack.officexOutput(ctx, nil, "reconcile")
	}
	c := check{Name: "officex reconcile clean", OK: err == nil}
	var rep struct {
		Violations []any `json:"violations"`
		Warnings   []any `json:"warnings"`
	}
	if i := strings.Index(out, "{"); i >= 0 {
		_ = json.NewDecoder(strings.NewReader(out[i:])).Decode(&rep)
	}
	c.Detail = fmt.Sprintf("%d violations, %d warnings", len(rep.Violations), len(rep.Warnings))
	if err != nil {
		c.Detail += ": " + firstLines(out, 20)
	}
	return c
}

// checkReservations: no reservation open past its timeout plus -expiry-grace,
// and none closed later than that (an expiry refunded too late).
func (r *runner) checkReservations(ctx context.Context) check {
	c := check{Name: fmt.Sprintf("no reservation open past its timeout + %s", r.o.ExpiryGrace)}
	grace := fmt.Sprintf("%d seconds", int(r.o.ExpiryGrace.Seconds()))
	f := &r.after.reservations
	err := r.stack.pool.QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE status = 'expired'),
			count(*) FILTER (WHERE status IN ('reserved', 'partial')),
			count(*) FILTER (WHERE status = 'completed'),
			count(*) FILTER (WHERE status = 'cancelled'),
			COALESCE(percentile_disc(0.5) WITHIN GROUP (ORDER BY closed_at - expires_at) FILTER (WHERE status = 'expired'), '0'),
			COALESCE(percentile_disc(0.99) WITHIN GROUP (ORDER BY closed_at - expires_at) FILTER (WHERE status = 'expired'), '0'),
			COALESCE(max(closed_at - expires_at) FILTER (WHERE status = 'expired'), '0')
		FROM reservations`).Scan(&f.Total, &f.Expired, &f.Open, &f.Settled, &f.Cancelled, &f.LateP50, &f.LateP99, &f.LateMax)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	bad, err := r.subjects(ctx, `SELECT id::text || ' (' || status || ', expires ' || to_char(expires_at, 'HH24:MI:SS') ||
			COALESCE(', closed ' || to_char(closed_at, 'HH24:MI:SS'), ', still open') || ')'
		FROM reservations
		WHERE (status IN ('reserved', 'partial') AND now() > expires_at + $1::interval)
		   OR closed_at > expires_at + $1::interval
		ORDER BY closed_at IS NOT NULL, expires_at`, grace)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	c.OK = len(bad) == 0
	c.Detail = fmt.Sprintf("%d reservations, %d expired (refunded late by at most %s), %d open", f.Total, f.Expired, f.LateMax.Round(time.Millisecond), f.Open)
	if !c.OK {
		c.Detail += "; " + r.lateCause(ctx, grace) + "; first of them: " + strings.Join(bad, ", ")
	}
	return c
}

// lateCause counts the reservations past their timeout + grace, and how
// many of them were due from -expiry-grace before the Temporal outage until
// its end (late because of it; the others are late for another reason).
func (r *runner) lateCause(ctx context.Context, grace string) string {
	r.mu.Lock()
	from, until := r.outage.downSince.Add(-r.o.ExpiryGrace), r.outage.upAt
	r.mu.Unlock()
	var late, outage, open, queued int
	err := r.stack.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE expires_at BETWEEN $2 AND $3),
			count(*) FILTER (WHERE closed_at IS NULL),
			count(*) FILTER (WHERE closed_at IS NULL AND (r.workflow_due_at IS NOT NULL
				OR EXISTS (SELECT 1 FROM outbox o WHERE o.workflow_id = 'reservation-' || r.id)))
		FROM reservations r
		WHERE (status IN ('reserved', 'partial') AND now() > expires_at + $1::interval) OR closed_at > expires_at + $1::interval`,
		grace, from, until).Scan(&late, &outage, &open, &queued)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d past their timeout + grace, %d of them due in the %s before the Temporal outage or during it; "+
		"%d of them still open (%d with their workflow's start waiting)", late, outage, r.o.ExpiryGrace, open, queued)
}

// checkPurchases: a succeeded purchase has exactly one purchase journal
// transaction, any other none and none is left undecided; the simulator
// charged exactly the succeeded purchases' PaymentIntents.
func (r *runner) checkPurchases(ctx context.Context) check {
	c := check{Name: "every purchase credited once or failed with nothing credited"}
	rows, err := r.stack.pool.Query(ctx, `SELECT p.id::text, p.status, COALESCE(p.stripe_payment_intent_id, ''), count(t.id)
		FROM credit_purchases p LEFT JOIN journal_transactions t ON t.kind = 'purchase' AND t.reference = p.id::text
		GROUP BY p.id ORDER BY p.created_at`)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	defer rows.Close()
	f := &r.after.purchases
	var bad []string
	for rows.Next() {
		var id, status, pi string
		var credits int
		if err := rows.Scan(&id, &status, &pi, &credits); err != nil {
			c.Detail = err.Error()
			return c
		}
		switch status {
		case "succeeded":
			f.Succeeded++
		case "failed":
			f.Failed++
		default:
			f.Open++
		}
		if problem := r.purchaseProblem(ctx, status, pi, credits); problem != "" {
			bad = append(bad, fmt.Sprintf("%s %s", id, problem))
		}
	}
	if err := rows.Err(); err != nil {
		c.Detail = err.Error()
		return c
	}
	f.Charges = r.stack.sim.ChargeCount()
	if f.Charges != f.Succeeded {
		bad = append(bad, fmt.Sprintf("the simulator charged %d payments for %d succeeded purchases", f.Charges, f.Succeeded))
	}
	c.OK = len(bad) == 0
	c.Detail = fmt.Sprintf("%d succeeded, %d failed, %d undecided; %d charges in the simulator", f.Succeeded, f.Failed, f.Open, f.Charges)
	if !c.OK {
		c.Detail += "; " + joinFirst(bad)
	}
	return c
}

// purchaseProblem is what is wrong with one purchase, or "".
func (r *runner) purchaseProblem(ctx context.Context, status, pi string, credits int) string {
	switch {
	case status == "succeeded" && credits != 1:
		return fmt.Sprintf("succeeded with %d purchase credits", credits)
	case status != "succeeded" && credits != 0:
		return fmt.Sprintf("%s with %d purchase credits", status, credits)
	case status != "succeeded" && status != "failed":
		return "still " + status
	case pi == "":
		return "" // failed before Stripe was asked
	}
	var intent struct {
		Status string `json:"status"`
	}
	if err := r.simGet(ctx, "/v1/payment_intents/"+url.PathEscape(pi), &intent); err != nil {
		return "PaymentIntent " + pi + " unreadable: " + err.Error()
	}
	if (intent.Status == "succeeded") != (status == "succeeded") {
		return fmt.Sprintf("%s but its PaymentIntent %s is %s", status, pi, intent.Status)
	}
	return ""
}

// checkPayouts: no payout was paid twice (one transfer per payout in the
// simulator at most), a completed payout has exactly the transfer it
// stored, a failed one none, and every approved payout finished.
func (r *runner) checkPayouts(ctx context.Context) check {
	c := check{Name: "every payout paid at most once"}
	transfers, listed, err := r.simTransfers(ctx)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	var bad []string
	if total := r.stack.sim.TransferCount(); total != listed {
		bad = append(bad, fmt.Sprintf("the simulator made %d transfers, %d of them to the vendors' accounts", total, listed))
	}
	rows, err := r.stack.pool.Query(ctx, `SELECT id::text, status, COALESCE(stripe_id, ''), approved_at IS NOT NULL FROM payouts ORDER BY created_at`)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	defer rows.Close()
	f := &r.after.payouts
	f.Transfers = listed
	for rows.Next() {
		var id, status, stripeID string
		var approved bool
		if err := rows.Scan(&id, &status, &stripeID, &approved); err != nil {
			c.Detail = err.Error()
			return c
		}
		paid := transfers[id]
		delete(transfers, id)
		switch {
		case len(paid) > 1:
			bad = append(bad, fmt.Sprintf("payout %s paid %d times (%s)", id, len(paid), strings.Join(paid, ", ")))
		case status == "completed" && (len(paid) != 1 || paid[0] != stripeID):
			bad = append(bad, fmt.Sprintf("payout %s completed with %q but transfers %v", id, stripeID, paid))
		case (status == "failed" || status == "rejected") && len(paid) > 0:
			bad = append(bad, fmt.Sprintf("payout %s %s although transfer %s paid it", id, status, paid[0]))
		case status == "burned" || status == "needs_review" || (status == "pending" && approved):
			bad = append(bad, fmt.Sprintf("payout %s still %s", id, status))
		}
		switch status {
		case "completed":
			f.Completed++
		case "failed", "rejected":
			f.Failed++
		default:
			f.Unfinished++
		}
	}
	if err := rows.Err(); err != nil {
		c.Detail = err.Error()
		return c
	}
	for id, paid := range transfers {
		bad = append(bad, fmt.Sprintf("transfers %v for payout %s, which is not in the database", paid, id))
	}
	c.OK = len(bad) == 0
	c.Detail = fmt.Sprintf("%d completed, %d failed, %d unfinished; %d transfers in the simulator", f.Completed, f.Failed, f.Unfinished, listed)
	if !c.OK {
		c.Detail += "; " + joinFirst(bad)
	}
	return c
}

// simTransfers lists the transfers to the vendors' accounts by the payout
// id in their metadata, and how many there are.
func (r *runner) simTransfers(ctx context.Context) (map[string][]string, int, error) {
	out := map[string][]string{}
	listed := 0
	for _, v := range r.fx.vendors {
		var page struct {
			Data []struct {
				ID       string            `json:"id"`
				Metadata map[string]string `json:"metadata"`
			} `json:"data"`
			HasMore bool `json:"has_more"`
		}
		if err := r.simGet(ctx, "/v1/transfers?limit=100&destination="+url.QueryEscape(v.Account), &page); err != nil {
			return nil, 0, err
		}
		if page.HasMore {
			return nil, 0, fmt.Errorf("more than 100 transfers to %s: the check can't list them", v.Account)
		}
		for _, t := range page.Data {
			out[t.Metadata["payout_id"]] = append(out[t.Metadata["payout_id"]], t.ID)
			listed++
		}
	}
	return out, listed, nil
}

// simGet reads an object from the run's Stripe simulator.
func (r *runner) simGet(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.stack.simURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+simKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, into)
}

// subjects runs a query of one text column, at most maxListed rows.
func (r *runner) subjects(ctx context.Context, sql string, args ...any) ([]string, error) {
	rows, err := r.stack.pool.Query(ctx, sql+fmt.Sprintf(" LIMIT %d", maxListed), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func joinFirst(list []string) string {
	if len(list) > maxListed {
		return strings.Join(list[:maxListed], "; ") + fmt.Sprintf("; and %d more", len(list)-maxListed)
	}
	return strings.Join(list, "; ")
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
