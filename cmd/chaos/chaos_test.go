package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
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
