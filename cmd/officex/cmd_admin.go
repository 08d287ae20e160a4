package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/officex/officex/internal/cli"
	"github.com/officex/officex/internal/payouts"
)

var payoutColumns = cli.Cols("Payout", "payout_id", "App", "app_id", "Credits", "amount", "Status", "status",
	"Approved", "approved", "Destination", "destination.type", "Created", "created_at", "Alert", "alert")

func payoutsCmd() *cobra.Command {
	var status, period string
	var page pageFlags
	list := &cobra.Command{Use: "list", Short: "List payouts, newest first",
		Long: "List payouts, newest first; --status (pending, burned, needs_review, completed, failed, rejected) and --period (a batch's YYYY-MM) narrow it."}
	list.Flags().StringVar(&status, "status", "", "only payouts in this status")
	list.Flags().StringVar(&period, "period", "", "only payouts in this period's batch (YYYY-MM)")
	page.add(list)
	apiCommand(list, authAdmin, func(ctx context.Context, x *call, _ []string) error {
		q := url.Values{}
		if status != "" {
			q.Set("status", status)
		}
		if period != "" {
			q.Set("period", period)
		}
		return x.getShow(ctx, "/admin/payouts"+page.query(q), pageTable(x, payoutColumns, "payouts"))
	})

	approve := apiCommand(&cobra.Command{Use: "approve PAYOUT_ID", Short: "Approve a held payout for the next batch", Args: args("PAYOUT_ID")},
		authAdmin, func(ctx context.Context, x *call, a []string) error {
			return showPayout(ctx, x, "/admin/payouts/"+cli.PathEscape(a[0])+"/approve", nil)
		})

	var reason string
	reject := &cobra.Command{Use: "reject PAYOUT_ID --reason TEXT", Short: "Reject a pending payout (its credits go back to the app's wallet)",
		Args: args("PAYOUT_ID")}
	reject.Flags().StringVar(&reason, "reason", "", "why, for the vendor and the audit log (required)")
	apiCommand(reject, authAdmin, func(ctx context.Context, x *call, a []string) error {
		if reason == "" {
			return usageError{errors.New("officex payouts reject needs --reason")}
		}
		return showPayout(ctx, x, "/admin/payouts/"+cli.PathEscape(a[0])+"/reject", map[string]string{"reason": reason})
	})
	return group("payouts", "Review, approve and run vendor payouts", groupAdmin, list, approve, reject, payoutsRunCmd())
}

func showPayout(ctx context.Context, x *call, path string, body any) error {
	ans, err := x.api.Post(ctx, path, body)
	if err != nil {
		return err
	}
	return x.show(ans, func(w io.Writer, b cli.Object) error { return cli.Fields(w, payoutColumns, b.Obj("payout")) })
}

func treasuryCmd() *cobra.Command {
	return apiCommand(&cobra.Command{Use: "treasury", Short: "Show the treasury: the liability and where the credits are", GroupID: groupAdmin,
		Long: "Show the treasury report: the credits owed (liability, and in dollars at $0.01 per credit) and how they split."},
		authAdmin, func(ctx context.Context, x *call, _ []string) error {
			return x.getShow(ctx, "/admin/treasury", func(w io.Writer, b cli.Object) error {
				return cli.Fields(w, cli.Cols("Liability (credits)", "liability", "Liability (USD)", "liability_usd",
					"Bought", "credits_bought", "From vouchers", "credits_from_vouchers", "Adjusted", "credits_adjusted",
					"Paid out", "credits_paid_out", "Payouts held", "payouts_held", "Reserved", "reserved",
					"Users' available", "user_available", "Apps' available", "app_available"), b.Obj("treasury"))
			})
		})
}

// overAPI: reconcile and payouts run go over the API when an API URL is given
// (flag or environment), else they run on the server's environment as before.
func (f *apiFlags) overAPI() bool {
	return f.settings.APIURL != "" || os.Getenv(cli.EnvAPIURL) != ""
}

// dualHelp ends the help of the commands that run either way.
const dualHelp = `

Two ways to run it:
  over the API     when OFFICEX_API_URL (or --api-url) is set; needs OFFICEX_ADMIN_SECRET.
  on the server    otherwise: reads the server configuration (DATABASE_URL,
                   TEMPORAL_ADDRESS, OFFICEX_ENCRYPTION_KEY, ...; README, "Configuration").`

func reconcileCmd() *cobra.Command {
	var f apiFlags
	c := &cobra.Command{Use: "reconcile", Short: "Check every ledger invariant; exit 1 on a violation", GroupID: groupAdmin, Args: args(),
		Long: `Check every ledger invariant (DESIGN.md section 5) and print the report: the
violations (exit 1) and the warnings, such as purchases left open, that an
operator must look at. On the server it prints the report as JSON, as it always
has; over the API it prints tables, or the API's JSON with --json.` + dualHelp}
	f.add(c, authAdmin)
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		if !f.overAPI() {
			cfg, err := loadConfig("officex reconcile (on the server; set OFFICEX_API_URL to run it over the API)")
			if err != nil {
				return err
			}
			return reconcile(cmd.Context(), cfg)
		}
		x, err := f.call(cmd, authAdmin)
		if err != nil {
			return err
		}
		ans, err := x.api.Post(cmd.Context(), "/admin/reconcile", nil)
		if err != nil {
			return err
		}
		rep := ans.Body.Obj("report")
		if err := x.show(ans, renderReport); err != nil {
			return err
		}
		if rep.Field("ok") != true {
			return fmt.Errorf("%d ledger invariant violations", len(rep.List("violations")))
		}
		return nil
	}
	return c
}

func renderReport(w io.Writer, b cli.Object) error {
	rep := b.Obj("report")
	violations, warnings := rep.List("violations"), rep.List("warnings")
	verdict := "OK: every invariant holds"
	if rep.Field("ok") != true {
		verdict = "VIOLATED"
	}
	fmt.Fprintf(w, "Ledger: %s (%d violations, %d warnings)\n", verdict, len(violations), len(warnings))
	if len(violations) > 0 {
		fmt.Fprintln(w, "\nViolations:")
		if err := cli.Table(w, cli.Cols("Invariant", "invariant", "Subject", "subject", "Detail", "detail"), violations); err != nil {
			return err
		}
	}
	if len(warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings (README, \"Purchases left open\"):")
		return cli.Table(w, cli.Cols("Check", "check", "Subject", "subject", "Detail", "detail"), warnings)
	}
	return nil
}

// batchPoll is how often payouts run checks on a batch that is still running.
const batchPoll = 2 * time.Second

// defaultBatchWait bounds how long payouts run follows a batch (--wait).
const defaultBatchWait = 30 * time.Minute

func payoutsRunCmd() *cobra.Command {
	var f apiFlags
	var period string
	var wait time.Duration
	c := &cobra.Command{Use: "run --period YYYY-MM", Short: "Run a period's payout batch now, showing its progress", Args: args(),
		Long: `Run the payout batch of a period now (or join the run in progress), follow it
with its progress on stderr, and print its summary (with --json, the batch as
GET /admin/payouts/batches/{period} answers it). The batch pays every approved
payout not yet in a batch.` + dualHelp}
	c.Flags().StringVar(&period, "period", "", "the period to pay, YYYY-MM (required)")
	c.Flags().DurationVar(&wait, "wait", defaultBatchWait, "how long to follow the batch before leaving it running")
	f.add(c, authAdmin)
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		if !payouts.ValidPeriod(period) {
			return usageError{errors.New("--period must be YYYY-MM")}
		}
		if !f.overAPI() {
			cfg, err := loadConfig("officex payouts run (on the server; set OFFICEX_API_URL to run it over the API)")
			if err != nil {
				return err
			}
			return runPayoutsDirect(cmd.Context(), cfg, slogWarn(), period)
		}
		x, err := f.call(cmd, authAdmin)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), wait)
		defer cancel()
		return runBatch(ctx, x, period)
	}
	return c
}

// runBatch starts the batch over the API and follows it: the POST waits up
// to 30 s for the batch, answering 202 if it runs longer, so meanwhile (and
// after) the batch's payouts are polled for a progress line.
func runBatch(ctx context.Context, x *call, period string) error {
	before, err := getBatch(ctx, x, period) // a past run's row, or nil
	if err != nil {
		return err
	}
	fmt.Fprintf(x.err, "payout batch %s: starting\n", period)
	type answer struct {
		status int
		err    error
	}
	started := make(chan answer, 1)
	go func() {
		a, err := x.api.Post(ctx, "/admin/payouts/batches", map[string]string{"period": period})
		started <- answer{a.Status, err}
	}()
	tick := time.NewTicker(batchPoll)
	defer tick.Stop()
	begun, last := time.Now(), ""
	for accepted := false; ; {
		select {
		case a := <-started:
			if a.err != nil {
				return fmt.Errorf("start payout batch %s: %w", period, a.err)
			}
			if a.status == http.StatusAccepted {
				fmt.Fprintf(x.err, "payout batch %s: still running after the API's wait; following it\n", period)
			}
			accepted, started = true, nil
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("payout batch %s is still running after %s; it goes on: watch it with officex payouts list --period %s, or in the Temporal UI",
				period, time.Since(begun).Round(time.Second), period)
		}
		if line, err := batchProgress(ctx, x, period, begun); err == nil && line != last {
			fmt.Fprintln(x.err, line)
			last = line
		}
		if !accepted {
			continue
		}
		ans, err := getBatchAnswer(ctx, x, period)
		if err != nil {
			return err
		}
		if b := ans.Body.Obj("batch"); b.Text("status") == "completed" && (before == nil || b.Text("finished_at") != before.Text("finished_at")) {
			return x.show(ans, func(w io.Writer, body cli.Object) error {
				return cli.Fields(w, cli.Cols("Period", "period", "Status", "status", "Payouts", "payouts", "Completed", "completed", "Failed", "failed", "Credits paid", "total_credits", "Started", "started_at", "Finished", "finished_at", "Batch", "batch_id"), body.Obj("batch"))
			})
		}
	}
}

// batchProgress counts the period's payouts by status (the first page of
// the largest size: a progress line, not an audit).
func batchProgress(ctx context.Context, x *call, period string, begun time.Time) (string, error) {
	ans, err := x.api.Get(ctx, "/admin/payouts?"+url.Values{"period": {period}, "limit": {"100"}}.Encode())
	if err != nil {
		return "", err
	}
	counts := map[string]int{}
	list := ans.Body.List("payouts")
	for _, p := range list {
		counts[p.Text("status")]++
	}
	more := ""
	if ans.Body.Field("pagination.has_more") == true {
		more = "+"
	}
	return fmt.Sprintf("payout batch %s: running %s; %d%s payouts: %d completed, %d failed, %d needs review, %d in flight",
		period, time.Since(begun).Round(time.Second), len(list), more, counts["completed"], counts["failed"], counts["needs_review"],
		len(list)-counts["completed"]-counts["failed"]-counts["needs_review"]), nil
}

func getBatchAnswer(ctx context.Context, x *call, period string) (cli.Answer, error) {
	return x.api.Get(ctx, "/admin/payouts/batches/"+cli.PathEscape(period))
}

// getBatch is the period's batch row, or nil if it never ran.
func getBatch(ctx context.Context, x *call, period string) (cli.Object, error) {
	ans, err := getBatchAnswer(ctx, x, period)
	var apiErr *cli.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ans.Body.Obj("batch"), nil
}
