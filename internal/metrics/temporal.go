package metrics

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// TemporalReportEvery is how often the SDK's tally scope copies its values
// into the Prometheus registry.
const TemporalReportEvery = time.Second

// TemporalHandler is the Temporal SDK's metrics handler for client.Options:
// the SDK's own client and worker series (temporal_request_total,
// temporal_workflow_task_execution_latency_seconds, ...) land on this
// registry through tally's Prometheus reporter, named the way Temporal's
// other SDKs name them. The returned function stops the reporting loop.
//
// The SDK sometimes emits one series name with different tag sets (a failed
// request adds a status tag); Prometheus refuses a second label set for a
// registered name, so such a variant is dropped and logged once rather than
// panicking the process (tally's default).
func (m *Metrics) TemporalHandler(log *slog.Logger) (client.MetricsHandler, func()) {
	if m == nil {
		return nil, func() {}
	}
	var logged atomic.Bool
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: m.Registry, DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			if logged.CompareAndSwap(false, true) {
				log.Warn("a Temporal SDK metric variant was left out of /metrics (further ones are not logged)", "error", err.Error())
			}
		}})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{CachedReporter: reporter, Separator: tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions}, TemporalReportEvery)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), func() { _ = closer.Close() }
}
