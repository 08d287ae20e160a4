package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxResponseBytes bounds what is read of an answer.
const maxResponseBytes = 1 << 20

// apiClient calls the two servers and counts every answer and error.
type apiClient struct {
	urls  []string
	http  *http.Client
	stats *stats
}

// answer is an API answer: its status, decoded body and error code.
type answer struct {
	Status int
	Body   map[string]any
	Code   string // error.code of the envelope, when there is one
}

func (a answer) str(field string) string {
	if v, ok := a.Body[field].(string); ok {
		return v
	}
	return ""
}

// call sends one request to server i and records it under route.
func (c *apiClient) call(ctx context.Context, server int, route, method, path string, body any, headers map[string]string) (answer, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.urls[server]+path, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.stats.record(server, route, 0, transportKind(err), time.Since(start))
		}
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		c.stats.record(server, route, 0, transportKind(err), time.Since(start))
		return answer{}, err
	}
	a := answer{Status: resp.StatusCode}
	_ = json.Unmarshal(raw, &a.Body)
	if e, ok := a.Body["error"].(map[string]any); ok {
		a.Code, _ = e["code"].(string)
	}
	kind := ""
	if a.Status >= 300 {
		kind = fmt.Sprintf("%d %s", a.Status, a.Code)
	}
	c.stats.record(server, route, a.Status, kind, time.Since(start))
	return a, nil
}

// transportKind names a failed request: the server was down (refused), died
// mid-request (reset, EOF), or was too slow (timeout).
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport: " + err.Error()
}

// stats are the figures of the load: answers per route and server, errors
// by kind, latencies of successful answers.
type stats struct {
	mu       sync.Mutex
	answered map[string]int // route -> answers (any status)
	ok       map[string]int // route -> 2xx answers
	byServer []int          // answers per server
	errors   map[string]int // kind -> count
	latency  map[string][]time.Duration
}

func newStats(servers int) *stats {
	return &stats{answered: map[string]int{}, ok: map[string]int{}, byServer: make([]int, servers),
		errors: map[string]int{}, latency: map[string][]time.Duration{}}
}

func (s *stats) record(server int, route string, status int, kind string, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status > 0 {
		s.answered[route]++
		s.byServer[server]++
	}
	if status >= 200 && status < 300 {
		s.ok[route]++
		s.latency[route] = append(s.latency[route], took)
	}
	if kind != "" {
		s.errors[route+": "+kind]++
	}
}

// percentile is the p-quantile (0..1) of the route's successful latencies.
func (s *stats) percentile(route string, p float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := append([]time.Duration(nil), s.latency[route]...)
	if len(l) == 0 {
		return 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

// errorKinds are the error kinds, most frequent first.
func (s *stats) errorKinds() []kindCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []kindCount
	for k, n := range s.errors {
		out = append(out, kindCount{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].kind < out[j].kind
	})
	return out
}

type kindCount struct {
	kind string
	n    int
}

// routes are the routes that saw traffic, sorted.
func (s *stats) routes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for r := range s.answered {
		out = append(out, r)
	}
	for k := range s.errors {
		r, _, _ := strings.Cut(k, ": ")
		if _, seen := s.answered[r]; !seen && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}
