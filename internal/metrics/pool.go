package metrics

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descPoolConns        = desc("db_pool_connections", "Connections of this process's pgx pool by state.", "state")
	descPoolMax          = desc("db_pool_max_connections", "The pgx pool's maximum size.")
	descPoolAcquires     = desc("db_pool_acquires_total", "Successful connection acquisitions from the pool.")
	descPoolEmpty        = desc("db_pool_empty_acquires_total", "Acquisitions that had to wait because the pool was empty.")
	descPoolCanceled     = desc("db_pool_canceled_acquires_total", "Acquisitions cancelled by their context while waiting.")
	descPoolAcquireWait  = desc("db_pool_acquire_seconds_total", "Total time spent acquiring connections.")
	descPoolNewConns     = desc("db_pool_new_connections_total", "Connections the pool opened.")
	descPoolIdleDestroys = desc("db_pool_idle_destroys_total", "Connections closed for being idle too long.")
)

// pool reports pgxpool.Stat, which is in-memory and free to read.
type pool struct{ pool *pgxpool.Pool }

func (p pool) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPoolConns, descPoolMax, descPoolAcquires, descPoolEmpty,
		descPoolCanceled, descPoolAcquireWait, descPoolNewConns, descPoolIdleDestroys} {
		ch <- d
	}
}

func (p pool) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	ch <- gauge(descPoolConns, float64(s.AcquiredConns()), "acquired")
	ch <- gauge(descPoolConns, float64(s.IdleConns()), "idle")
	ch <- gauge(descPoolConns, float64(s.ConstructingConns()), "constructing")
	ch <- gauge(descPoolMax, float64(s.MaxConns()))
	counter(descPoolAcquires, float64(s.AcquireCount()))
	counter(descPoolEmpty, float64(s.EmptyAcquireCount()))
	counter(descPoolCanceled, float64(s.CanceledAcquireCount()))
	counter(descPoolAcquireWait, s.AcquireDuration().Seconds())
	counter(descPoolNewConns, float64(s.NewConnsCount()))
	counter(descPoolIdleDestroys, float64(s.MaxIdleDestroyCount()))
}

// WatchDatabase adds the scrape-time PostgreSQL series and the pool's stats
// (served by p) to the registry. Call it once per process.
func (m *Metrics) WatchDatabase(p *pgxpool.Pool) {
	m.watchDatabase(p, LedgerSettle)
}

func (m *Metrics) watchDatabase(p *pgxpool.Pool, settle time.Duration) {
	m.register(pool{p}, &database{pool: p, settle: settle,
		watermark: time.Unix(0, 0), totals: map[string]movementTotal{}})
}
