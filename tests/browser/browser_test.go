// Package browser drives the finance console in a real browser: Debian's
// chromium through playwright-core (pinned in package.json, installed by
// `npm ci` here; .ci/run does both) against the real stack that testenv
// starts. The browser test is console.mjs; this file sets up the payouts,
// runs it and checks the outcome in the database.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officex/officex/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// skipAllowed is the one way to let the test skip when chromium or node is
// missing; without it a missing browser fails the test (CI installs it).
const skipAllowed = "OFFICEX_BROWSER_TEST_OPTIONAL"

// browserTimeout bounds the whole browser run.
const browserTimeout = 4 * time.Minute

// tools finds chromium, node and the installed playwright-core.
func tools(t *testing.T) (chromium, node string) {
	t.Helper()
	var missing []string
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		missing = append(missing, "chromium (apt-get install chromium)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install nodejs npm)")
	}
	if _, err := os.Stat("node_modules/playwright-core/package.json"); err != nil {
		missing = append(missing, "playwright-core (npm ci in tests/browser)")
	}
	if len(missing) > 0 {
		msg := "the console's browser test needs " + strings.Join(missing, ", ")
		if os.Getenv(skipAllowed) != "" {
			t.Skip(msg + " (skipped: " + skipAllowed + " is set)")
		}
		t.Fatal(msg + "; set " + skipAllowed + "=1 to skip it where no browser can be installed")
	}
	return chromium, node
}

// outDir is where the screenshots go: $TEST_OUTPUT, or the test's temp dir.
func outDir(t *testing.T) string {
	if dir := os.Getenv("TEST_OUTPUT"); dir != "" {
		dir = filepath.Join(dir, "console")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

func acctOf(u testenv.User) string { return "acct_" + strings.ReplaceAll(u.ID, "-", "")[:16] }

func payout(t *testing.T, c *testenv.Client, vendor testenv.User, wallet string, credits int) string {
	t.Helper()
	return c.Post("/payout", map[string]any{"wallet_id": wallet, "amount": credits,
		"destination": map[string]any{"type": "stripe", "account_id": acctOf(vendor)}}, vendor.Headers()).Expect(t, 200, "").String("payout_id")
}

// selfBilledPayout is a payout of a vendor that billed its own app with
// credits it was given: the console flags it.
func selfBilledPayout(t *testing.T, c *testenv.Client) string {
	t.Helper()
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{"name": "Self Billing Notes"})
	c.Fund(vendor.WalletID, "300")
	in := c.Install(vendor, a.ID, nil)
	c.Post("/reserve", map[string]any{"amount": 250, "job_id": "self"}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#self", "amount": 250, "final": true}, in.Headers()).Expect(t, 200, "")
	return payout(t, c, vendor, a.WalletID, 200)
}

func TestConsole_FinanceFlowInChromium(t *testing.T) {
	chromium, node := tools(t)
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{"name": "Acme Translate"})
	customer := c.NewUser()
	c.Fund(customer.WalletID, "900")
	in := c.Install(customer, a.ID, nil)
	c.Post("/reserve", map[string]any{"amount": 700, "job_id": "translate-1"}, in.Headers()).Expect(t, 200, "")
	c.Post("/settle", map[string]any{"reservation_id": "RESV#translate-1", "amount": 650, "final": true}, in.Headers()).Expect(t, 200, "")
	approve := payout(t, c, vendor, a.WalletID, 500)
	reject := selfBilledPayout(t, c)
	period := fmt.Sprintf("%d-%02d", 2200+rand.IntN(700), 1+rand.IntN(12))

	out := outDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "console.mjs")
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "CONSOLE_URL="+env.Server.URL, "ADMIN_SECRET="+testenv.AdminSecret,
		"APPROVE_ID="+approve, "REJECT_ID="+reject, "PERIOD="+period, "OUT_DIR="+out)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	err := cmd.Run()
	t.Logf("console.mjs:\n%s", output.String())
	if err != nil {
		t.Fatalf("the browser run failed: %v", err)
	}

	// What the browser did is in the books, not only on the screen.
	for id, want := range map[string]string{approve: "completed", reject: "rejected"} {
		p := c.Get("/admin/payouts/"+id, testenv.AdminHeaders()).Expect(t, 200, "").Object("payout")
		if p["status"] != want {
			t.Errorf("payout %s is %v, want %s", id, p["status"], want)
		}
	}
	b := c.Get("/admin/payouts/batches/"+period, testenv.AdminHeaders()).Expect(t, 200, "").Object("batch")
	if b["completed"] != 1.0 || fmt.Sprint(b["total_credits"]) != "500" {
		t.Errorf("batch %s: %v", period, b)
	}
	checkScreenshots(t, out)
}

// checkScreenshots: one PNG per page; OFFICEX_UPDATE_CONSOLE_DOCS=1 copies
// them to docs/ for the README.
func checkScreenshots(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"console-login", "console-treasury", "console-payouts", "console-batch", "console-reconcile", "console-audit"} {
		raw, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil || len(raw) < 4096 || !bytes.HasPrefix(raw, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("screenshot %s: %d bytes, %v", name, len(raw), err)
			continue
		}
		if os.Getenv("OFFICEX_UPDATE_CONSOLE_DOCS") != "" {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", name+".png"), raw, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
}
