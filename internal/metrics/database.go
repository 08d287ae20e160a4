package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Scrape-time bounds: each scrape's queries share ScrapeTimeout, and ledger
// movements are counted up to LedgerSettle ago, so a journal transaction
// that started before the watermark but committed after it (its created_at
// is its start) is still counted once when the next scrape passes it.
const (
	ScrapeTimeout = 3 * time.Second
	LedgerSettle  = 10 * time.Second
)

// The scrape queries are read-only aggregates over small or indexed sets;
// they live here, not in db/queries, so their cost is read next to the
// series they feed. Open reservations use reservations_open_idx's predicate;
// the outbox is short by design (the relay empties it); the status tables
// (purchases, payouts, webhook deliveries) grow with business, not traffic.
const (
	qOpenReservations = `SELECT count(*), coalesce(sum(amount - settled - refunded), 0)::bigint
		FROM reservations WHERE status IN ('reserved', 'partial')`
	qOutbox = `SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
		FROM reservation_outbox`
	qTreasury        = `SELECT -available FROM wallets WHERE kind = 'treasury'`
	qPurchases       = `SELECT status, count(*), coalesce(sum(amount), 0)::bigint FROM credit_purchases GROUP BY status`
	qPayouts         = `SELECT status, count(*), coalesce(sum(amount), 0)::bigint FROM payouts GROUP BY status`
	qWebhooks        = `SELECT status, count(*), 0::bigint FROM webhook_deliveries GROUP BY status`
	qLedgerNow       = `SELECT now() - make_interval(secs => $1)`
	qLedgerMovements = `SELECT t.kind, count(DISTINCT t.id), coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0)::bigint
		FROM journal_transactions t JOIN journal_entries e ON e.transaction_id = t.id
		WHERE t.created_at > $1 AND t.created_at <= $2 GROUP BY t.kind`
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	descReservationsOpen = desc("reservations_open", "Reservations still open (reserved or partial).")
	descReservedMicro    = desc("reservations_reserved_microcredits", "Micro-credits held by open reservations (their remaining).")
	descOutboxDepth      = desc("outbox_depth", "Rows waiting in the reservation outbox for the relay.")
	descRelayLag         = desc("outbox_oldest_age_seconds", "Age of the oldest outbox row: how far the relay lags (0 when empty; includes the relay's debounce).")
	descLiability        = desc("treasury_liability_microcredits", "Credits the platform owes holders: minus the treasury's balance (invariant 1).")
	descPurchases        = desc("purchases", "Credit purchases by status.", "status")
	descPurchaseMicro    = desc("purchase_microcredits", "Micro-credits of credit purchases by status.", "status")
	descPayouts          = desc("payouts", "Payouts by status.", "status")
	descPayoutMicro      = desc("payout_microcredits", "Micro-credits of payouts by status.", "status")
	descWebhooks         = desc("webhook_deliveries", "Webhook deliveries (INSTALL, UNINSTALL, RATE_LIMIT_CHANGE) by status.", "status")
	descMovements        = desc("ledger_movements_total", "Journal transactions by kind (purchase, reserve, settle, refund, payout_burn, ...), counted once they are LedgerSettle old.", "kind")
	descMovementMicro    = desc("ledger_movement_microcredits_total", "Micro-credits moved by journal transactions, by kind (the sum of their positive entries).", "kind")
)

// database collects the scrape-time series from PostgreSQL.
type database struct {
	pool   *pgxpool.Pool
	settle time.Duration

	mu        sync.Mutex // one scrape at a time advances the ledger totals
	watermark time.Time  // journal transactions up to here are in totals
	totals    map[string]movementTotal
}

type movementTotal struct{ count, micro int64 }

func (d *database) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{descReservationsOpen, descReservedMicro, descOutboxDepth, descRelayLag,
		descLiability, descPurchases, descPurchaseMicro, descPayouts, descPayoutMicro, descWebhooks,
		descMovements, descMovementMicro} {
		ch <- x
	}
}

func (d *database) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	d.collectOpen(ctx, ch)
	d.collectOutbox(ctx, ch)
	d.collectTreasury(ctx, ch)
	d.collectByStatus(ctx, ch, qPurchases, descPurchases, descPurchaseMicro)
	d.collectByStatus(ctx, ch, qPayouts, descPayouts, descPayoutMicro)
	d.collectByStatus(ctx, ch, qWebhooks, descWebhooks, nil)
	d.collectMovements(ctx, ch)
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func (d *database) collectOpen(ctx context.Context, ch chan<- prometheus.Metric) {
	var n, micro int64
	if err := d.pool.QueryRow(ctx, qOpenReservations).Scan(&n, &micro); err != nil {
		ch <- prometheus.NewInvalidMetric(descReservationsOpen, fmt.Errorf("open reservations: %w", err))
		return
	}
	ch <- gauge(descReservationsOpen, float64(n))
	ch <- gauge(descReservedMicro, float64(micro))
}

func (d *database) collectOutbox(ctx context.Context, ch chan<- prometheus.Metric) {
	var n int64
	var age float64
	if err := d.pool.QueryRow(ctx, qOutbox).Scan(&n, &age); err != nil {
		ch <- prometheus.NewInvalidMetric(descOutboxDepth, fmt.Errorf("outbox: %w", err))
		return
	}
	ch <- gauge(descOutboxDepth, float64(n))
	ch <- gauge(descRelayLag, age)
}

func (d *database) collectTreasury(ctx context.Context, ch chan<- prometheus.Metric) {
	var liability int64
	if err := d.pool.QueryRow(ctx, qTreasury).Scan(&liability); err != nil {
		ch <- prometheus.NewInvalidMetric(descLiability, fmt.Errorf("treasury: %w", err))
		return
	}
	ch <- gauge(descLiability, float64(liability))
}

// collectByStatus emits count (and, with microDesc, micro-credits) per status.
func (d *database) collectByStatus(ctx context.Context, ch chan<- prometheus.Metric, query string, countDesc, microDesc *prometheus.Desc) {
	rows, err := d.pool.Query(ctx, query)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(countDesc, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n, micro int64
		if err := rows.Scan(&status, &n, &micro); err != nil {
			ch <- prometheus.NewInvalidMetric(countDesc, err)
			return
		}
		ch <- gauge(countDesc, float64(n), status)
		if microDesc != nil {
			ch <- gauge(microDesc, float64(micro), status)
		}
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(countDesc, err)
	}
}

// collectMovements advances the ledger totals from the watermark to
// LedgerSettle ago and emits them as counters. The first scrape of a process
// reads the whole journal once; later ones read only the new window, through
// journal_transactions_created_idx. The totals are the journal's, whichever
// process wrote it, so every process reports the same value: aggregate with
// max(), not sum().
func (d *database) collectMovements(ctx context.Context, ch chan<- prometheus.Metric) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.advanceMovements(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(descMovements, fmt.Errorf("ledger movements: %w", err))
		return
	}
	for kind, t := range d.totals {
		ch <- prometheus.MustNewConstMetric(descMovements, prometheus.CounterValue, float64(t.count), kind)
		ch <- prometheus.MustNewConstMetric(descMovementMicro, prometheus.CounterValue, float64(t.micro), kind)
	}
}

func (d *database) advanceMovements(ctx context.Context) error {
	var upTo time.Time
	if err := d.pool.QueryRow(ctx, qLedgerNow, d.settle.Seconds()).Scan(&upTo); err != nil {
		return err
	}
	if !upTo.After(d.watermark) {
		return nil
	}
	rows, err := d.pool.Query(ctx, qLedgerMovements, d.watermark, upTo)
	if err != nil {
		return err
	}
	defer rows.Close()
	add := map[string]movementTotal{}
	for rows.Next() {
		var kind string
		var t movementTotal
		if err := rows.Scan(&kind, &t.count, &t.micro); err != nil {
			return err
		}
		add[kind] = t
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Only a complete window moves the watermark: a failed scrape adds nothing.
	for kind, t := range add {
		sum := d.totals[kind]
		d.totals[kind] = movementTotal{sum.count + t.count, sum.micro + t.micro}
	}
	d.watermark = upTo
	return nil
}
