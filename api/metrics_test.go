package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/worker"
	"github.com/officex/officex/workflows"
)

// scrape GETs /metrics from the package's registry, as Prometheus would.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the sample of family name whose labels include want (0 when absent).
func (s scrape) value(name string, want map[string]string) float64 {
	fam, ok := s[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func (s scrape) has(name string) bool { _, ok := s[name]; return ok }

type labels = map[string]string

// TestMetrics_ScrapeMovesWithFlows drives sign-ups, a throttled code, a
// purchase, reserve/settle/cancel with a refusal and an INSTALL webhook over
// HTTP, then checks that /metrics moved by exactly what was driven (request
// counters and outcomes) or at least that much (database series, which other
// tests of the package also move).
func TestMetrics_ScrapeMovesWithFlows(t *testing.T) {
	metricsSrv := httptest.NewServer(env.Metrics.Handler())
	t.Cleanup(metricsSrv.Close)
	url := metricsSrv.URL + "/metrics"
	before := scrapeMetrics(t, url)

	c := env.Client(t)
	vendor := c.NewUser()
	rc := testenv.StartReceiver(t)
	a := c.RegisterApp(vendor, map[string]any{"webhook_url": rc.URL})
	u := c.NewUser()
	c.Post("/purchase-credits", purchase(20, "tok_visa", ""), u.Headers()).Expect(t, 200, "")
	in := c.Install(u, a.ID, nil)
	rc.WaitFor(t, 1, 10*time.Second)
	c.Post("/reserve", map[string]any{"amount": 10, "job_id": "metrics-1"}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#metrics-1", "amount": 8, "final": true}, in.Headers()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 5, "job_id": "metrics-2"}, in.Headers()).Expect(t, 200, "")
	c.Post("/reserve", map[string]any{"amount": 1000, "job_id": "metrics-3"}, in.Headers()).Expect(t, 402, "INSUFFICIENT_FUNDS")
	c.Get("/nothing/here", nil).Expect(t, 404, "NOT_FOUND")

	// A code throttled by the production throttle.
	// Its own client address: the per-client code budget is shared by
	// every test that serves from 127.0.0.1.
	srv, _ := serveFromOwnPeer(t, env.NewHandler(func(d *api.Deps) {
		d.Accounts = env.Accounts(true, accounts.DefaultThrottle)
	}))
	throttled := env.ClientFor(t, srv.URL)
	email := testenv.UniqueEmail("metrics")
	throttled.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
	throttled.Post("/auth/resend", map[string]any{"email": email}, nil).Expect(t, 429, "RATE_LIMITED")

	mid := scrapeMetrics(t, url)
	delta := func(name string, l labels) float64 { return mid.value(name, l) - before.value(name, l) }
	exact := []struct {
		name   string
		labels labels
		want   float64
	}{
		{"officex_http_requests_total", labels{"route": "/v1/reserve", "method": "POST", "status": "200"}, 2},
		{"officex_http_requests_total", labels{"route": "/v1/reserve", "method": "POST", "status": "402"}, 1},
		{"officex_http_requests_total", labels{"route": "/v1/settle", "method": "POST", "status": "200"}, 1},
		{"officex_http_requests_total", labels{"route": "unmatched", "method": "GET", "status": "404"}, 1},
		{"officex_http_request_duration_seconds", labels{"route": "/v1/reserve", "method": "POST"}, 3},
		{"officex_reservations_total", labels{"operation": "reserve", "outcome": "ok"}, 2},
		{"officex_reservations_total", labels{"operation": "reserve", "outcome": "INSUFFICIENT_FUNDS"}, 1},
		{"officex_reservations_total", labels{"operation": "settle", "outcome": "ok"}, 1},
		{"officex_otp_codes_total", labels{"purpose": "login", "outcome": "sent"}, 3},
		{"officex_otp_codes_total", labels{"purpose": "login", "outcome": "throttled"}, 1},
	}
	for _, x := range exact {
		if got := delta(x.name, x.labels); got != x.want {
			t.Errorf("%s%v moved by %v, want %v", x.name, x.labels, got, x.want)
		}
	}
	if mid.value("officex_reservations_open", nil) < 1 || mid.value("officex_reservations_reserved_microcredits", nil) < 5e6 {
		t.Errorf("open reservations %v, reserved %v: the open metrics-2 (5 credits) is missing",
			mid.value("officex_reservations_open", nil), mid.value("officex_reservations_reserved_microcredits", nil))
	}
	for _, name := range []string{"officex_db_pool_acquires_total", "officex_db_pool_max_connections", "officex_outbox_depth",
		"officex_outbox_oldest_age_seconds", "officex_treasury_liability_microcredits", "go_goroutines"} {
		if !mid.has(name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if delta("officex_purchases", labels{"status": "succeeded"}) < 1 || delta("officex_webhook_deliveries", labels{"status": "delivered"}) < 1 {
		t.Errorf("purchases succeeded +%v, webhooks delivered +%v, want at least 1 each",
			delta("officex_purchases", labels{"status": "succeeded"}), delta("officex_webhook_deliveries", labels{"status": "delivered"}))
	}
	if delta("officex_db_pool_acquires_total", nil) <= 0 {
		t.Error("the pool's acquire count did not move")
	}

	// The cancel, then the ledger movements once they are LedgerSettle old.
	c.Post("/reservations/RESV%23metrics-2/cancel", nil, in.Headers()).Expect(t, 200, "")
	var last scrape
	testenv.Eventually(t, 40*time.Second, "ledger movements on /metrics", func() bool {
		last = scrapeMetrics(t, url)
		d := func(name, kind string) float64 {
			return last.value(name, labels{"kind": kind}) - before.value(name, labels{"kind": kind})
		}
		return d("officex_ledger_movements_total", "purchase") >= 1 && d("officex_ledger_movement_microcredits_total", "purchase") >= 20e6 &&
			d("officex_ledger_movements_total", "settle") >= 1 && d("officex_ledger_movements_total", "reserve") >= 2 &&
			d("officex_ledger_movements_total", "refund") >= 2
	})
	if got := last.value("officex_reservations_total", labels{"operation": "cancel", "outcome": "ok"}) -
		before.value("officex_reservations_total", labels{"operation": "cancel", "outcome": "ok"}); got != 1 {
		t.Errorf("cancel ok moved by %v, want 1", got)
	}
	// The Temporal SDK's own series, on the same registry.
	testenv.Eventually(t, 10*time.Second, "temporal_ series on /metrics", func() bool {
		last = scrapeMetrics(t, url)
		return last.value("temporal_request_total", nil) > 0 && last.value("temporal_workflow_completed_total", nil) > 0
	})
}

// seriesInQuery finds the metric names a PromQL expression reads.
var seriesInQuery = regexp.MustCompile(`\b(?:officex|temporal)_[a-z0-9_]+`)

// TestDashboard_EveryPanelQueriesAnExportedSeries loads
// deploy/grafana/officex.json and checks that every panel has a query and
// every series a query names is one this process exports (officex_ series
// by their registered descriptions, temporal_ ones as scraped).
func TestDashboard_EveryPanelQueriesAnExportedSeries(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/officex.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	exported := map[string]bool{}
	for _, n := range env.Metrics.SeriesNames() {
		exported[n] = true
	}
	fams, err := env.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		exported[f.GetName()] = true
	}
	panels := flattenPanels(dash.Panels)
	if len(panels) < 7 {
		t.Fatalf("%d panels, want at least the 7 of the issue", len(panels))
	}
	for _, p := range panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			names := seriesInQuery.FindAllString(target.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no officex_ or temporal_ series", p.Title, target.Expr)
			}
			for _, n := range names {
				base := n
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && exported[b] {
						base = b
					}
				}
				if !exported[base] {
					t.Errorf("panel %q: %s is not a series the process exports", p.Title, n)
				}
			}
		}
	}
}

type dashboardPanel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"` // a collapsed row's panels
}

func flattenPanels(ps []dashboardPanel) []dashboardPanel {
	var out []dashboardPanel
	for _, p := range ps {
		if p.Type == "row" {
			out = append(out, flattenPanels(p.Panels)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// TestWorker_SearchAttributesCheckedAtStart: the shared dev server has every
// search attribute the workflows set (scripts/stack.sh registers them), and a
// missing one is named with the command that creates it.
func TestWorker_SearchAttributesCheckedAtStart(t *testing.T) {
	ctx := context.Background()
	if err := worker.CheckSearchAttributes(ctx, env.Temporal, env.Config.TemporalNamespace, workflows.RequiredSearchAttributes); err != nil {
		t.Fatal(err)
	}
	err := worker.CheckSearchAttributes(ctx, env.Temporal, env.Config.TemporalNamespace,
		map[string]string{"OfficexUserId": "Keyword", "OfficexNeverRegistered": "Int"})
	if err == nil || !strings.Contains(err.Error(), "search-attribute create --namespace default --name OfficexNeverRegistered --type Int") ||
		strings.Contains(err.Error(), "--name OfficexUserId") {
		t.Fatalf("err = %v", err)
	}
}

// TestPurchase_FoundByTheOperatorQuery: a purchase over HTTP is found in
// Temporal's visibility by the README's query (user and status), with its
// wallet, amount and the memo's business summary.
func TestPurchase_FoundByTheOperatorQuery(t *testing.T) {
	c := env.Client(t)
	u := c.NewUser()
	r := c.Post("/purchase-credits", purchase(25, "tok_visa", ""), u.Headers()).Expect(t, 200, "")
	query := fmt.Sprintf("WorkflowType = 'CreditPurchaseWorkflow' AND OfficexUserId = '%s' AND OfficexStatus = 'succeeded'", u.ID)
	var found []*workflowpb.WorkflowExecutionInfo
	testenv.Eventually(t, 20*time.Second, "the purchase in visibility as succeeded", func() bool {
		resp, err := env.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("list %q: %v", query, err)
		}
		found = resp.GetExecutions()
		return len(found) == 1
	})
	info := found[0]
	if info.GetExecution().GetWorkflowId() != workflows.CreditPurchaseWorkflowID(r.String("purchase_id")) {
		t.Fatalf("found %s", info.GetExecution().GetWorkflowId())
	}
	fields := info.GetSearchAttributes().GetIndexedFields()
	var wallet string
	var amount int64
	dc := converter.GetDefaultDataConverter()
	if err := dc.FromPayload(fields["OfficexWalletId"], &wallet); err != nil || wallet != u.WalletID {
		t.Errorf("OfficexWalletId = %q (%v), want %s", wallet, err, u.WalletID)
	}
	if err := dc.FromPayload(fields["OfficexAmountMicro"], &amount); err != nil || amount != 25_000_000 {
		t.Errorf("OfficexAmountMicro = %d (%v), want 25000000", amount, err)
	}
	// Memos are payloads: encrypted by the stack's codec like every other.
	memo := dc
	if env.Codec != nil {
		memo = env.Codec.DataConverter()
	}
	var credits, dest string
	_ = memo.FromPayload(info.GetMemo().GetFields()["amount_credits"], &credits)
	_ = memo.FromPayload(info.GetMemo().GetFields()["destination_type"], &dest)
	if credits != "25" || dest != "stripe" {
		t.Errorf("memo amount_credits %q destination_type %q, want 25 and stripe", credits, dest)
	}
}
