// Package testenv is the shared integration-test harness: per test package it
// creates a throwaway PostgreSQL database, migrates it, connects to the
// Temporal dev server, runs a worker on a task queue of its own and serves the
// API on an httptest server. Every test's cleanup checks the ledger invariants.
// It is imported only by tests.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

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
	"github.com/officex/officex/internal/payloadcodec"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/prompts"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/refs"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/internal/stripesim"
	"github.com/officex/officex/internal/temporalclient"
	"github.com/officex/officex/internal/uploads"
	"github.com/officex/officex/internal/vouchers"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/worker"
)

// AdminSecret is the superadmin secret of the test API.
const AdminSecret = "test-admin-secret-0123456789"

// Env is one test package's running stack.
type Env struct {
	Config   config.Config
	Pool     *pgxpool.Pool
	Temporal client.Client
	Server   *httptest.Server
	BaseURL  string // Server.URL + "/v1"
	Log      *slog.Logger
	Box      *secretbox.Box
	// Codec encrypts the payloads of Temporal (the client is built with it);
	// History decodes a raw history with it.
	Codec *payloadcodec.Codec
	// Stripe is the Stripe test-mode simulator the package's worker pays
	// through; StripeWebhookSecret signs its events.
	Stripe              *stripesim.Server
	StripeURL           string
	StripeWebhookSecret string
	// Uploads is the local upload store, in a temp directory of the package.
	Uploads *uploads.Local
	// Metrics is the package's registry, wired as cmd/officex wires it: the
	// API's requests, the database collectors and the Temporal SDK's series.
	Metrics *metrics.Metrics
	worker  sdkworker.Worker
	// relay is the package's outbox relay (StopRelay pauses it).
	relayMu   *sync.Mutex // a pointer: tests copy Env to change a dependency
	relayStop func()
	// SMTP receives what the package's SendMailWorkflows deliver (mail is
	// queued only by APIs with testing mode off; see NewProductionAccounts).
	SMTP *SMTPServer
}

// TestPayoutPoll is how often test payouts check a bank payout or a
// Solana transaction.
const TestPayoutPoll = 100 * time.Millisecond

// StripeWebhookSecret is the webhook signing secret of the test API.
const StripeWebhookSecret = "whsec_test_officex"

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Main sets up the stack, runs the package's tests and tears it down. Use it
// from TestMain: func TestMain(m *testing.M) { testenv.Main(m, &env) }.
func Main(m *testing.M, out **Env) {
	env, teardown, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n(make test starts PostgreSQL and the Temporal dev server)\n", err)
		os.Exit(1)
	}
	*out = env
	code := m.Run()
	teardown()
	os.Exit(code)
}

// Start builds the stack outside a test binary too (the benchmark uses it);
// the returned function tears it down.
func Start() (*Env, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "officex_test_" + hex.EncodeToString(suffix)
	dsn, err := url.Parse(getenv("OFFICEX_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	if err != nil {
		return nil, nil, err
	}
	dsn.Path = "/" + name
	uploadDir, err := os.MkdirTemp("", "officex-uploads-")
	if err != nil {
		return nil, nil, err
	}
	key, codecKey := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(key)
	_, _ = rand.Read(codecKey)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"DATABASE_URL":               dsn.String(),
			"TEMPORAL_ADDRESS":           getenv("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
			"OFFICEX_TASK_QUEUE":         "officex-test-" + hex.EncodeToString(suffix),
			"OFFICEX_ADMIN_SECRET":       AdminSecret,
			"OFFICEX_ENCRYPTION_KEY":     base64.StdEncoding.EncodeToString(key),
			"OFFICEX_TEMPORAL_CODEC_KEY": base64.StdEncoding.EncodeToString(codecKey),
			"OFFICEX_TESTING_MODE":       "true",
			"OFFICEX_ALLOW_PRIVATE_URLS": "true",
			"STRIPE_SECRET_KEY":          "sk_test_123",
			"STRIPE_WEBHOOK_SECRET":      StripeWebhookSecret,
			"OFFICEX_UPLOAD_DIR":         uploadDir,
		}[k]
	})
	if err != nil {
		return nil, nil, err
	}
	if err := db.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, nil, fmt.Errorf("create test database: %w", err)
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrate(ctx, pool); err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewJSONHandler(logSink(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := metrics.New()
	reg.WatchDatabase(pool)
	temporalMetrics, stopTemporalMetrics := reg.TemporalHandler(log)
	// The real client construction: every payload of the tests' workflows
	// is encrypted, as in production.
	tc, err := temporalclient.Dial(ctx, cfg, log, temporalMetrics)
	if err != nil {
		return nil, nil, err
	}
	codec, err := temporalclient.Codec(cfg)
	if err != nil {
		return nil, nil, err
	}
	box, err := secretbox.New(cfg.EncryptionKey)
	if err != nil {
		return nil, nil, err
	}
	store, err := uploads.NewLocal(uploads.LocalOptions{Dir: cfg.UploadDir, MaxBytes: cfg.UploadMaxBytes,
		PublicURL: cfg.PublicURL, EncryptionKey: cfg.EncryptionKey})
	if err != nil {
		return nil, nil, err
	}
	sim := stripesim.New()
	simServer := httptest.NewServer(sim)
	smtpBox, stopSMTP, err := startSMTP()
	if err != nil {
		return nil, nil, err
	}
	env := &Env{Config: cfg, Pool: pool, Temporal: tc, Log: log, Box: box, Codec: codec,
		Stripe: sim, StripeURL: simServer.URL, StripeWebhookSecret: StripeWebhookSecret, Uploads: store, Metrics: reg, SMTP: smtpBox}
	env.Config.StripeAPIBase = simServer.URL
	w := worker.New(tc, cfg.TaskQueue, env.WorkerDeps())
	if err := w.Start(); err != nil {
		return nil, nil, fmt.Errorf("start worker: %w", err)
	}
	env.worker = w
	relayCtx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan struct{}, 1)
	env.startRelay()
	go func() {
		(&schedules.Reconciler{Schedules: env.Schedules(cfg.TaskQueue), Log: log}).Run(relayCtx)
		relayDone <- struct{}{}
	}()
	env.Server = httptest.NewServer(env.NewHandler(nil))
	env.BaseURL = env.Server.URL + "/v1"
	teardown := func() {
		stopRelay()
		<-relayDone
		env.stopRelay()
		env.Server.Close()
		stopSMTP()
		simServer.Close()
		w.Stop()
		tc.Close()
		stopTemporalMetrics()
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.DropDatabase(ctx, cfg.DatabaseURL); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: drop %s: %v\n", name, err)
		}
		os.RemoveAll(uploadDir)
	}
	return env, teardown, nil
}

// logSink sends server logs to stderr when OFFICEX_TEST_LOGS is set.
func logSink() io.Writer {
	if os.Getenv("OFFICEX_TEST_LOGS") != "" {
		return os.Stderr
	}
	return io.Discard
}

// TestThrottle lets tests ask for codes back to back; throttling tests use
// accounts.DefaultThrottle on a handler of their own.
var TestThrottle = accounts.Throttle{MinInterval: 0, PerHour: 1000}

// Accounts is an accounts service on this stack with its code keys, mailing
// through sender (testingMode: every code is 0000).
func (e *Env) Accounts(testingMode bool, throttle accounts.Throttle) *accounts.Service {
	s := accounts.New(e.Pool, mailout.NewQueue(e.Box), e.Log, testingMode, throttle).WithSecrets(e.Config.EncryptionKey)
	s.OnCode = e.Metrics.ObserveCode
	return s
}

// NewHandler builds an API handler on this stack. edit may change the
// dependencies first (another mail sender, testing mode off, a throttle).
func (e *Env) NewHandler(edit func(*api.Deps)) http.Handler {
	d := api.Deps{Config: e.Config, Pool: e.Pool, Temporal: e.Temporal, Log: e.Log, Metrics: e.Metrics,
		Accounts:   e.Accounts(true, TestThrottle),
		Purchases:  purchases.New(e.Pool, e.Temporal, e.Config.TaskQueue, e.Box, true),
		Vouchers:   vouchers.New(e.Pool, e.Config.EncryptionKey),
		Apps:       e.Apps(),
		Billing:    billing.New(e.Pool),
		Uploads:    e.Uploads,
		Payouts:    payouts.New(e.Pool, false).WithAccounts(payouts.StripeAccounts{API: activities.NewStripeClient(e.Config.StripeSecretKey, e.StripeURL)}),
		PayoutPoll: TestPayoutPoll,
		Chats:      e.Chats(), Prompts: prompts.New(e.Pool), Refs: refs.New(e.Pool), Schedules: e.Schedules(e.Config.TaskQueue)}
	d.Purchases.WithCardLookup(activities.NewStripeClient(e.Config.StripeSecretKey, e.StripeURL)) // the velocity limits' card fingerprints
	if edit != nil {
		edit(&d)
	}
	return api.NewServer(d)
}

// NewProductionAccounts is an accounts service with testing mode off: random
// codes, queued as mail that the package's worker delivers to e.SMTP.
func (e *Env) NewProductionAccounts(throttle accounts.Throttle) *accounts.Service {
	return e.Accounts(false, throttle)
}

// Schedules bounds of the test stack: runs may be a second apart (production:
// schedules.MinInterval) and a failed model call is retried after TestRunRetry.
const (
	TestMinInterval = time.Second
	TestRunRetry    = 200 * time.Millisecond
)

// Schedules is the schedules service of the test stack whose Temporal
// Schedules start their runs on taskQueue.
func (e *Env) Schedules(taskQueue string) *schedules.Service {
	return e.SchedulesWith(e.Temporal, schedules.Options{TaskQueue: taskQueue})
}

// SchedulesWith is a schedules service on another Temporal client (one that
// cannot reach the server, say) with opt's test bounds filled in.
func (e *Env) SchedulesWith(tc client.Client, opt schedules.Options) *schedules.Service {
	if opt.TaskQueue == "" {
		opt.TaskQueue = e.Config.TaskQueue
	}
	if opt.MinInterval == 0 {
		opt.MinInterval = TestMinInterval
	}
	if opt.RunRetryInitial == 0 {
		opt.RunRetryInitial = TestRunRetry
	}
	return schedules.New(e.Pool, tc, e.Chats(), opt, e.Log)
}

// StartChatWorker runs a worker on a task queue of its own whose chat agent
// asks the model server at modelURL, and returns the queue (for a schedules
// service whose runs it should take) and a stop function (also run at
// cleanup). RestartChatWorker starts another on the same queue.
func (e *Env) StartChatWorker(t testing.TB, modelURL string) (string, func()) {
	t.Helper()
	return e.StartWorkerWith(t, func(d *worker.Deps) { d.Agent = e.Agent(modelURL) })
}

// RestartChatWorker is StartChatWorker on queue (after its worker stopped).
func (e *Env) RestartChatWorker(t testing.TB, queue, modelURL string) func() {
	t.Helper()
	_, stop := e.StartWorkerWithQueue(t, queue, func(d *worker.Deps) { d.Agent = e.Agent(modelURL) })
	return stop
}

// Chats is the chat service of the test stack.
func (e *Env) Chats() *chat.Service { return chat.NewService(e.Pool, e.Config.ChatDailyTokens) }

// Agent is a chat agent on this stack that asks the model server at modelURL.
func (e *Env) Agent(modelURL string) *chat.Agent {
	return chat.NewAgent(e.Chats(), e.Apps(), chat.AgentConfig{APIKey: "sk-test-officex", BaseURL: modelURL,
		Model: "fake-model", AllowPrivateURLs: true})
}

// StartChat serves the chat listener with the agent asking modelURL (no
// agent when modelURL is empty) and returns its URL; edit may change the
// dependencies first.
func (e *Env) StartChat(t testing.TB, modelURL string, edit func(*api.Deps)) string {
	t.Helper()
	d := api.Deps{Config: e.Config, Pool: e.Pool, Temporal: e.Temporal, Log: e.Log, Apps: e.Apps(), Chats: e.Chats(),
		Accounts: e.Accounts(true, TestThrottle)}
	if modelURL != "" {
		d.Agent = e.Agent(modelURL)
	}
	if edit != nil {
		edit(&d)
	}
	srv := httptest.NewServer(api.NewChatHandler(d))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// CheckInvariants fails t when any ledger invariant is broken.
func (e *Env) CheckInvariants(t testing.TB) {
	t.Helper()
	rep, err := ledger.CheckInvariants(context.Background(), e.Pool)
	if err != nil {
		t.Fatalf("invariant check: %v", err)
	}
	for _, v := range rep.Violations {
		t.Errorf("ledger invariant %s broken for %s: %s", v.Invariant, v.Subject, v.Detail)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AppsOptions are the apps options of the test stack: private URLs allowed
// (receivers run on loopback) and short webhook retries.
func (e *Env) AppsOptions() apps.Options {
	return apps.Options{AllowPrivateURLs: true, TaskQueue: e.Config.TaskQueue,
		InstallWebhookWait: 3 * time.Second, WebhookRetryInitial: 200 * time.Millisecond}
}

// Apps is the apps service of the test stack.
func (e *Env) Apps() *apps.Service { return e.AppsOn(e.Temporal) }

// AppsOn is the apps service of the test stack on Temporal client tc.
func (e *Env) AppsOn(tc client.Client) *apps.Service {
	s := apps.New(e.Pool, tc, e.Box, e.AppsOptions())
	s.OnUninstall = billing.New(e.Pool).CancelOpenForInstall
	return s
}

// StartWorker runs one more worker, on a task queue of its own, that pays
// through the Stripe API at stripeBase (for instance stripe-mock); it returns
// the queue, for a purchases.Service built on it.
func (e *Env) StartWorker(t testing.TB, stripeBase string) string {
	t.Helper()
	queue := e.Config.TaskQueue + "-" + randHex(4)
	w := worker.New(e.Temporal, queue, worker.Deps{Pool: e.Pool, Box: e.Box,
		Stripe: activities.NewStripeClient(e.Config.StripeSecretKey, stripeBase)})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return queue
}

// NewRelay is an outbox relay of this stack on client tc (a client that
// reaches Temporal through a proxy, say).
func (e *Env) NewRelay(tc client.Client) *outbox.Relay {
	return &outbox.Relay{Pool: e.Pool, Temporal: tc, TaskQueue: e.Config.TaskQueue, Log: e.Log}
}

func (e *Env) startRelay() {
	if e.relayMu == nil {
		e.relayMu = new(sync.Mutex)
	}
	e.relayMu.Lock()
	defer e.relayMu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.NewRelay(e.Temporal).Run(ctx); close(done) }()
	e.relayStop = func() { cancel(); <-done }
}

func (e *Env) stopRelay() {
	e.relayMu.Lock()
	defer e.relayMu.Unlock()
	if e.relayStop != nil {
		e.relayStop()
		e.relayStop = nil
	}
}

// StopRelay stops the package's outbox relay until the test ends (a test
// runs relays of its own meanwhile); tests calling it must not run in
// parallel with others.
func (e *Env) StopRelay(t testing.TB) {
	t.Helper()
	e.stopRelay()
	t.Cleanup(e.startRelay)
}

// StopWorker stops the package's worker (the relay keeps running, so
// workflows are started but nothing runs them) and returns a function that
// starts a fresh worker on the same task queue.
func (e *Env) StopWorker(t testing.TB) (restart func()) {
	t.Helper()
	e.worker.Stop()
	return func() {
		w := worker.New(e.Temporal, e.Config.TaskQueue, e.WorkerDeps())
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		e.worker = w
	}
}

// StartWorkerWith runs one more worker on a task queue of its own with the
// package's dependencies edited by edit (a USDC client, say) and returns the
// queue and a stop function (also run at cleanup).
func (e *Env) StartWorkerWith(t testing.TB, edit func(*worker.Deps)) (string, func()) {
	t.Helper()
	return e.StartWorkerWithQueue(t, e.Config.TaskQueue+"-"+randHex(4), edit)
}

// StartWorkerWithQueue is StartWorkerWith on a given task queue (a worker
// restarted after a stop).
func (e *Env) StartWorkerWithQueue(t testing.TB, queue string, edit func(*worker.Deps)) (string, func()) {
	t.Helper()
	d := e.WorkerDeps()
	edit(&d)
	w := worker.New(e.Temporal, queue, d)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(w.Stop) }
	t.Cleanup(stop)
	return queue, stop
}

// WorkerDeps are the dependencies of the package's workers: Stripe through
// the simulator, webhooks allowed to loopback, no USDC.
func (e *Env) WorkerDeps() worker.Deps {
	return worker.Deps{Pool: e.Pool, Box: e.Box, Stripe: activities.NewStripeClient(e.Config.StripeSecretKey, e.StripeURL),
		Apps: e.Apps(), Billing: billing.New(e.Pool), Payouts: payouts.New(e.Pool, false), WebhookClient: activities.NewWebhookClient(true),
		Schedules: e.Schedules(e.Config.TaskQueue), Mail: e.smtpSender()}
}

// smtpSender delivers to e.SMTP.
func (e *Env) smtpSender() mail.Sender {
	sender, err := mail.NewSMTP(e.SMTP.URL, "OfficeX <no-reply@officex.test>")
	if err != nil {
		panic(fmt.Sprintf("testenv: SMTP sender for %s: %v", e.SMTP.URL, err))
	}
	return sender
}
