package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A request to a port nobody listens on is a "connection refused", one to a
// server that dies mid-answer a "connection reset": the report's error kinds
// tell a server that was down from one that was killed under a request.
func TestTransportKind_RefusedAndReset(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = http.Get("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err == nil || transportKind(err) != "connection refused" {
		t.Fatalf("closed port: %v classified %q", err, transportKind(err))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler) // the connection closes unanswered
	}))
	defer srv.Close()
	_, err = http.Get(srv.URL)
	if err == nil || transportKind(err) != "connection reset" {
		t.Fatalf("aborted answer: %v classified %q", err, transportKind(err))
	}
}

// The outage starts between two kills, about a third into the run, and ends
// before the load does.
func TestOutageAt_BetweenKillsAndWithinTheRun(t *testing.T) {
	for _, d := range []time.Duration{minDuration, time.Minute, 3 * time.Minute, 10 * time.Minute} {
		r := &runner{o: options{Duration: d}}
		at := r.outageAt()
		if at%killEvery == 0 || at+temporalOutage >= d {
			t.Errorf("duration %s: outage at %s (kills every %s, outage %s)", d, at, killEvery, temporalOutage)
		}
	}
}

// The topology mode takes its slots from `scripts/topology.sh procs`: two
// serve and two worker processes and the proxy, killed in turn serve,
// worker, serve, worker.
func TestTopologyProcs_ScriptListsItsSlots(t *testing.T) {
	out, err := exec.Command("../../scripts/topology.sh", "procs").Output()
	if err != nil {
		t.Fatalf("scripts/topology.sh procs: %v", err)
	}
	all, err := parseTopologyProcs(out)
	if err != nil {
		t.Fatal(err)
	}
	var proxy string
	for _, p := range all {
		if p.Mode == "proxy" {
			proxy = p.URL
		}
		if _, err := url.Parse(p.URL); err != nil || !strings.HasPrefix(p.URL, "http://127.0.0.1:") {
			t.Errorf("%s: URL %q", p.Name, p.URL)
		}
	}
	if proxy != "http://127.0.0.1:18080" {
		t.Errorf("proxy at %q, want the topology's http://127.0.0.1:18080", proxy)
	}
	var order []string
	for _, p := range interleave(all) {
		order = append(order, p.Name+" "+p.Mode)
	}
	want := []string{"officex-serve-1 serve", "officex-worker-1 worker", "officex-serve-2 serve", "officex-worker-2 worker"}
	if !slices.Equal(order, want) {
		t.Errorf("kill order %v, want %v", order, want)
	}
	if _, err := parseTopologyProcs([]byte("officex-serve-1 serve\n")); err == nil {
		t.Error("a line without its URL parsed")
	}
}
