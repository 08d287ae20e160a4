// Command officex is OfficeX's one binary: the server processes (serve,
// worker, dev, migrate) and a command line client of the API for people and
// finance (login, balance, apps, payouts, ...; internal/cli). This package
// holds the command tree (commands.go) and the configuration; the server
// processes are internal/app's App, the one construction of the application.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/app"
	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/temporalclient"
	"github.com/officex/officex/internal/vouchers"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/workflows"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3"
// (make build does); without it, officex version reads the build info.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// runProcesses runs the API (serve), the worker (work) or both until ctx ends
// or one fails; dev creates and migrates the database first.
func runProcesses(ctx context.Context, cfg config.Config, log *slog.Logger, dev, serve, work bool) error {
	if dev {
		if err := migrate(ctx, cfg); err != nil {
			return err
		}
	}
	var opts []app.Option
	if serve && !work { // an API process starts while Temporal is down
		opts = append(opts, app.WithLazyTemporal())
	}
	a, err := app.New(ctx, cfg, log, opts...)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx, serve, work)
}

func migrate(ctx context.Context, cfg config.Config) error {
	if err := db.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("ensure database: %w", err)
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool); err != nil {
		return err
	}
	return sealVouchers(ctx, pool, cfg)
}

// sealVouchers replaces voucher codes stored in clear by earlier versions
// with their HMAC (migration 00015 can't: the key is not in the database).
func sealVouchers(ctx context.Context, pool *pgxpool.Pool, cfg config.Config) error {
	n, err := vouchers.New(pool, cfg.EncryptionKey).SealLegacyCodes(ctx)
	if err != nil {
		return fmt.Errorf("seal voucher codes: %w", err)
	}
	if n > 0 {
		slog.Info("sealed voucher codes stored in clear by an earlier version", "vouchers", n)
	}
	return nil
}

// reconcile prints the invariant report as JSON and fails on a violation.
func reconcile(ctx context.Context, cfg config.Config) error {
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	rep, err := ledger.CheckInvariants(ctx, pool)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(out))
	if len(rep.Warnings) > 0 {
		fmt.Fprintf(os.Stderr, "%d warnings: purchases left open need an operator (README, \"Purchases left open\")\n", len(rep.Warnings))
	}
	if !rep.OK {
		return fmt.Errorf("%d ledger invariant violations", len(rep.Violations))
	}
	return nil
}

// runPayoutsDirect is "officex payouts run" on the server's environment: it
// asks for (or joins) the period's batch through the outbox, as the API does,
// waits until a worker's relay started it, and waits for its summary.
func runPayoutsDirect(ctx context.Context, cfg config.Config, log *slog.Logger, period string) error {
	// Temporal first: without the codec key nothing may start, whatever the database says.
	tc, err := temporalclient.Dial(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	row, err := payouts.EnqueueBatchRun(ctx, pool, cfg.TaskQueue, workflows.PayoutBatchInput{Period: period, Trigger: "cli"})
	if err != nil {
		return err
	}
	run, err := payouts.BatchRun(ctx, pool, tc, row, period)
	if err != nil {
		return fmt.Errorf("payout batch %s: no worker started it (is officex worker running?): %w", period, err)
	}
	fmt.Fprintf(os.Stderr, "payout batch %s running as workflow %s (watch it in the Temporal UI)\n", period, run.GetID())
	var res workflows.PayoutBatchResult
	if err := run.Get(ctx, &res); err != nil {
		return fmt.Errorf("payout batch %s: %w", period, err)
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(out))
	return nil
}
