package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/internal/stripesim"
)

// simKey is the Stripe key the processes use against the run's simulator.
const simKey = "sk_test_officex_chaos"

// poolMaxConns is each process's PostgreSQL pool (pool_max_conns in its
// DATABASE_URL): four officex processes at db.DefaultMaxConns each would
// take nearly all of a default server's 100 connections, and reconcile,
// migrate or a restarted process would be refused.
const poolMaxConns = 8

// stack is everything the run started; close stops it all.
type stack struct {
	o      options
	dir    string // temporary: the processes' logs
	dbName string
	dbURL  string
	// dbPoolURL is dbURL with pool_max_conns, for the processes' pools.
	dbPoolURL string
	pool      *pgxpool.Pool
	sim       *stripesim.Server
	simURL    string
	simSrv    *http.Server
	temporal  temporalControl
	adminKey  string
	// The topology mode (topology.go): the topology's officex slots the run
	// takes, its proxy, and the run's Temporal namespace.
	topoProcs []topologyProc
	proxyURL  string
	namespace string
	// encryptionKey and codecKey are the run's OFFICEX_ENCRYPTION_KEY and
	// OFFICEX_TEMPORAL_CODEC_KEY, the same for every process.
	encryptionKey, codecKey string
	serveURLs               []string // API base URLs (…/v1) of serve-1 and serve-2
	procs                   []*proc  // serve-1, worker-1, serve-2, worker-2
	cancel                  context.CancelFunc
	wg                      sync.WaitGroup
	closers                 []func()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// startStack builds officex, creates the database, starts Temporal and the
// simulator, migrates, and starts the four officex processes. On error what
// was started is stopped again.
func startStack(ctx context.Context, o options) (s *stack, err error) {
	s = &stack{o: o, adminKey: "chaos-admin-" + randomHex(16), encryptionKey: randomKey(), codecKey: randomKey()}
	defer func() {
		if err != nil {
			s.close(false)
		}
	}()
	if s.dir, err = os.MkdirTemp("", "officex-chaos-"); err != nil {
		return s, err
	}
	if o.Topology != "" {
		// Before the build: the topology's processes run the binary it replaces.
		if err := s.joinTopology(ctx); err != nil {
			return s, err
		}
	}
	if o.Build {
		logf("building %s", o.Officex)
		build := exec.CommandContext(ctx, "go", "build", "-o", o.Officex, "./cmd/officex")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return s, fmt.Errorf("go build ./cmd/officex: %w", err)
		}
	}
	if o.Topology == "" {
		dev, err := newTemporal(o.Temporal, s.dir)
		if err != nil {
			return s, err
		}
		s.temporal = dev
		s.closers = append(s.closers, dev.remove)
		logf("starting the Temporal dev server on %s (histories in %s)", dev.address(), dev.dbFile)
		if err := dev.start(ctx); err != nil {
			return s, err
		}
		s.closers = append(s.closers, dev.stop)
	}
	if err := s.createDatabase(ctx); err != nil {
		return s, err
	}
	if err := s.startSimulator(); err != nil {
		return s, err
	}
	migrate := func() error { return s.runOfficex(ctx, []string{"DATABASE_URL=" + s.dbURL}, "migrate") }
	err = migrate()
	for try := 1; try < 3 && err != nil && ctx.Err() == nil; try++ { // the PostgreSQL server is shared: it may refuse a connection
		time.Sleep(2 * time.Second)
		err = migrate()
	}
	if err != nil {
		return s, err
	}
	return s, s.startProcs(ctx)
}

// createDatabase creates the run's database (a random name) and schedules
// its drop.
func (s *stack) createDatabase(ctx context.Context) error {
	u, err := url.Parse(s.o.DatabaseURL)
	if err != nil {
		return fmt.Errorf("-database-url: %w", err)
	}
	admin, err := pgx.Connect(ctx, s.o.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s: %w", u.Host, err)
	}
	defer admin.Close(ctx)
	s.dbName = "officex_chaos_" + randomHex(6)
	poolConns := fmt.Sprint(poolMaxConns)
	if s.o.Topology != "" { // the topology's names and pools
		s.dbName, poolConns = "officex_topo_chaos_"+randomHex(6), topologyPoolSize()
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+s.dbName); err != nil {
		return fmt.Errorf("create database %s: %w", s.dbName, err)
	}
	s.closers = append(s.closers, s.dropDatabase)
	u.Path = "/" + s.dbName
	s.dbURL = u.String()
	// Only for pools: officex migrate also connects without one, and
	// PostgreSQL refuses pool_max_conns as a connection parameter.
	q := u.Query()
	q.Set("pool_max_conns", poolConns)
	u.RawQuery = q.Encode()
	s.dbPoolURL = u.String()
	logf("database %s created", s.dbName)
	return nil
}

func (s *stack) dropDatabase() {
	if s.pool != nil {
		s.pool.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, s.o.DatabaseURL)
	if err != nil {
		logf("could not drop database %s: %v", s.dbName, err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+s.dbName+" WITH (FORCE)"); err != nil {
		logf("could not drop database %s: %v", s.dbName, err)
	}
}

// startSimulator serves the Stripe test-mode simulator on loopback for both
// servers and both workers: each officex process would otherwise start its
// own (testing mode without STRIPE_SECRET_KEY), and a PaymentIntent created
// by one would be unknown to the others and lost with each kill.
func (s *stack) startSimulator() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.sim = stripesim.New()
	s.simSrv = &http.Server{Handler: s.sim, ReadHeaderTimeout: 10 * time.Second}
	go s.simSrv.Serve(l) //nolint:errcheck // ends with Close
	s.simURL = "http://" + l.Addr().String()
	s.closers = append(s.closers, func() { s.simSrv.Close() })
	return nil
}

// baseEnv is the configuration every officex process of the run shares.
func (s *stack) baseEnv(encryptionKey, codecKey string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"DATABASE_URL=" + s.dbPoolURL, "TEMPORAL_ADDRESS=" + s.temporal.address(), "OFFICEX_TASK_QUEUE=officex-chaos",
		"OFFICEX_TESTING_MODE=true", "OFFICEX_ALLOW_PRIVATE_URLS=true", "OFFICEX_ENCRYPTION_KEY=" + encryptionKey,
		"OFFICEX_TEMPORAL_CODEC_KEY=" + codecKey, "OFFICEX_ADMIN_SECRET=" + s.adminKey,
		"STRIPE_SECRET_KEY=" + simKey, "STRIPE_API_BASE=" + s.simURL,
		"OFFICEX_UPLOAD_DIR=" + filepath.Join(s.dir, "uploads"),
	}
}

func (s *stack) env(extra ...string) []string {
	if s.o.Topology != "" {
		return append(s.topologyEnv(), extra...)
	}
	return append(s.baseEnv(s.encryptionKey, s.codecKey), extra...)
}

// runOfficex runs a short officex command (migrate, reconcile) on the run's
// configuration (extra variables win) and returns its error with its output.
func (s *stack) runOfficex(ctx context.Context, extra []string, args ...string) error {
	out, err := s.officexOutput(ctx, extra, args...)
	if err != nil {
		return fmt.Errorf("officex %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (s *stack) officexOutput(ctx context.Context, extra []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.o.Officex, args...)
	cmd.Env = s.env(extra...)
	cmd.SysProcAttr = childAttrs()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startProcs starts the officex processes (serve-1, worker-1, serve-2 and
// worker-2, or the topology's slots) under their supervisors and waits until
// all are ready.
func (s *stack) startProcs(ctx context.Context) error {
	var err error
	if s.pool, err = pgxpool.New(ctx, s.dbPoolURL); err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.o.Topology != "" {
		err = s.topologyProcs(ctx)
	} else {
		err = s.devProcs()
	}
	if err != nil {
		return err
	}
	for _, p := range s.procs {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			p.supervise(pctx)
		}()
	}
	var names []string
	for _, p := range s.procs {
		if _, err := p.waitReadyAfter(ctx, 0); err != nil {
			return fmt.Errorf("%w; last lines of %s:\n%s", err, p.logPath, tail(p.logPath, 20))
		}
		names = append(names, p.name)
	}
	if s.proxyURL != "" {
		if err := s.waitProxyReady(ctx); err != nil {
			return err
		}
	}
	logf("%s are up (logs in %s)", strings.Join(names, ", "), s.dir)
	return nil
}

// devProcs makes serve-1, worker-1, serve-2 and worker-2 on free ports.
func (s *stack) devProcs() error {
	for i := 1; i <= 2; i++ {
		ports := make([]int, 4)
		for j := range ports {
			var err error
			if ports[j], err = freePort(); err != nil {
				return err
			}
		}
		api := fmt.Sprintf("127.0.0.1:%d", ports[0])
		serveEnv := s.env("OFFICEX_HTTP_ADDR="+api, fmt.Sprintf("OFFICEX_CHAT_ADDR=127.0.0.1:%d", ports[1]),
			fmt.Sprintf("OFFICEX_METRICS_ADDR=127.0.0.1:%d", ports[2]))
		workerEnv := s.env(fmt.Sprintf("OFFICEX_METRICS_ADDR=127.0.0.1:%d", ports[3]))
		serve := newProc(fmt.Sprintf("serve-%d", i), "serve", []string{s.o.Officex, "serve"},
			filepath.Join(s.dir, fmt.Sprintf("serve-%d.log", i)), "http://"+api+"/healthz", serveEnv)
		worker := newProc(fmt.Sprintf("worker-%d", i), "worker", []string{s.o.Officex, "worker"},
			filepath.Join(s.dir, fmt.Sprintf("worker-%d.log", i)), "", workerEnv)
		s.procs = append(s.procs, serve, worker)
		s.serveURLs = append(s.serveURLs, "http://"+api+"/v1")
	}
	return nil
}

// close stops the officex processes, Temporal and the simulator, drops the
// database, and removes the temporary directory unless keepLogs.
func (s *stack) close(keepLogs bool) {
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	if s.dir == "" {
		return
	}
	if keepLogs {
		logf("logs kept in %s", s.dir)
		return
	}
	_ = os.RemoveAll(s.dir)
}
