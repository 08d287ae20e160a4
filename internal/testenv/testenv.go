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
	"errors"
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
	"github.com/officex/officex/internal/app"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/chat"
	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/mail"
	"github.com/officex/officex/internal/metrics"
	"github.com/officex/officex/internal/outbox"
	"github.com/officex/officex/internal/payloadcodec"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/internal/stripesim"
	"github.com/officex/officex/internal/temporalclient"
	"github.com/officex/officex/internal/uploads"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/worker"
)

// AdminSecret is the superadmin secret of the test API.
const AdminSecret = "test-admin-secret-0123456789"

// Env is one test package's running stack: the application as
// internal/app builds it for main, with the test options (Options).
type Env struct {
	// App is the application; the fields below are its connections, which a
	// test may swap on a copy of Env (another key ring, say): the helpers
	// build their services from the Env's fields.
	App      *app.App
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
	// through (the one the App serves in testing mode without a Stripe key,
	// as make dev does); StripeWebhookSecret signs its events.
	Stripe              *stripesim.Server
	StripeURL           string
	StripeWebhookSecret string
	// Uploads is the local upload store, in a temp directory of the package.
	Uploads *uploads.Local
	// Metrics is the package's registry, wired as cmd/officex wires it: the
	// API's requests, the database collectors and the Temporal SDK's series.
	Metrics *metrics.Metrics
	worker  sdkworker.Worker
	// stopSweeper stops the expiry sweeper that runs with worker.
	stopSweeper func()
	// workerMu guards worker across StopWorker and its restart.
	workerMu *sync.Mutex
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
	cfg, err := testConfig()
	if err != nil {
		return nil, nil, err
	}
	if err := migrateDatabase(ctx, cfg); err != nil {
		return nil, nil, err
	}
	undo := []func(){func() { dropDatabase(cfg) }, func() { os.RemoveAll(cfg.UploadDir) }}
	teardown := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	env, err := startApp(ctx, cfg, &undo)
	if err != nil {
		teardown()
		return nil, nil, err
	}
	return env, teardown, nil
}

// testConfig is the configuration of a package's stack: a database and task
// queue of its own, testing mode, private URLs allowed, and no Stripe key,
// so the App serves the Stripe simulator.
func testConfig() (config.Config, error) {
	suffix := randHex(6)
	dsn, err := url.Parse(getenv("OFFICEX_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	if err != nil {
		return config.Config{}, err
	}
	dsn.Path = "/officex_test_" + suffix
	uploadDir, err := os.MkdirTemp("", "officex-uploads-")
	if err != nil {
		return config.Config{}, err
	}
	key, codecKey := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(key)
	_, _ = rand.Read(codecKey)
	return config.Load(func(k string) string {
		return map[string]string{
			"DATABASE_URL":               dsn.String(),
			"TEMPORAL_ADDRESS":           getenv("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
			"OFFICEX_TASK_QUEUE":         "officex-test-" + suffix,
			"OFFICEX_ADMIN_SECRET":       AdminSecret,
			"OFFICEX_ENCRYPTION_KEY":     base64.StdEncoding.EncodeToString(key),
			"OFFICEX_TEMPORAL_CODEC_KEY": base64.StdEncoding.EncodeToString(codecKey),
			"OFFICEX_TESTING_MODE":       "true",
			"OFFICEX_ALLOW_PRIVATE_URLS": "true",
			"STRIPE_WEBHOOK_SECRET":      StripeWebhookSecret,
			"OFFICEX_UPLOAD_DIR":         uploadDir,
		}[k]
	})
}

func migrateDatabase(ctx context.Context, cfg config.Config) error {
	if err := db.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("create test database: %w", err)
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	return db.Migrate(ctx, pool)
}

func dropDatabase(cfg config.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.DropDatabase(ctx, cfg.DatabaseURL); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: drop %s: %v\n", cfg.DatabaseURL, err)
	}
}

// Options are what the test stack runs differently from production: mail
// to the package's SMTP server, codes back to back, short waits.
func Options(smtpURL string) ([]app.Option, error) {
	sender, err := mail.NewSMTP(smtpURL, "OfficeX <no-reply@officex.test>")
	if err != nil {
		return nil, fmt.Errorf("testenv: SMTP sender for %s: %w", smtpURL, err)
	}
	return []app.Option{app.WithMailSender(sender), app.WithThrottle(TestThrottle),
		app.WithAppWaits(3*time.Second, 200*time.Millisecond),
		app.WithScheduleBounds(TestMinInterval, TestRunRetry), app.WithPayoutPoll(TestPayoutPoll)}, nil
}

// startApp builds the App and runs its worker, loops and API as a worker
// process and a server do; what it starts it appends to *undo.
func startApp(ctx context.Context, cfg config.Config, undo *[]func()) (*Env, error) {
	smtpBox, stopSMTP, err := startSMTP()
	if err != nil {
		return nil, err
	}
	*undo = append(*undo, stopSMTP)
	log := slog.New(slog.NewJSONHandler(logSink(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := Options(smtpBox.URL)
	if err != nil {
		return nil, err
	}
	a, err := app.New(ctx, cfg, log, opts...)
	if err != nil {
		return nil, err
	}
	*undo = append(*undo, a.Close)
	env, err := newEnv(ctx, a, smtpBox)
	if err != nil {
		return nil, err
	}
	if err := env.startWorker(); err != nil {
		return nil, err
	}
	*undo = append(*undo, env.stopWorker)
	env.startRelay()
	stopLoops := env.runLoops()
	*undo = append(*undo, env.stopRelay, stopLoops)
	env.Server = httptest.NewServer(env.NewHandler(nil))
	env.BaseURL = env.Server.URL + "/v1"
	*undo = append(*undo, env.Server.Close)
	return env, nil
}

// newEnv is the Env of a: its connections, the codec, the simulator and
// the upload store.
func newEnv(ctx context.Context, a *app.App, smtpBox *SMTPServer) (*Env, error) {
	codec, err := temporalclient.Codec(a.Config)
	if err != nil {
		return nil, err
	}
	if err := a.OpenUploads(ctx); err != nil {
		return nil, err
	}
	local, ok := a.Uploads.(*uploads.Local)
	if !ok || a.StripeSim == nil {
		return nil, errors.New("testenv: want the local upload store and the Stripe simulator")
	}
	return &Env{App: a, Config: a.Config, Pool: a.Pool, Temporal: a.Temporal, Log: a.Log, Box: a.Box, Codec: codec,
		Stripe: a.StripeSim, StripeURL: a.Config.StripeAPIBase, StripeWebhookSecret: StripeWebhookSecret,
		Uploads: local, Metrics: a.Metrics, SMTP: smtpBox, workerMu: new(sync.Mutex), relayMu: new(sync.Mutex)}, nil
}

// runLoops runs the App's loops but the outbox relay (startRelay runs that
// one, so StopRelay can pause it) and the expiry sweeper (it runs with the
// worker) until the returned function is called.
func (e *Env) runLoops() (stop func()) {
	var loops []app.Loop
	for _, l := range e.app().Loops() {
		if l.Name != app.LoopOutbox && l.Name != app.LoopSweeper {
			loops = append(loops, l)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { app.RunLoops(ctx, loops); close(done) }()
	return func() { cancel(); <-done }
}

// app is the App with this Env's (maybe swapped) connections.
func (e *Env) app() *app.App {
	a := *e.App
	a.Config, a.Pool, a.Temporal, a.Log, a.Box, a.Metrics = e.Config, e.Pool, e.Temporal, e.Log, e.Box, e.Metrics
	if e.Uploads != nil {
		a.Uploads = e.Uploads
	}
	return &a
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
	return e.app().AccountsWith(testingMode, throttle)
}

// NewHandler builds an API handler on this stack. edit may change the
// dependencies first (another mail sender, testing mode off, a throttle).
func (e *Env) NewHandler(edit func(*api.Deps)) http.Handler {
	d := e.app().APIDeps()
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
	return e.app().SchedulesWith(tc, opt)
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
func (e *Env) Chats() *chat.Service { return e.app().Chats() }

// Agent is a chat agent on this stack that asks the model server at modelURL.
func (e *Env) Agent(modelURL string) *chat.Agent {
	return e.app().NewAgent(chat.AgentConfig{APIKey: "sk-test-officex", BaseURL: modelURL,
		Model: "fake-model", AllowPrivateURLs: true})
}

// StartChat serves the chat listener with the agent asking modelURL (no
// agent when modelURL is empty) and returns its URL; edit may change the
// dependencies first.
func (e *Env) StartChat(t testing.TB, modelURL string, edit func(*api.Deps)) string {
	t.Helper()
	d := e.app().APIDeps()
	d.Agent = nil
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
func (e *Env) AppsOptions() apps.Options { return e.app().AppsOptions() }

// Apps is the apps service of the test stack.
func (e *Env) Apps() *apps.Service { return e.AppsOn(e.Temporal) }

// AppsOn is the apps service of the test stack on Temporal client tc.
func (e *Env) AppsOn(tc client.Client) *apps.Service { return e.app().AppsOn(tc) }

// StartWorker runs one more worker, on a task queue of its own, that pays
// through the Stripe API at stripeBase (for instance stripe-mock); it returns
// the queue, for a purchases.Service built on it.
func (e *Env) StartWorker(t testing.TB, stripeBase string) string {
	t.Helper()
	queue := e.Config.TaskQueue + "-" + randHex(4)
	w, err := e.app().StartWorker(queue, worker.Deps{Pool: e.Pool, Box: e.Box,
		Stripe: activities.NewStripeClient(e.Config.StripeSecretKey, stripeBase)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return queue
}

// NewRelay is an outbox relay of this stack on client tc (a client that
// reaches Temporal through a proxy, say).
func (e *Env) NewRelay(tc client.Client) *outbox.Relay { return e.app().OutboxRelay(tc) }

func (e *Env) startRelay() {
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
// starts a fresh worker on the same task queue. The test's cleanup restarts
// it if the test did not (it failed first, say), so later tests have one.
func (e *Env) StopWorker(t testing.TB) (restart func()) {
	t.Helper()
	e.stopWorker()
	restart = func() {
		if err := e.startWorker(); err != nil {
			t.Error(err) // not Fatal: a cleanup may run it
		}
	}
	t.Cleanup(restart)
	return restart
}

// startWorker starts the package's worker unless it runs.
func (e *Env) startWorker() error {
	e.workerMu.Lock()
	defer e.workerMu.Unlock()
	if e.worker != nil {
		return nil
	}
	w, err := e.app().StartWorker(e.Config.TaskQueue, e.WorkerDeps())
	if err != nil {
		return err
	}
	e.worker = w
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.app().Sweeper()(ctx); close(done) }()
	e.stopSweeper = func() { cancel(); <-done }
	return nil
}

func (e *Env) stopWorker() {
	e.workerMu.Lock()
	defer e.workerMu.Unlock()
	if e.worker != nil {
		e.stopSweeper()
		e.worker.Stop()
		e.worker = nil
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
	w, err := e.app().StartWorker(queue, d)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(w.Stop) }
	t.Cleanup(stop)
	return queue, stop
}

// WorkerDeps are the dependencies of the package's workers: Stripe through
// the simulator, webhooks allowed to loopback, mail to e.SMTP, no USDC.
func (e *Env) WorkerDeps() worker.Deps { return e.app().WorkerDeps() }
