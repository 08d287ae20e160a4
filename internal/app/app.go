// Package app is the one constructor of OfficeX: from the configuration it
// opens the connections (PostgreSQL, Temporal through temporalclient, Stripe
// or the test-mode simulator, Solana), and builds every service, the API and
// chat handlers, the worker and its background loops. cmd/officex, the test
// harness (internal/testenv) and the benchmark all build the application
// here, so the wiring tests run is the wiring production runs; what tests
// change (mail sender, throttles, short waits) is an Option, never a second
// wiring. It owns no domain logic.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/mail"
	"github.com/officex/officex/internal/metrics"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/internal/stripesim"
	"github.com/officex/officex/internal/temporalclient"
	"github.com/officex/officex/internal/uploads"
	"github.com/officex/officex/internal/usdc"
)

// App is the application's connections and settings; its methods build
// the services on them. The fields are exported for the test harness,
// which may copy an App to swap one connection (another key ring, a
// Temporal client behind a proxy): every service is built from the fields
// when asked for, so a copy's services use the copy's connections.
type App struct {
	Config   config.Config // with the simulator's Stripe key and URL when it runs
	Log      *slog.Logger
	Pool     *pgxpool.Pool
	Temporal client.Client
	Box      *secretbox.Box
	Metrics  *metrics.Metrics
	Stripe   *stripeclient.API
	// StripeConfigured: a STRIPE_SECRET_KEY, or the simulator (testing mode).
	StripeConfigured bool
	// StripeSim is the Stripe test-mode simulator the app serves on loopback
	// in testing mode without STRIPE_SECRET_KEY (make dev, tests); else nil.
	StripeSim *stripesim.Server
	USDC      *usdc.Client  // nil: USDC payouts are not configured
	Uploads   uploads.Store // nil until OpenUploads: upload routes answer 404
	// Mail is how SendMailWorkflow delivers (the worker's sender).
	Mail mail.Sender

	opt     options
	closers []func()
}

// options are what differs between production and tests; the zero value
// is production's.
type options struct {
	mail             mail.Sender
	throttle         *accounts.Throttle
	appsWaits        *apps.Options
	schedMinInterval time.Duration
	schedRunRetry    time.Duration
	payoutPoll       time.Duration
	lazyTemporal     bool
}

// Option changes one thing tests or one process kind need different from
// the default.
type Option func(*options)

// WithMailSender delivers the worker's mail through s (a test SMTP server)
// instead of SMTP_URL, or nothing in testing mode.
func WithMailSender(s mail.Sender) Option { return func(o *options) { o.mail = s } }

// WithThrottle replaces accounts.DefaultThrottle on one-time codes.
func WithThrottle(t accounts.Throttle) Option { return func(o *options) { o.throttle = &t } }

// WithAppWaits replaces apps.DefaultOptions' waits (the first INSTALL
// delivery, the first webhook retry); the URL policy and task queue still
// come from the configuration.
func WithAppWaits(installWebhookWait, webhookRetryInitial time.Duration) Option {
	return func(o *options) {
		o.appsWaits = &apps.Options{InstallWebhookWait: installWebhookWait, WebhookRetryInitial: webhookRetryInitial}
	}
}

// WithScheduleBounds lets schedule runs be minInterval apart and retries a
// failed model call after runRetry (production: schedules.MinInterval and
// workflows.DefaultChatAgentRetry).
func WithScheduleBounds(minInterval, runRetry time.Duration) Option {
	return func(o *options) { o.schedMinInterval, o.schedRunRetry = minInterval, runRetry }
}

// WithPayoutPoll is how often payout batches started by the API poll a bank
// payout or a Solana transaction (production: workflows.DefaultPayoutPoll).
func WithPayoutPoll(d time.Duration) Option { return func(o *options) { o.payoutPoll = d } }

// WithLazyTemporal connects to Temporal on first use instead of at New
// (temporalclient.Lazy): for officex serve, which must start and bill while
// Temporal is down. The worker needs Temporal to do anything and dials.
func WithLazyTemporal() Option { return func(o *options) { o.lazyTemporal = true } }

// New opens the application's connections from cfg. The database must be
// migrated (officex migrate, or dev). Close releases everything.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	a := &App{Config: cfg, Log: log}
	for _, o := range opts {
		o(&a.opt)
	}
	if err := a.open(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// open makes each connection in turn; Close undoes what was made.
func (a *App) open(ctx context.Context) error {
	pool, err := db.Open(ctx, a.Config.DatabaseURL)
	if err != nil {
		return err
	}
	a.Pool = pool
	a.Metrics = metrics.New()
	a.Metrics.WatchDatabase(pool)
	temporalMetrics, stopTemporalMetrics := a.Metrics.TemporalHandler(a.Log)
	a.closers = append(a.closers, stopTemporalMetrics)
	if a.opt.lazyTemporal {
		a.Temporal, err = temporalclient.Lazy(a.Config, a.Log, temporalMetrics)
	} else {
		a.Temporal, err = temporalclient.Dial(ctx, a.Config, a.Log, temporalMetrics)
	}
	if err != nil {
		return err
	}
	if a.Box, err = secretbox.New(a.Config.EncryptionKey, a.Config.EncryptionOldKeys...); err != nil {
		return err
	}
	if err := a.connectStripe(); err != nil {
		return err
	}
	if a.USDC, err = usdcClient(a.Config); err != nil {
		return err
	}
	a.Mail, err = a.mailSender()
	return err
}

// OpenUploads opens the upload store the API serves (a worker has none, so
// it needs no writable upload directory); Serve calls it.
func (a *App) OpenUploads(ctx context.Context) error {
	if a.Uploads != nil {
		return nil
	}
	store, err := uploadStore(ctx, a.Config)
	if err != nil {
		return err
	}
	a.Uploads = store
	return nil
}

// mailSender is the option's sender, else SMTP, else nothing in testing
// mode (the API queues no mail then; config requires SMTP_URL otherwise).
func (a *App) mailSender() (mail.Sender, error) {
	switch {
	case a.opt.mail != nil:
		return a.opt.mail, nil
	case a.Config.SMTPURL == "" || a.Config.TestingMode:
		return mail.Disabled{Log: a.Log}, nil
	}
	return mail.NewSMTP(a.Config.SMTPURL, a.Config.MailFrom)
}

// Close stops the simulator and the metrics, then closes Temporal and the
// database. The caller stops workers and loops first.
func (a *App) Close() {
	if a.Temporal != nil {
		a.Temporal.Close()
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
	if a.Pool != nil {
		a.Pool.Close()
	}
}
