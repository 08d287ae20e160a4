package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/outbox"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/vouchers"
	"github.com/officex/officex/worker"
	"github.com/officex/officex/workflows"
)

// shutdownGrace is how long in-flight requests get to finish on SIGTERM.
const shutdownGrace = 20 * time.Second

// Run runs the metrics listener and the API (serve), the worker (work) or
// both until ctx ends or one fails. The first part to stop stops the
// others; all finish before Run returns, so the worker drains with a live
// Temporal client (the caller closes the App after).
func (a *App) Run(ctx context.Context, serve, work bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := []func(context.Context) error{a.ServeMetrics}
	if serve {
		parts = append(parts, a.Serve)
	}
	if work {
		parts = append(parts, a.Work)
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

// Serve serves the API on OFFICEX_HTTP_ADDR and the chat stream on
// OFFICEX_CHAT_ADDR until ctx ends, then drains them.
func (a *App) Serve(ctx context.Context) error {
	if err := a.OpenUploads(ctx); err != nil {
		return err
	}
	if err := a.SealVouchers(ctx); err != nil {
		return err
	}
	if a.Config.OpenAIAPIKey == "" {
		a.Log.Warn("OPENAI_API_KEY is not set: the chat listener answers 503")
	}
	apiSrv := &http.Server{Addr: a.Config.HTTPAddr, Handler: a.Handler(),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	// A stream lasts up to a turn: no write timeout; the body is small and read first.
	chatSrv := &http.Server{Addr: a.Config.ChatAddr, Handler: a.ChatHandler(),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	a.Log.Info("serving API and chat", "addr", a.Config.HTTPAddr, "chat_addr", a.Config.ChatAddr, "testing_mode", a.Config.TestingMode)
	return ServeAll(ctx, apiSrv, chatSrv)
}

// SealVouchers replaces voucher codes stored in clear by earlier versions
// with their HMAC (migration 00015 can't: the key is not in the database).
func (a *App) SealVouchers(ctx context.Context) error {
	n, err := vouchers.New(a.Pool, a.Config.EncryptionKey).SealLegacyCodes(ctx)
	if err != nil {
		return fmt.Errorf("seal voucher codes: %w", err)
	}
	if n > 0 {
		a.Log.Info("sealed voucher codes stored in clear by an earlier version", "vouchers", n)
	}
	return nil
}

// ServeMetrics serves /metrics on OFFICEX_METRICS_ADDR, a listener of its
// own that is never the public API's, for as long as the process runs.
func (a *App) ServeMetrics(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	mux.HandleFunc("GET /readyz", a.Readyz)
	srv := &http.Server{Addr: a.Config.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second}
	a.Log.Info("serving metrics", "addr", a.Config.MetricsAddr, "path", "/metrics")
	return ServeAll(ctx, srv)
}

// ServeAll runs the servers until ctx ends or one fails, then drains them:
// stop accepting, let in-flight requests finish within the grace.
func ServeAll(ctx context.Context, servers ...*http.Server) error {
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

// Work runs the worker on OFFICEX_TASK_QUEUE, keeps the Temporal Schedules
// to the code's spec and runs the background loops until ctx ends.
func (a *App) Work(ctx context.Context) error {
	if a.Config.OpenAIAPIKey == "" {
		a.Log.Warn("OPENAI_API_KEY is not set: scheduled chat runs fail until it is")
	}
	if err := worker.CheckSearchAttributes(ctx, a.Temporal, a.Config.TemporalNamespace, workflows.RequiredSearchAttributes); err != nil {
		return err
	}
	w, err := a.StartWorker(a.Config.TaskQueue, a.WorkerDeps())
	if err != nil {
		return err
	}
	a.Log.Info("worker started", "task_queue", a.Config.TaskQueue)
	go a.ensureSchedules(ctx)
	RunLoops(ctx, a.Loops())
	w.Stop() // waits for running activities up to the worker's stop timeout
	return nil
}

// StartWorker starts a worker on queue with d (WorkerDeps, maybe edited).
func (a *App) StartWorker(queue string, d worker.Deps) (sdkworker.Worker, error) {
	w := worker.New(a.Temporal, queue, d)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker on %s: %w", queue, err)
	}
	return w, nil
}

// Loop is one background loop of a worker process.
type Loop struct {
	Name string
	Run  func(ctx context.Context) // returns when ctx ends
}

// Loop names tests refer to: the outbox relay (tests pause it) and the
// expiry sweeper (the test harness runs it with its worker, since a worker
// process that is down sweeps nothing).
const (
	LoopOutbox  = "outbox relay"
	LoopSweeper = "expiry sweeper"
)

// Loops are the worker process's loops beside the worker: the outbox relay
// (the workflows requests asked for, mail included), the expiry sweeper
// (reservations their workflow has not refunded soon after the timeout), the schedule
// reconciler (rows whose Temporal Schedule lags because Temporal was down
// when they changed) and the pruning of sign-in counters no limit reads.
func (a *App) Loops() []Loop {
	return []Loop{
		{LoopOutbox, a.OutboxRelay(a.Temporal).Run},
		{LoopSweeper, a.Sweeper()},
		{"schedule reconciler", (&schedules.Reconciler{Schedules: a.Schedules(), Log: a.Log}).Run},
		{"sign-in counter pruning", func(ctx context.Context) { accounts.PruneLoop(ctx, a.Pool, a.Log) }},
	}
}

// Sweeper is the expiry sweeper's loop.
func (a *App) Sweeper() func(context.Context) {
	return func(ctx context.Context) { a.Billing().SweepLoop(ctx, a.Log) }
}

// OutboxRelay starts the workflows requests wrote to the outbox, on tc.
func (a *App) OutboxRelay(tc client.Client) *outbox.Relay {
	return &outbox.Relay{Pool: a.Pool, Temporal: tc, TaskQueue: a.Config.TaskQueue, Log: a.Log,
		Promote: a.Billing().PromoteStarts}
}

// RunLoops runs loops until ctx ends and they all return.
func RunLoops(ctx context.Context, loops []Loop) {
	done := make(chan struct{}, len(loops))
	for _, l := range loops {
		go func() { l.Run(ctx); done <- struct{}{} }()
	}
	for range loops {
		<-done
	}
}

// scheduleRetry spaces attempts to create or update the Schedules while
// Temporal is slow or briefly away; the worker serves meanwhile.
const scheduleRetry = 10 * time.Second

func (a *App) ensureSchedules(ctx context.Context) {
	for {
		err := worker.EnsureSchedules(ctx, a.Temporal, a.Config.TaskQueue)
		if err == nil || ctx.Err() != nil {
			return
		}
		a.Log.Warn("creating or updating Temporal Schedules failed; retrying", "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(scheduleRetry):
		}
	}
}
