package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The topology mode (-topology scripts/topology.sh, make chaos TOPOLOGY=1)
// runs the same load and checks against the production topology of
// `make topology`: its Temporal cluster (four services on PostgreSQL) and its
// proxy in front of the API processes. The officex processes are the
// topology's own slots, run the way the script starts them
// (`scripts/topology.sh exec NAME`: the same binary, configuration and
// ports), but supervised by chaos on a database, a Temporal namespace and a
// Stripe simulator of the run's own, because the money checks need every
// purchase and payout of the database to have gone through the simulator.
// The topology's own officex processes are stopped for the run and started
// again at the end.

// topologyOutage are the Temporal services the outage stops, in that order
// (the frontend first, as a load balancer losing its backends would), and
// starts again in reverse.
var topologyOutage = []string{"temporal-frontend", "temporal-history"}

// topologyPoolConns is each process's pool when DATABASE_URL (the
// topology's) names none.
const topologyPoolConns = 5

// topologyProc is one line of `scripts/topology.sh procs`.
type topologyProc struct {
	Name, Mode, URL string
}

// parseTopologyProcs reads `scripts/topology.sh procs`: NAME MODE URL lines.
func parseTopologyProcs(out []byte) ([]topologyProc, error) {
	var procs []topologyProc
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("scripts/topology.sh procs: unexpected line %q", sc.Text())
		}
		procs = append(procs, topologyProc{Name: f[0], Mode: f[1], URL: f[2]})
	}
	return procs, sc.Err()
}

// interleave orders the officex processes serve, worker, serve, worker, as
// the dev-server mode has them, so the kills alternate between the two kinds.
func interleave(procs []topologyProc) []topologyProc {
	var serves, workers, out []topologyProc
	for _, p := range procs {
		switch p.Mode {
		case "serve":
			serves = append(serves, p)
		case "worker":
			workers = append(workers, p)
		}
	}
	for i := 0; i < max(len(serves), len(workers)); i++ {
		if i < len(serves) {
			out = append(out, serves[i])
		}
		if i < len(workers) {
			out = append(out, workers[i])
		}
	}
	return out
}

// script runs scripts/topology.sh with args and returns its output.
func (s *stack) script(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, s.o.Topology, args...)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = childAttrs()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", s.o.Topology, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// joinTopology checks that the topology runs, takes its officex processes'
// places (stopping them; a closer starts them again) and readies the run's
// Temporal namespace on its cluster.
func (s *stack) joinTopology(ctx context.Context) error {
	if s.adminKey = os.Getenv("OFFICEX_ADMIN_SECRET"); s.adminKey == "" || os.Getenv("TEMPORAL_ADDRESS") == "" {
		return fmt.Errorf("-topology: run through `%s run` (make chaos TOPOLOGY=1), which sets the topology's environment", s.o.Topology)
	}
	out, err := s.script(ctx, "procs")
	if err != nil {
		return err
	}
	all, err := parseTopologyProcs(out)
	if err != nil {
		return err
	}
	for _, p := range all {
		if p.Mode == "proxy" {
			s.proxyURL = p.URL
		}
	}
	s.topoProcs = interleave(all)
	if s.proxyURL == "" || len(s.topoProcs) == 0 {
		return fmt.Errorf("scripts/topology.sh procs names no proxy or no officex process:\n%s", out)
	}
	s.temporal = &topologyTemporal{s: s, addr: os.Getenv("TEMPORAL_ADDRESS")}
	if !temporalHealthy(ctx, s.temporal.address()) {
		return fmt.Errorf("the topology's Temporal at %s does not answer: scripts/topology.sh status", s.temporal.address())
	}
	var names []string
	for _, p := range s.topoProcs {
		names = append(names, p.Name)
	}
	logf("stopping the topology's %s for the run (started again at its end)", strings.Join(names, ", "))
	if _, err := s.script(ctx, append([]string{"stop"}, names...)...); err != nil {
		return err
	}
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := s.script(ctx, append([]string{"start"}, names...)...); err != nil {
			logf("could not start the topology's officex processes again (make topology does): %v", err)
		} else {
			logf("the topology's %s run again", strings.Join(names, ", "))
		}
	})
	if err := s.createNamespace(ctx); err != nil {
		return err
	}
	// Closers run last first: the Temporal services are up again, whatever
	// happened, before the namespace is deleted and the topology's own
	// processes start.
	s.closers = append(s.closers, func() {
		if t := s.temporal.(*topologyTemporal); t.down {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := t.start(ctx); err != nil {
				logf("%v", err)
			}
		}
	})
	return nil
}

// createNamespace registers the run's namespace and the workflows' search
// attributes with deploy/temporal/namespace.sh (as make topology does for
// its own), and schedules its deletion. A namespace of its own keeps the run's
// workflows, its payout schedule and its batch ids apart from the topology's.
func (s *stack) createNamespace(ctx context.Context) error {
	s.namespace = "officex-chaos-" + randomHex(4)
	logf("creating the Temporal namespace %s on %s", s.namespace, s.temporal.address())
	cmd := exec.CommandContext(ctx, "sh", filepath.Join(filepath.Dir(s.o.Topology), "..", "deploy", "temporal", "namespace.sh"))
	cmd.Env = append(os.Environ(), "TEMPORAL_CLI="+s.o.Temporal, "TEMPORAL_ADDRESS="+s.temporal.address(), "TEMPORAL_NAMESPACE="+s.namespace)
	cmd.SysProcAttr = childAttrs()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("namespace %s: %w\n%s", s.namespace, err, out)
	}
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, s.o.Temporal, "operator", "namespace", "delete", "--yes",
			"--address", s.temporal.address(), "-n", s.namespace).CombinedOutput()
		if err != nil {
			logf("could not delete the namespace %s: %v %s", s.namespace, err, out)
		}
	})
	return nil
}

// topologyEnv is the configuration of the run's officex processes in the
// topology mode: the topology's (this program runs under `scripts/topology.sh
// run`), with the run's database, namespace, task queue and Stripe. The
// TOPO_ variables are what `scripts/topology.sh exec` reads.
func (s *stack) topologyEnv() []string {
	return append(os.Environ(),
		"DATABASE_URL="+s.dbPoolURL, "TOPO_DATABASE_URL="+s.dbPoolURL,
		"TEMPORAL_NAMESPACE="+s.namespace, "TOPO_TEMPORAL_NAMESPACE="+s.namespace,
		"OFFICEX_TASK_QUEUE=officex-chaos", "STRIPE_SECRET_KEY="+simKey, "STRIPE_API_BASE="+s.simURL)
}

// topologyPoolSize is pool_max_conns of the topology's DATABASE_URL.
func topologyPoolSize() string {
	if u, err := url.Parse(os.Getenv("DATABASE_URL")); err == nil {
		if n := u.Query().Get("pool_max_conns"); n != "" {
			return n
		}
	}
	return fmt.Sprint(topologyPoolConns)
}

// topologyProcs makes the supervised processes of the topology mode, in the
// topology's slots, and waits for the proxy to find an API process ready.
func (s *stack) topologyProcs(ctx context.Context) error {
	for _, p := range s.topoProcs {
		health := ""
		if p.Mode == "serve" {
			health = p.URL + "/healthz"
		}
		s.procs = append(s.procs, newProc(p.Name, p.Mode, []string{s.o.Topology, "exec", p.Name},
			filepath.Join(s.dir, p.Name+".log"), health, s.env()))
	}
	s.serveURLs = []string{s.proxyURL + "/v1"}
	return nil
}

// waitProxyReady waits until the proxy's /readyz answers 200 (it has found a
// ready API process).
func (s *stack) waitProxyReady(ctx context.Context) error {
	client := &http.Client{Timeout: 3 * time.Second}
	deadline := time.Now().Add(readyLimit)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(s.proxyURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the proxy %s found no ready API process within %s", s.proxyURL, readyLimit)
}

// topologyTemporal is the topology's Temporal cluster; the outage stops
// topologyOutage with the script and starts them again the way `up` does.
type topologyTemporal struct {
	s    *stack
	addr string
	down bool
}

func (t *topologyTemporal) address() string { return t.addr }

func (t *topologyTemporal) what() string {
	return "Temporal's " + strings.Join(topologyOutage, " and ")
}

func (t *topologyTemporal) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.down = true
	if _, err := t.s.script(ctx, append([]string{"stop"}, topologyOutage...)...); err != nil {
		logf("%v", err)
	}
}

// start starts the stopped services (history before the frontend) and waits
// until the frontend answers.
func (t *topologyTemporal) start(ctx context.Context) error {
	names := slices.Clone(topologyOutage)
	slices.Reverse(names)
	if _, err := t.s.script(ctx, append([]string{"start"}, names...)...); err != nil {
		return err
	}
	t.down = false
	return waitTemporal(ctx, t.addr, nil, "")
}
