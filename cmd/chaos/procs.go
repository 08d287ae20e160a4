package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds of the process supervisor.
const (
	restartBackoff  = 500 * time.Millisecond // before restarting a process that exited by itself
	readyLimit      = 90 * time.Second       // a restarted process must be ready within this
	stopGrace       = 5 * time.Second        // SIGTERM before SIGKILL at the end of the run
	workerReadyLine = `"msg":"worker started"`
)

// childAttrs puts a child in its own process group (Ctrl-C reaches only this
// program, which stops the children in order) and kills it if this program
// dies without cleaning up.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// freePort is a TCP port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proc is one supervised officex process (serve or worker). It is restarted
// whenever it exits until the run ends, as an orchestrator would.
type proc struct {
	name, mode string   // mode: serve or worker
	command    []string // what runs it: officex and its mode, or scripts/topology.sh exec NAME
	env        []string
	logPath    string
	healthURL  string // serve: /healthz; worker: ready when it logs workerReadyLine

	mu      sync.Mutex
	current *procRun
	gen     int
	crashes int // exits this program did not cause
	changed chan struct{}
}

// procRun is one run of a process.
type procRun struct {
	gen    int
	cmd    *exec.Cmd
	ready  chan struct{}
	readyT time.Time
	exited chan struct{}
	killed bool // by the chaos loop or the end of the run
}

func newProc(name, mode string, command []string, logPath, healthURL string, env []string) *proc {
	return &proc{name: name, mode: mode, command: command, env: env, logPath: logPath, healthURL: healthURL, changed: make(chan struct{})}
}

// supervise runs the process until ctx ends, restarting it whenever it
// exits; when ctx ends it stops the current run (TERM, then KILL) and returns.
func (p *proc) supervise(ctx context.Context) {
	for ctx.Err() == nil {
		r, err := p.start(ctx)
		if err != nil {
			logf("%s: %v", p.name, err)
		} else {
			select {
			case <-r.exited:
			case <-ctx.Done():
				p.terminate(r)
				return
			}
			p.mu.Lock()
			killed := r.killed
			if !killed {
				p.crashes++
			}
			p.mu.Unlock()
			if killed {
				continue // the chaos loop wants it back at once
			}
			logf("%s exited by itself (pid %d); restarting", p.name, r.cmd.Process.Pid)
		}
		select {
		case <-ctx.Done():
		case <-time.After(restartBackoff):
		}
	}
}

// terminate ends a run for good: TERM, then KILL after stopGrace.
func (p *proc) terminate(r *procRun) {
	p.mu.Lock()
	r.killed = true
	p.mu.Unlock()
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.exited
	}
}

func (p *proc) start(ctx context.Context) (*procRun, error) {
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.command[0], p.command[1:]...)
	cmd.Env = p.env
	cmd.Stdout = logFile
	cmd.SysProcAttr = childAttrs()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", strings.Join(p.command, " "), err)
	}
	p.mu.Lock()
	p.gen++
	r := &procRun{gen: p.gen, cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{})}
	p.current = r
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	var once sync.Once
	markReady := func() {
		once.Do(func() {
			p.mu.Lock()
			r.readyT = time.Now()
			p.mu.Unlock()
			close(r.ready)
		})
	}
	logDone := make(chan struct{})
	go func() { // copy the log, watching for the worker's ready line
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = io.WriteString(logFile, line+"\n")
			if p.mode == "worker" && strings.Contains(line, workerReadyLine) {
				markReady()
			}
		}
		_, _ = io.Copy(logFile, stderr)
	}()
	if p.mode == "serve" {
		go p.pollHealth(ctx, r, markReady)
	}
	go func() {
		<-logDone
		_ = cmd.Wait()
		logFile.Close()
		close(r.exited)
	}()
	return r, nil
}

// pollHealth marks a serve run ready once /healthz answers 200.
func (p *proc) pollHealth(ctx context.Context, r *procRun, markReady func()) {
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.healthURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				markReady()
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.exited:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// kill SIGKILLs the current run (its whole process group) and returns when
// it has exited; the supervisor starts the next run at once.
func (p *proc) kill() (killedGen int) {
	p.mu.Lock()
	r := p.current
	if r == nil {
		p.mu.Unlock()
		return 0
	}
	r.killed = true
	p.mu.Unlock()
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.exited
	return r.gen
}

// waitReadyAfter waits for a run later than gen to be ready and returns when
// it became ready.
func (p *proc) waitReadyAfter(ctx context.Context, gen int) (time.Time, error) {
	deadline := time.After(readyLimit)
	for {
		p.mu.Lock()
		r, changed := p.current, p.changed
		p.mu.Unlock()
		if r != nil && r.gen > gen {
			select {
			case <-r.ready:
				p.mu.Lock()
				t := r.readyT
				p.mu.Unlock()
				return t, nil
			case <-r.exited: // crashed before it was ready: wait for the next run
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			case <-deadline:
				return time.Time{}, fmt.Errorf("%s not ready within %s", p.name, readyLimit)
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline:
			return time.Time{}, fmt.Errorf("%s not ready within %s", p.name, readyLimit)
		}
	}
}

func (p *proc) crashCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.crashes
}
