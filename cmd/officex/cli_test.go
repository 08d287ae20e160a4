package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officex/officex/internal/testenv"
)

// acctOf is a Stripe connected account of the vendor's own: an account
// belongs to one vendor only.
func acctOf(vendor testenv.User) string {
	return "acct_" + strings.ReplaceAll(vendor.ID, "-", "")[:16]
}

// The client commands run as a subprocess, built once in TestMain, against
// the API of the test stack (testenv: real PostgreSQL, Temporal, a worker).

// cliResult is one run of the binary.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cliTimeout bounds one client command (payouts run waits on a batch).
const cliTimeout = 2 * time.Minute

// runCLI runs officex with exactly environ (no inherited variables) and stdin.
func runCLI(t *testing.T, environ []string, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, officexBin, args...)
	cmd.Env = environ
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := cliResult{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("officex %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// ok runs officex and fails the test unless it exits 0.
func ok(t *testing.T, environ []string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, environ, "", args...)
	if r.code != 0 {
		t.Fatalf("officex %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// bareEnviron is a fresh home and nothing else: no configuration at all.
func bareEnviron(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
}

// apiURL is the test API behind a proxy that checks every exchange of the
// CLI against api/openapi.yaml (testenv.ContractProxy).
func apiURL(t *testing.T) string { return env.ContractProxy(t) }

// adminEnviron is finance's environment: the API and its admin secret.
func adminEnviron(t *testing.T) []string {
	return append(bareEnviron(t), "OFFICEX_API_URL="+apiURL(t), "OFFICEX_ADMIN_SECRET="+testenv.AdminSecret)
}

// decodeJSON decodes --json output keeping numbers exact.
func decodeJSON(t *testing.T, raw string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, raw)
	}
	return out
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		v = v.(map[string]any)[k]
	}
	return v
}

// login signs a new account in through "officex login", typing the testing
// code on stdin, and returns its environment (a home holding the saved
// credentials and nothing else) and the user as the test client knows it.
func login(t *testing.T) ([]string, testenv.User) {
	t.Helper()
	environ := bareEnviron(t)
	email := testenv.UniqueEmail("cli")
	url := apiURL(t)
	r := runCLI(t, environ, "0000\n", "login", "--api-url", url, "--email", email)
	if r.code != 0 || !strings.Contains(r.stdout, "Signed in as "+email) {
		t.Fatalf("login: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	path := filepath.Join(strings.TrimPrefix(environ[1], "HOME="), ".config", "officex", "credentials")
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file %s: %v %v, want mode 0600", path, info, err)
	}
	raw, _ := os.ReadFile(path)
	m := decodeJSON(t, string(raw))
	key, _ := m["api_key"].(string)
	if m["api_url"] != url || !strings.HasPrefix(key, "ofx_mk_") {
		t.Fatalf("credentials file %s", raw)
	}
	if strings.Contains(r.stdout+r.stderr, key) {
		t.Fatal("login printed the master key")
	}
	u := testenv.User{ID: m["user_id"].(string), Email: email, Key: key, WalletID: m["wallet_id"].(string)}
	return environ, u
}

var allCommands = []string{"serve", "worker", "dev", "migrate", "login", "me", "balance", "wallets", "apps", "installs",
	"vouchers", "payouts", "treasury", "reconcile", "version"}

func TestCLI_HelpWorksWithNoConfigurationAtAll(t *testing.T) {
	environ := bareEnviron(t)
	for _, args := range [][]string{{"--help"}, {"help"}, {}} {
		r := runCLI(t, environ, "", args...)
		if r.code != 0 {
			t.Fatalf("officex %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		for _, c := range allCommands {
			if !strings.Contains(r.stdout, "\n  "+c+" ") {
				t.Fatalf("officex %v does not list %s:\n%s", args, c, r.stdout)
			}
		}
	}
	for cmd, want := range map[string][]string{
		"payouts":  {"run", "approve", "reject", "list"},
		"serve":    {"OFFICEX_ENCRYPTION_KEY", "DATABASE_URL"},
		"balance":  {"OFFICEX_API_URL", "OFFICEX_USER_ID", "OFFICEX_API_KEY", "--json"},
		"treasury": {"OFFICEX_ADMIN_SECRET"},
	} {
		r := ok(t, environ, "help", cmd)
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Fatalf("officex help %s does not mention %s:\n%s", cmd, w, r.stdout)
			}
		}
	}
	r := ok(t, environ, "payouts", "run", "--help")
	if !strings.Contains(r.stdout, "--period") || !strings.Contains(r.stdout, "over the API") {
		t.Fatalf("payouts run --help:\n%s", r.stdout)
	}
	if v := ok(t, environ, "version"); !strings.HasPrefix(v.stdout, "officex ") || !strings.Contains(v.stdout, "go1.") {
		t.Fatalf("version: %q", v.stdout)
	}
	if v := decodeJSON(t, ok(t, environ, "version", "--json").stdout); v["version"] == "" || v["go"] == "" {
		t.Fatalf("version --json: %v", v)
	}
}

func TestCLI_MissingVariablesArePlainTextNamingThem(t *testing.T) {
	environ := bareEnviron(t)
	for _, c := range []struct {
		args    []string
		environ []string
		want    []string
	}{
		{[]string{"balance"}, environ, []string{"OFFICEX_API_URL", "OFFICEX_USER_ID", "OFFICEX_API_KEY", "officex login"}},
		{[]string{"me"}, append(environ, "OFFICEX_API_URL="+env.Server.URL), []string{"OFFICEX_USER_ID", "OFFICEX_API_KEY"}},
		{[]string{"treasury"}, append(environ, "OFFICEX_API_URL="+env.Server.URL), []string{"OFFICEX_ADMIN_SECRET"}},
		{[]string{"login", "--email", "a@example.com"}, environ, []string{"OFFICEX_API_URL"}},
		{[]string{"serve"}, environ, []string{"OFFICEX_ENCRYPTION_KEY"}},
		{[]string{"reconcile"}, environ, []string{"OFFICEX_ENCRYPTION_KEY", "OFFICEX_API_URL"}},
	} {
		r := runCLI(t, c.environ, "", c.args...)
		if r.code == 0 || strings.HasPrefix(strings.TrimSpace(r.stderr), "{") || r.stdout != "" {
			t.Fatalf("officex %v: exit %d, want a plain-text error\nstdout:\n%s\nstderr:\n%s", c.args, r.code, r.stdout, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Fatalf("officex %v does not name %s:\n%s", c.args, w, r.stderr)
			}
		}
	}
	if r := runCLI(t, environ, "", "no-such-command"); r.code == 0 || !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("unknown command: exit %d %s", r.code, r.stderr)
	}
}

func TestCLI_LoginThenMeBalanceTransactionsAndVouchers(t *testing.T) {
	c := env.Client(t)
	environ, u := login(t)

	me := ok(t, environ, "me")
	if !strings.Contains(me.stdout, u.Email) || !strings.Contains(me.stdout, u.ID) {
		t.Fatalf("me:\n%s", me.stdout)
	}
	if got := decodeJSON(t, ok(t, environ, "me", "--json").stdout); field(got, "user", "email") != u.Email {
		t.Fatalf("me --json: %v", got)
	}

	// An amount a float64 would print as 1.234567000001e+06 is shown exactly.
	c.Fund(u.WalletID, "1234567.000001")
	bal := ok(t, environ, "balance")
	if !strings.Contains(bal.stdout, "1234567.000001") {
		t.Fatalf("balance:\n%s", bal.stdout)
	}
	got := decodeJSON(t, ok(t, environ, "balance", "--json").stdout)
	if got["available"] != json.Number("1234567.000001") || got["wallet_id"] != u.WalletID {
		t.Fatalf("balance --json: %v", got)
	}
	if micro := walletAvailable(t, u.WalletID); micro != 1234567_000001 {
		t.Fatalf("database: available %d micro-credits", micro)
	}

	tx := ok(t, environ, "wallets", "transactions")
	if !strings.Contains(tx.stdout, "adjust") || !strings.Contains(tx.stdout, "1234567.000001") {
		t.Fatalf("wallets transactions:\n%s", tx.stdout)
	}

	// Finance creates a voucher, the user redeems it: both from the CLI.
	code := fmt.Sprintf("CLI-%d", time.Now().UnixNano()%1e9)
	v := decodeJSON(t, ok(t, adminEnviron(t), "vouchers", "create", "--amount", "2.5", "--code", code, "--json").stdout)
	if field(v, "voucher", "code") != code || field(v, "voucher", "amount") != json.Number("2.5") {
		t.Fatalf("vouchers create: %v", v)
	}
	red := ok(t, environ, "vouchers", "redeem", code)
	if !strings.Contains(red.stdout, "1234569.500001") {
		t.Fatalf("vouchers redeem:\n%s", red.stdout)
	}
	if micro := walletAvailable(t, u.WalletID); micro != 1234569_500001 {
		t.Fatalf("database after the voucher: available %d micro-credits", micro)
	}
	// The API's refusal is shown as its code and message, and changes nothing.
	if r := runCLI(t, environ, "", "vouchers", "redeem", code); r.code != 1 || !strings.Contains(r.stderr, "INVALID_REQUEST (400)") {
		t.Fatalf("a second redemption: exit %d %s", r.code, r.stderr)
	}
	if micro := walletAvailable(t, u.WalletID); micro != 1234569_500001 {
		t.Fatalf("database after a refused redemption: available %d micro-credits", micro)
	}
	if r := runCLI(t, adminEnviron(t), "", "vouchers", "create", "--amount", "0.0000001"); r.code != 2 || !strings.Contains(r.stderr, "--amount") {
		t.Fatalf("7 decimals: exit %d %s", r.code, r.stderr)
	}
}

func walletAvailable(t *testing.T, wallet string) int64 {
	t.Helper()
	var micro int64
	if err := env.Pool.QueryRow(context.Background(), "SELECT available FROM wallet_balances WHERE id = $1", wallet).Scan(&micro); err != nil {
		t.Fatal(err)
	}
	return micro
}

func TestCLI_AppsCreateListShowAndInstalls(t *testing.T) {
	c := env.Client(t)
	environ, vendor := login(t)
	name := fmt.Sprintf("CLI App %d", time.Now().UnixNano()%1e6)
	created := decodeJSON(t, ok(t, environ, "apps", "create", "--name", name, "--price-type", "PAY_PER_USE",
		"--description", "made from the command line", "--json").stdout)
	appID, _ := created["app_id"].(string)
	if appID == "" || created["webhook_secret"] == "" {
		t.Fatalf("apps create: %v", created)
	}
	var owner string
	if err := env.Pool.QueryRow(context.Background(), "SELECT owner_user_id::text FROM apps WHERE id = $1", appID).Scan(&owner); err != nil || owner != vendor.ID {
		t.Fatalf("database: app owner %q (%v), want %s", owner, err, vendor.ID)
	}
	list := ok(t, environ, "apps", "list")
	if !strings.Contains(list.stdout, appID) || !strings.Contains(list.stdout, name) {
		t.Fatalf("apps list:\n%s", list.stdout)
	}
	shown := decodeJSON(t, ok(t, environ, "apps", "show", appID, "--json").stdout)
	if field(shown, "app", "name") != name || field(shown, "app", "description") != "made from the command line" {
		t.Fatalf("apps show --json: %v", shown)
	}
	if r := ok(t, environ, "apps", "show", appID); !strings.Contains(r.stdout, "made from the command line") {
		t.Fatalf("apps show:\n%s", r.stdout)
	}
	if r := runCLI(t, environ, "", "apps", "create"); r.code != 2 || !strings.Contains(r.stderr, "--name") {
		t.Fatalf("apps create without a name: exit %d %s", r.code, r.stderr)
	}

	c.Install(vendor, appID, map[string]any{})
	inst := ok(t, environ, "installs", "list")
	if !strings.Contains(inst.stdout, created["slug"].(string)) || !strings.Contains(inst.stdout, "active") {
		t.Fatalf("installs list:\n%s", inst.stdout)
	}
}

func TestCLI_FinanceListsApprovesRejectsAndRunsPayouts(t *testing.T) {
	c := env.Client(t)
	admin := adminEnviron(t)
	vendor := c.NewUser()
	app := c.RegisterApp(vendor, map[string]any{})
	c.Fund(app.WalletID, "300.25")
	request := func(amount string) string {
		return c.Post("/payout", map[string]any{"wallet_id": app.WalletID, "amount": amount,
			"destination": map[string]any{"type": "stripe", "account_id": acctOf(vendor)}}, vendor.Headers()).
			Expect(t, 200, "").String("payout_id")
	}
	toPay, toReject := request("200"), request("100")

	list := ok(t, admin, "payouts", "list", "--status", "pending")
	if !strings.Contains(list.stdout, toPay) || !strings.Contains(list.stdout, toReject) {
		t.Fatalf("payouts list:\n%s", list.stdout)
	}
	page := decodeJSON(t, ok(t, admin, "payouts", "list", "--status", "pending", "--json").stdout)
	if _, isList := page["payouts"].([]any); !isList {
		t.Fatalf("payouts list --json: %v", page)
	}

	if r := ok(t, admin, "payouts", "approve", toPay); !strings.Contains(r.stdout, "yes") {
		t.Fatalf("approve:\n%s", r.stdout)
	}
	var approved bool
	if err := env.Pool.QueryRow(context.Background(), "SELECT approved_at IS NOT NULL FROM payouts WHERE id = $1", toPay).Scan(&approved); err != nil || !approved {
		t.Fatalf("database: approved %v (%v)", approved, err)
	}
	if r := runCLI(t, admin, "", "payouts", "reject", toReject); r.code != 2 || !strings.Contains(r.stderr, "--reason") {
		t.Fatalf("reject without a reason: exit %d %s", r.code, r.stderr)
	}
	if r := ok(t, admin, "payouts", "reject", toReject, "--reason", "KYC incomplete", "--json"); field(decodeJSON(t, r.stdout), "payout", "status") != "rejected" {
		t.Fatalf("reject:\n%s", r.stdout)
	}
	if micro := walletAvailable(t, app.WalletID); micro != 100_250000 {
		t.Fatalf("database: app wallet available %d micro-credits after the reject, want 100.25", micro)
	}

	// A period no other run uses: the batch's workflow id is per period on the shared Temporal.
	period := fmt.Sprintf("2%03d-%02d", time.Now().UnixNano()%1000, time.Now().UnixNano()%12+1)
	run := runCLI(t, admin, "", "payouts", "run", "--period", period, "--json")
	if run.code != 0 || !strings.Contains(run.stderr, "payout batch "+period+": starting") {
		t.Fatalf("payouts run: exit %d\n%s\n%s", run.code, run.stdout, run.stderr)
	}
	batch := decodeJSON(t, run.stdout)["batch"].(map[string]any)
	if batch["status"] != "completed" || batch["completed"] != json.Number("1") || batch["total_credits"] != json.Number("200") {
		t.Fatalf("payouts run --json: %v", batch)
	}
	var status string
	if err := env.Pool.QueryRow(context.Background(), "SELECT status FROM payouts WHERE id = $1", toPay).Scan(&status); err != nil || status != "completed" {
		t.Fatalf("database: payout %s (%v)", status, err)
	}

	tr := decodeJSON(t, ok(t, admin, "treasury", "--json").stdout)
	var liability int64
	if err := env.Pool.QueryRow(context.Background(), "SELECT -available - reserved FROM wallets WHERE kind = 'treasury'").Scan(&liability); err != nil {
		t.Fatal(err)
	}
	if want := microText(liability); field(tr, "treasury", "liability") != json.Number(want) {
		t.Fatalf("treasury liability %v, database %s", field(tr, "treasury", "liability"), want)
	}
	if r := ok(t, admin, "treasury"); !strings.Contains(r.stdout, "Liability (USD)") {
		t.Fatalf("treasury:\n%s", r.stdout)
	}
	rec := ok(t, admin, "reconcile")
	if !strings.Contains(rec.stdout, "OK: every invariant holds") {
		t.Fatalf("reconcile over the API:\n%s", rec.stdout)
	}
	if rep := decodeJSON(t, ok(t, admin, "reconcile", "--json").stdout); field(rep, "report", "ok") != true {
		t.Fatalf("reconcile --json: %v", rep)
	}
}

// microText writes micro-credits as the API does: a plain decimal, no trailing zeros.
func microText(micro int64) string {
	sign := ""
	if micro < 0 {
		sign, micro = "-", -micro
	}
	s := fmt.Sprintf("%s%d.%06d", sign, micro/1_000_000, micro%1_000_000)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

func TestPrompt_TakesALineUpToMaxPromptBytes(t *testing.T) {
	at := strings.Repeat("a", maxPromptBytes)
	got, err := prompt(bufio.NewReader(strings.NewReader(at+"\n")), io.Discard, "Email: ")
	if err != nil || got != at {
		t.Fatalf("a line of exactly the limit: %v", err)
	}
	if _, err := prompt(bufio.NewReader(strings.NewReader(at+"a\n")), io.Discard, "Email: "); err == nil {
		t.Fatal("a line over the limit was taken")
	}
	if _, err := prompt(bufio.NewReader(strings.NewReader("")), io.Discard, "Code: "); err == nil {
		t.Fatal("an empty answer was taken")
	}
}

// syncBuffer is a process's output read while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A bank payout keeps its batch running past the API's 30 s wait: the POST
// answers 202 and payouts run follows the batch, printing its progress,
// until the bank pays and the batch ends.
func TestCLI_PayoutsRunFollowsABatchPastTheAPIsWait(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	app := c.RegisterApp(vendor, map[string]any{})
	c.Fund(app.WalletID, "200")
	id := c.Post("/payout", map[string]any{"wallet_id": app.WalletID, "amount": 200, "destination": map[string]any{
		"type": "bank", "account_id": "ba_1Nv0FGQ9RKHgCVdKgood", "connected_account_id": acctOf(vendor)}},
		vendor.Headers()).Expect(t, 200, "").String("payout_id")
	c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")

	period := fmt.Sprintf("3%03d-%02d", time.Now().UnixNano()%1000, time.Now().UnixNano()%12+1)
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, officexBin, "payouts", "run", "--period", period, "--json")
	cmd.Env = adminEnviron(t)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 90*time.Second, "payouts run reports the API's 202 and follows the batch", func() bool {
		return strings.Contains(stderr.String(), "still running after the API's wait")
	})
	if !strings.Contains(stderr.String(), "1 payouts: 0 completed, 0 failed, 0 needs review, 1 in flight") {
		t.Fatalf("no progress line:\n%s", stderr.String())
	}
	// The bank pays: the batch ends, and so does the command.
	var poID string
	for _, h := range c.Get("/admin/payouts/"+id, testenv.AdminHeaders()).Expect(t, 200, "").Object("payout")["history"].([]any) {
		if p, found := strings.CutPrefix(h.(map[string]any)["detail"].(string), "Stripe payout "); found {
			poID = p
		}
	}
	if _, err := env.Stripe.SettlePayout(poID); err != nil {
		t.Fatalf("settle %q: %v", poID, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("payouts run: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	batch := decodeJSON(t, stdout.String())["batch"].(map[string]any)
	if batch["status"] != "completed" || batch["completed"] != json.Number("1") || batch["total_credits"] != json.Number("200") {
		t.Fatalf("batch %v\n%s", batch, stderr.String())
	}
	var status string
	if err := env.Pool.QueryRow(context.Background(), "SELECT status FROM payouts WHERE id = $1", id).Scan(&status); err != nil || status != "completed" {
		t.Fatalf("database: payout %s (%v)", status, err)
	}
}
