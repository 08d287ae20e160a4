package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/officex/officex/workflows"
)

const (
	// temporalStartLimit bounds how long the dev server may take to answer.
	temporalStartLimit = 60 * time.Second
	// minShmBytes is the room /dev/shm needs for the sqlite file (a 3-minute
	// run writes a few tens of MB); a container's small /dev/shm is passed over.
	minShmBytes = 512 << 20
)

// temporalControl is the Temporal the run's processes use, and how the
// outage stops and starts it: the run's own dev server, or the topology's
// cluster (topologyTemporal).
type temporalControl interface {
	address() string
	what() string // for the log and the report
	stop()
	start(ctx context.Context) error // and wait until it answers
}

// temporalServer is the run's own Temporal dev server: headless, on free
// ports, its histories in a sqlite file so they survive a restart. The file
// lives in memory (/dev/shm when there is one) and sqlite does not fsync:
// the outage is a process stop, not a machine crash, and a dev server
// writing to disk on a busy machine falls behind the load by minutes.
type temporalServer struct {
	bin, dir   string // dir holds the sqlite file
	dbFile     string
	port       int
	started    bool // the first start registered the search attributes
	cmd        *exec.Cmd
	exited     chan struct{}
	logPath    string
	stopSignal syscall.Signal
}

func newTemporal(bin, dir string) (*temporalServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dbDir := dir
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &fs); err == nil && int64(fs.Bavail)*fs.Bsize >= minShmBytes {
		if dbDir, err = os.MkdirTemp("/dev/shm", "officex-chaos-temporal-"); err != nil {
			return nil, err
		}
	}
	return &temporalServer{bin: bin, dir: dbDir, dbFile: filepath.Join(dbDir, "temporal.db"), port: port,
		logPath: filepath.Join(dir, "temporal.log")}, nil
}

// remove deletes the sqlite file (and its directory in /dev/shm).
func (t *temporalServer) remove() {
	if strings.HasPrefix(t.dir, "/dev/shm/") {
		_ = os.RemoveAll(t.dir)
	}
}

func (t *temporalServer) address() string { return fmt.Sprintf("127.0.0.1:%d", t.port) }

func (t *temporalServer) what() string { return "the Temporal dev server" }

// start runs the dev server and waits until it answers. The first start
// registers the search attributes `officex worker` checks for (as
// scripts/stack.sh does); a restart finds them in the sqlite file.
func (t *temporalServer) start(ctx context.Context) error {
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", fmt.Sprint(t.port),
		"--http-port", fmt.Sprint(httpPort), "--metrics-port", fmt.Sprint(metricsPort),
		"--db-filename", t.dbFile, "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off",
		"--log-level", "warn"}
	if !t.started {
		names := make([]string, 0, len(workflows.RequiredSearchAttributes))
		for name := range workflows.RequiredSearchAttributes {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			args = append(args, "--search-attribute", name+"="+workflows.RequiredSearchAttributes[name])
		}
	}
	logFile, err := os.OpenFile(t.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(t.bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start the Temporal dev server %s: %w", t.bin, err)
	}
	t.cmd, t.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}(t.exited)
	if err := t.waitHealthy(ctx); err != nil {
		t.stop()
		return err
	}
	t.started = true
	return nil
}

// waitHealthy polls the dev server until it answers, it dies or the limit passes.
func (t *temporalServer) waitHealthy(ctx context.Context) error {
	return waitTemporal(ctx, t.address(), t.exited, t.logPath)
}

// waitTemporal polls the frontend at addr until it answers, exited closes
// (the process died; nil: not ours to watch) or temporalStartLimit passes;
// logPath, when known, is quoted on failure.
func waitTemporal(ctx context.Context, addr string, exited <-chan struct{}, logPath string) error {
	deadline := time.Now().Add(temporalStartLimit)
	logTail := func() string {
		if logPath == "" {
			return ""
		}
		return fmt.Sprintf("; last lines of %s:\n%s", logPath, tail(logPath, 20))
	}
	for {
		if temporalHealthy(ctx, addr) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("Temporal exited before it answered%s", logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Temporal at %s did not answer within %s%s", addr, temporalStartLimit, logTail())
		}
	}
}

// temporalHealthy reports whether the frontend at addr answers a health check.
func temporalHealthy(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: quietLogger{}})
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err == nil
}

// stop ends the dev server (TERM, then KILL after 10 s) and waits for it.
func (t *temporalServer) stop() {
	if t.cmd == nil {
		return
	}
	_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-t.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.exited
	}
	t.cmd = nil
}

// quietLogger keeps the SDK's connection retries out of the run's output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// tail is the last n lines of a log file, for an error message.
func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
