// Package metrics is OfficeX's Prometheus surface: one registry per process,
// served on its own listener (OFFICEX_METRICS_ADDR), never on the public API
// port. It owns the series names (all of ours start with officex_), the HTTP
// and billing counters the API feeds, the collectors that read PostgreSQL and
// the pgx pool at scrape time, and the bridge that puts the Temporal SDK's own
// metrics (temporal_*) on the same registry. It must not change any state: a
// scrape only reads.
package metrics

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every series of ours.
const Namespace = "officex"

// Outcome labels beside the API's error codes.
const (
	OutcomeOK = "ok"
	// RouteUnmatched is the route label of a request no route matched (404
	// or 405 before any handler): one label for any path, so a scan of
	// random paths cannot blow up the series count.
	RouteUnmatched = "unmatched"
)

// Metrics is one process's registry and the series code feeds directly. A
// nil *Metrics is valid and records nothing, so tests and tools that build
// the API without metrics need no stand-in.
type Metrics struct {
	Registry     *prometheus.Registry
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	reservations *prometheus.CounterVec
	codes        *prometheus.CounterVec
	// ours are the collectors of officex_ series, for SeriesNames.
	ours []prometheus.Collector
}

// New makes a registry with the Go runtime and process collectors and our
// request-path series. Database and Temporal series join with WatchDatabase
// and TemporalHandler.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered by the API, by mux route template, method and status.",
	}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds",
		Help:    "Time to answer an API request, by mux route template and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	m.reservations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "reservations_total",
		Help: "Reserve, settle and cancel requests by operation and outcome (ok or the refusal's error code).",
	}, []string{"operation", "outcome"})
	m.codes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "otp_codes_total",
		Help: "One-time code requests by purpose and outcome: sent, throttled, send_failed, none (unknown or suspended email: nothing sent).",
	}, []string{"purpose", "outcome"})
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.register(m.httpRequests, m.httpDuration, m.reservations, m.codes)
	return m
}

func (m *Metrics) register(cs ...prometheus.Collector) {
	m.Registry.MustRegister(cs...)
	m.ours = append(m.ours, cs...)
}

// descName pulls fqName out of a Desc, which has no getter for it.
var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// SeriesNames lists every officex_ metric family this process can export,
// whether or not it has samples yet (a labelled counter appears on /metrics
// only once used): the dashboard's test checks its queries against it.
func (m *Metrics) SeriesNames() []string {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range m.ours {
			c.Describe(ch)
		}
		close(ch)
	}()
	var names []string
	for d := range ch {
		if sub := descName.FindStringSubmatch(d.String()); sub != nil {
			names = append(names, sub[1])
		}
	}
	return names
}

// Handler serves the registry in the Prometheus text format. A collector
// that fails (the database is away) leaves its series out and the rest is
// still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveHTTP records one answered request.
func (m *Metrics) ObserveHTTP(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(took.Seconds())
}

// ObserveBilling records the outcome of a reserve, settle or cancel:
// OutcomeOK or the refusal's error code.
func (m *Metrics) ObserveBilling(operation, outcome string) {
	if m == nil {
		return
	}
	m.reservations.WithLabelValues(operation, outcome).Inc()
}

// ObserveCode records what became of a one-time code request.
func (m *Metrics) ObserveCode(purpose, outcome string) {
	if m == nil {
		return
	}
	m.codes.WithLabelValues(purpose, outcome).Inc()
}
