// Command officex is OfficeX's one binary: the server processes (serve,
// worker, dev, migrate) and a command line client of the API for people and
// finance (login, balance, apps, payouts, ...; internal/cli). This package
// only wires: the command tree (commands.go), configuration, connections, and
// the processes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5/pgxpool"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/api"
	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/internal/chat"
	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/mail"
	"github.com/officex/officex/internal/mailout"
	"github.com/officex/officex/internal/metrics"
	"github.com/officex/officex/internal/outbox"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/prompts"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/refs"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/internal/stripesim"
	"github.com/officex/officex/internal/temporalclient"
	"github.com/officex/officex/internal/uploads"
	"github.com/officex/officex/internal/usdc"
	"github.com/officex/officex/internal/vouchers"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/worker"
	"github.com/officex/officex/workflows"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3"
// (make build does); without it, officex version reads the build info.
var version string

// shutdownGrace is how long in-flight requests get to finish on SIGTERM.
const shutdownGrace = 20 * time.Second

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
	app, err := connect(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.close()
	// The first part to stop stops the other; both finish before the
	// connections close, so the worker drains with a live Temporal client.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := []func(context.Context) error{app.serveMetrics}
	if serve {
		parts = append(parts, app.serve)
	}
	if work {
		parts = append(parts, app.work)
	}
	errc := make(chan error, len(parts))
	for _, part := range parts {
		go func() { errc <- part(ctx) }()
	}
	var errs []error
	for range parts {
		errs = append(errs, <-errc)
		cancel()
	}
	return errors.Join(errs...)
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

type app struct {
	cfg      config.Config
	log      *slog.Logger
	pool     *pgxpool.Pool
	temporal client.Client
	box      *secretbox.Box
	stripe   *stripeclient.API
	// stripeConfigured: a STRIPE_SECRET_KEY, or the simulator of make dev.
	stripeConfigured bool
	usdc             *usdc.Client // nil: USDC payouts are not configured
	metrics          *metrics.Metrics
	closers          []func()
}

func connect(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	m.WatchDatabase(pool)
	temporalMetrics, stopTemporalMetrics := m.TemporalHandler(log)
	tc, err := temporalclient.Dial(ctx, cfg, log, temporalMetrics)
	if err != nil {
		stopTemporalMetrics()
		pool.Close()
		return nil, err
	}
	a := &app{cfg: cfg, log: log, pool: pool, temporal: tc, metrics: m, closers: []func(){stopTemporalMetrics}}
	if a.box, err = secretbox.New(cfg.EncryptionKey, cfg.EncryptionOldKeys...); err != nil {
		a.close()
		return nil, err
	}
	if err := a.connectStripe(); err != nil {
		a.close()
		return nil, err
	}
	if a.usdc, err = usdcClient(cfg); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// usdcClient is the Solana client when SOLANA_RPC_URL, SOLANA_PAYER_KEYPAIR
// and USDC_MINT are all set, and nil (USDC payouts refused) when none is.
func usdcClient(cfg config.Config) (*usdc.Client, error) {
	if cfg.SolanaRPCURL == "" && cfg.SolanaPayerKeypair == "" && cfg.USDCMint == "" {
		return nil, nil
	}
	payer, err := usdc.ParsePayerKeypair(cfg.SolanaPayerKeypair)
	if err != nil {
		return nil, fmt.Errorf("SOLANA_PAYER_KEYPAIR: %w", err)
	}
	mint, err := solana.PublicKeyFromBase58(cfg.USDCMint)
	if err != nil {
		return nil, fmt.Errorf("USDC_MINT: %w", err)
	}
	c := usdc.Config{RPCURL: cfg.SolanaRPCURL, Payer: payer, Mint: mint}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("USDC payouts: %w", err)
	}
	return usdc.New(c), nil
}

// connectStripe makes the Stripe client. With no STRIPE_SECRET_KEY in testing
// mode (make dev), it serves the Stripe test-mode simulator on loopback so
// purchases with Stripe's test tokens work locally.
func (a *app) connectStripe() error {
	key, base := a.cfg.StripeSecretKey, a.cfg.StripeAPIBase
	if key == "" {
		if !a.cfg.TestingMode {
			a.log.Warn("STRIPE_SECRET_KEY is not set: credit purchases answer 503 SERVICE_UNAVAILABLE")
		} else {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("stripe simulator: %w", err)
			}
			srv := &http.Server{Handler: stripesim.New(), ReadHeaderTimeout: 10 * time.Second}
			go srv.Serve(l) //nolint:errcheck // ends with Close
			a.closers = append(a.closers, func() { srv.Close() })
			key, base = "sk_test_officex_dev", "http://"+l.Addr().String()
			a.log.Info("no STRIPE_SECRET_KEY: using the Stripe test-mode simulator (tok_visa succeeds, tok_chargeDeclined declines)", "url", base)
		}
	}
	a.stripe, a.stripeConfigured = activities.NewStripeClient(key, base), key != ""
	return nil
}

func (a *app) apps() *apps.Service {
	opt := apps.DefaultOptions
	opt.AllowPrivateURLs, opt.TaskQueue = a.cfg.AllowPrivateURLs, a.cfg.TaskQueue
	s := apps.New(a.pool, a.temporal, a.box, opt)
	s.OnUninstall = billing.New(a.pool).CancelOpenForInstall
	return s
}

func (a *app) close() {
	for _, c := range a.closers {
		c()
	}
	a.temporal.Close()
	a.pool.Close()
}

func (a *app) serve(ctx context.Context) error {
	store, err := uploadStore(ctx, a.cfg)
	if err != nil {
		return err
	}
	if err := sealVouchers(ctx, a.pool, a.cfg); err != nil {
		return err
	}
	accountsSvc := accounts.New(a.pool, mailout.NewQueue(a.box), a.log, a.cfg.TestingMode, accounts.DefaultThrottle).WithSecrets(a.cfg.EncryptionKey)
	accountsSvc.OnCode = a.metrics.ObserveCode
	deps := api.Deps{
		Config: a.cfg, Pool: a.pool, Temporal: a.temporal, Log: a.log, Metrics: a.metrics,
		Accounts:  accountsSvc,
		Purchases: purchases.New(a.pool, a.temporal, a.cfg.TaskQueue, a.box, a.stripeConfigured).WithCardLookup(a.stripe),
		Vouchers:  vouchers.New(a.pool, a.cfg.EncryptionKey),
		Apps:      a.apps(),
		Billing:   billing.New(a.pool),
		Payouts:   payouts.New(a.pool, a.usdc != nil).WithAccounts(payouts.StripeAccounts{API: a.stripe}),
		Uploads:   store,
		Chats:     a.chats(),
		Agent:     a.agent(),
		Prompts:   prompts.New(a.pool),
		Refs:      refs.New(a.pool),
		Schedules: a.schedules(),
	}
	if deps.Agent == nil {
		a.log.Warn("OPENAI_API_KEY is not set: the chat listener answers 503")
	}
	apiSrv := &http.Server{Addr: a.cfg.HTTPAddr, Handler: api.NewServer(deps),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	// A stream lasts up to a turn: no write timeout; the body is small and read first.
	chatSrv := &http.Server{Addr: a.cfg.ChatAddr, Handler: api.NewChatHandler(deps),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	a.log.Info("serving API and chat", "addr", a.cfg.HTTPAddr, "chat_addr", a.cfg.ChatAddr, "testing_mode", a.cfg.TestingMode)
	return serveAll(ctx, apiSrv, chatSrv)
}

// serveMetrics serves /metrics on OFFICEX_METRICS_ADDR, a listener of its
// own that is never the public API's, for as long as the process runs.
func (a *app) serveMetrics(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	srv := &http.Server{Addr: a.cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second}
	a.log.Info("serving metrics", "addr", a.cfg.MetricsAddr, "path", "/metrics")
	return serveAll(ctx, srv)
}

// serveAll runs the servers until ctx ends or one fails, then drains them:
// stop accepting, let in-flight requests finish within the grace.
func serveAll(ctx context.Context, servers ...*http.Server) error {
	errc := make(chan error, len(servers))
	for _, srv := range servers {
		go func() { errc <- srv.ListenAndServe() }()
	}
	var first error
	select {
	case first = <-errc:
		first = fmt.Errorf("http server: %w", first)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	errs := []error{first}
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown %s: %w", srv.Addr, err))
		}
	}
	return errors.Join(errs...)
}

func (a *app) chats() *chat.Service { return chat.NewService(a.pool, a.cfg.ChatDailyTokens) }

// agent is the chat agent, or nil without OPENAI_API_KEY.
func (a *app) agent() *chat.Agent {
	if a.cfg.OpenAIAPIKey == "" {
		return nil
	}
	return chat.NewAgent(a.chats(), a.apps(), chat.AgentConfig{APIKey: a.cfg.OpenAIAPIKey, BaseURL: a.cfg.OpenAIBaseURL,
		Model: a.cfg.OpenAIModel, AllowPrivateURLs: a.cfg.AllowPrivateURLs})
}

// schedules is the schedules service; its Temporal Schedules run on the task
// queue, its inbox messages link threads under OFFICEX_PUBLIC_URL.
func (a *app) schedules() *schedules.Service {
	return schedules.New(a.pool, a.temporal, a.chats(), schedules.Options{TaskQueue: a.cfg.TaskQueue, PublicURL: a.cfg.PublicURL}, a.log)
}

// uploadStore is S3 when S3_BUCKET is set, else the local store under
// OFFICEX_UPLOAD_DIR (created if missing) whose files this API serves.
func uploadStore(ctx context.Context, cfg config.Config) (uploads.Store, error) {
	if cfg.S3Bucket != "" {
		return uploads.NewS3(ctx, uploads.S3Options{Bucket: cfg.S3Bucket, Endpoint: cfg.S3Endpoint,
			Region: cfg.S3Region, MaxBytes: cfg.UploadMaxBytes})
	}
	return uploads.NewLocal(uploads.LocalOptions{Dir: cfg.UploadDir, MaxBytes: cfg.UploadMaxBytes,
		PublicURL: cfg.PublicURL, EncryptionKey: cfg.EncryptionKey})
}

func (a *app) work(ctx context.Context) error {
	agent := a.agent()
	if agent == nil {
		a.log.Warn("OPENAI_API_KEY is not set: scheduled chat runs fail until it is")
	}
	if err := worker.CheckSearchAttributes(ctx, a.temporal, a.cfg.TemporalNamespace, workflows.RequiredSearchAttributes); err != nil {
		return err
	}
	sender, err := a.mailSender()
	if err != nil {
		return err
	}
	w := worker.New(a.temporal, a.cfg.TaskQueue, worker.Deps{Pool: a.pool, Stripe: a.stripe, Box: a.box,
		Apps: a.apps(), Billing: billing.New(a.pool), Payouts: payouts.New(a.pool, a.usdc != nil), USDC: a.usdc,
		WebhookClient: activities.NewWebhookClient(a.cfg.AllowPrivateURLs), Schedules: a.schedules(), Agent: agent,
		Mail: sender})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	a.log.Info("worker started", "task_queue", a.cfg.TaskQueue)
	go a.ensureSchedules(ctx)
	relay := &outbox.Relay{Pool: a.pool, Temporal: a.temporal, TaskQueue: a.cfg.TaskQueue, Log: a.log}
	relayDone := make(chan struct{})
	go func() { relay.Run(ctx); close(relayDone) }()
	// Schedule rows whose Temporal Schedule lags (Temporal was down when
	// they changed) are applied here until they are in step.
	reconciler := &schedules.Reconciler{Schedules: a.schedules(), Log: a.log}
	reconcilerDone := make(chan struct{})
	go func() { reconciler.Run(ctx); close(reconcilerDone) }()
	// Sign-in counters that no limit reads any more are deleted.
	pruneDone := make(chan struct{})
	go func() { accounts.PruneLoop(ctx, a.pool, a.log); close(pruneDone) }()
	<-ctx.Done()
	<-relayDone
	<-reconcilerDone
	<-pruneDone
	w.Stop() // waits for running activities up to the worker's stop timeout
	return nil
}

// mailSender is how SendMailWorkflow delivers: SMTP, or nothing in testing
// mode (the API queues no mail then; config requires SMTP_URL otherwise).
func (a *app) mailSender() (mail.Sender, error) {
	if a.cfg.SMTPURL == "" || a.cfg.TestingMode {
		return mail.Disabled{Log: a.log}, nil
	}
	return mail.NewSMTP(a.cfg.SMTPURL, a.cfg.MailFrom)
}

// scheduleRetry spaces attempts to create or update the Schedules while Temporal is
// slow or briefly away; the worker serves meanwhile.
const scheduleRetry = 10 * time.Second

func (a *app) ensureSchedules(ctx context.Context) {
	for {
		err := worker.EnsureSchedules(ctx, a.temporal, a.cfg.TaskQueue)
		if err == nil || ctx.Err() != nil {
			return
		}
		a.log.Warn("creating or updating Temporal Schedules failed; retrying", "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(scheduleRetry):
		}
	}
}

// runPayoutsDirect is "officex payouts run" on the server's environment: it
// asks for (or joins) the period's batch through the outbox, as the API does,
// waits until a worker's relay started it, and waits for its summary.
func runPayoutsDirect(ctx context.Context, cfg config.Config, log *slog.Logger, period string) error {
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	tc, err := temporalclient.Dial(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
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
