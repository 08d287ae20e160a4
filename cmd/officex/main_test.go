package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/fake/openaiserver"
	"github.com/officex/officex/internal/testenv"
)

// env is the test stack whose API the client commands call (cli_test.go).
var env *testenv.Env

// officexBin is the binary under test, built once by TestMain.
var officexBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "officex-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	officexBin = filepath.Join(dir, "officex")
	if out, err := exec.Command("go", "build", "-o", officexBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build officex: %v\n%s", err, out)
		os.Exit(1)
	}
	e, teardown, err := testenv.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	env = e
	code := m.Run()
	teardown()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinary is the binary TestMain built.
func buildBinary(t *testing.T) string {
	t.Helper()
	return officexBin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func testEnviron(t *testing.T) ([]string, string) {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	dsn := "postgres://postgres@127.0.0.1:5432/officex_cmd_" + hex.EncodeToString(suffix) + "?sslmode=disable"
	t.Cleanup(func() { _ = db.DropDatabase(context.Background(), dsn) })
	temporal := os.Getenv("TEMPORAL_ADDRESS")
	if temporal == "" {
		temporal = "127.0.0.1:7233"
	}
	return append(os.Environ(),
		"DATABASE_URL="+dsn,
		"TEMPORAL_ADDRESS="+temporal,
		"OFFICEX_TASK_QUEUE=officex-cmd-"+hex.EncodeToString(suffix),
		"OFFICEX_ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"OFFICEX_TESTING_MODE=true",
		"OFFICEX_CHAT_ADDR="+freePort(t),
	), dsn
}

func post(t *testing.T, url string, body any, headers map[string]string) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %v", url, resp.StatusCode, out)
	}
	return out
}

// streamOneTurn asks the chat listener one question and checks the answer
// streams through to [DONE].
func streamOneTurn(t *testing.T, url string, creds map[string]any, want string) {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi"}}})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("x-officex-user-id", creds["user_id"].(string))
	req.Header.Set("x-officex-master-key", creds["api_key"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("chat stream: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var text strings.Builder
	for _, line := range strings.Split(string(body), "\n") {
		var e struct{ Type, Delta string }
		if d, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(d), &e) == nil && e.Type == "text-delta" {
			text.WriteString(e.Delta)
		}
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "t:") || text.String() != want ||
		!strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("chat stream %d:\n%s", resp.StatusCode, body)
	}
}

// TestDev_QuickStartThenGracefulStop runs the real binary as make dev does:
// it creates and migrates a fresh database, serves and works, answers the
// reference's quick start, and exits 0 on SIGTERM.
func TestDev_QuickStartThenGracefulStop(t *testing.T) {
	bin := buildBinary(t)
	environ, _ := testEnviron(t)
	addr, chatAddr := freePort(t), freePort(t)
	model := openaiserver.New(openaiserver.Say("Hello from the model.", 4))
	defer model.Close()
	cmd := exec.Command(bin, "dev")
	cmd.Env = append(environ, "OFFICEX_HTTP_ADDR="+addr, "OFFICEX_CHAT_ADDR="+chatAddr,
		"OPENAI_API_KEY=sk-dev-test", "OPENAI_BASE_URL="+model.URL)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck
	base := "http://" + addr
	waitReady(t, "officex dev", base, &logs, nil)
	email := fmt.Sprintf("dev-%d@example.com", time.Now().UnixNano())
	post(t, base+"/v1/auth/register", map[string]any{"email": email}, nil)
	creds := post(t, base+"/v1/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil)
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/users/me", nil)
	req.Header.Set("x-officex-user-id", creds["user_id"].(string))
	req.Header.Set("x-officex-master-key", creds["api_key"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /users/me: %v %v", err, resp)
	}
	resp.Body.Close()
	streamOneTurn(t, "http://"+chatAddr+"/", creds, "Hello from the model.")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("officex dev exited with %v:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("officex dev did not stop on SIGTERM:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), creds["api_key"].(string)) {
		t.Fatal("the master key appeared in the logs")
	}
}

func TestMigrate_CreatesAndMigratesTwice(t *testing.T) {
	bin := buildBinary(t)
	environ, _ := testEnviron(t)
	for i := 0; i < 2; i++ {
		cmd := exec.Command(bin, "migrate")
		cmd.Env = environ
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("migrate run %d: %v\n%s", i+1, err, out)
		}
	}
}

func TestBadConfiguration_ExitsNamingTheVariable(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"OFFICEX_ENCRYPTION_KEY=bad", "OFFICEX_TESTING_MODE=true", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "OFFICEX_ENCRYPTION_KEY") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}

func TestReconcile_PrintsTheReportAndPassesOnACleanLedger(t *testing.T) {
	bin := buildBinary(t)
	environ, _ := testEnviron(t)
	migrateFresh(t, bin, environ)
	cmd := exec.Command(bin, "reconcile")
	cmd.Env = environ
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reconcile: %v\n%s", err, out)
	}
	var rep struct {
		OK         bool
		Violations []any
	}
	if err := json.Unmarshal(out, &rep); err != nil || !rep.OK || len(rep.Violations) != 0 {
		t.Fatalf("report %s (%v)", out, err)
	}
}

func TestReconcile_ExitsNonZeroOnAViolation(t *testing.T) {
	bin := buildBinary(t)
	environ, dsn := testEnviron(t)
	migrateFresh(t, bin, environ)
	pool, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Tamper behind the ledger's back: a treasury balance with no journal.
	if _, err := pool.Exec(context.Background(), "UPDATE wallets SET available = available - 5 WHERE kind = 'treasury'"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "reconcile")
	cmd.Env = environ
	out, err := cmd.Output()
	if err == nil || !strings.Contains(string(out), "zero_sum") || !strings.Contains(string(out), "wallet_matches_journal") {
		t.Fatalf("err %v, report:\n%s", err, out)
	}
}

// TestPayoutsRun_FinanceRunsABatchFromTheCLI starts a worker process and runs
// a period's batch with "officex payouts run", as finance does.
func TestPayoutsRun_FinanceRunsABatchFromTheCLI(t *testing.T) {
	bin := buildBinary(t)
	environ, _ := testEnviron(t)
	migrateFresh(t, bin, environ)
	w := exec.Command(bin, "worker")
	w.Env = environ
	var logs bytes.Buffer
	w.Stdout, w.Stderr = &logs, &logs
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() }()
	// A period no other package's test uses: packages run in parallel on
	// one Temporal, and a batch id (payout-batch-<period>) is joined.
	period := fmt.Sprintf("4%03d-%02d", time.Now().UnixNano()%1000, time.Now().UnixNano()%12+1)
	run := exec.Command(bin, "payouts", "run", "--period", period)
	run.Env = environ
	out, err := run.Output()
	if err != nil {
		t.Fatalf("payouts run: %v\n%s\nworker:\n%s", err, out, logs.String())
	}
	var res struct {
		Period  string
		Payouts int
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Period != period || res.Payouts != 0 {
		t.Fatalf("summary %s (%v)", out, err)
	}
	bad := exec.Command(bin, "payouts", "run", "--period", "2034-13")
	bad.Env = environ
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "YYYY-MM") {
		t.Fatalf("a bad period was accepted: %s", out)
	}
}

// migrateFresh runs "officex migrate" on the test's database.
func migrateFresh(t *testing.T, bin string, environ []string) {
	t.Helper()
	cmd := exec.Command(bin, "migrate")
	cmd.Env = environ
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
}

// The codec server has nothing to decode with and no production process may
// write plain payloads: both refuse to start without the codec key.
func TestCodecKey_CodecServerAndProductionProcessesRefuseWithoutIt(t *testing.T) {
	bin := buildBinary(t)
	key := "OFFICEX_ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, run := range []struct {
		args []string
		env  []string
	}{
		{[]string{"codec-server"}, nil},
		{[]string{"payouts", "run", "--period", "2026-01"}, []string{key, "OFFICEX_TESTING_MODE=false", "SMTP_URL=smtp://127.0.0.1:1"}},
	} {
		cmd := exec.Command(bin, run.args...)
		cmd.Env = append(run.env, "PATH="+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "OFFICEX_TEMPORAL_CODEC_KEY") {
			t.Errorf("%v: err %v, output:\n%s", run.args, err, out)
		}
	}
}

// TestServe_StartsAndServesWhileTemporalIsDown: an API process started while
// Temporal is unreachable comes up, is ready (its readiness needs PostgreSQL
// only) and serves, instead of exiting until Temporal is back (make chaos
// TOPOLOGY=1 saw restarted API processes crash-loop through an outage).
func TestServe_StartsAndServesWhileTemporalIsDown(t *testing.T) {
	bin := buildBinary(t)
	environ, _ := testEnviron(t)
	migrate := exec.Command(bin, "migrate")
	migrate.Env = environ
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("officex migrate: %v\n%s", err, out)
	}
	addr := freePort(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(environ, "OFFICEX_HTTP_ADDR="+addr, "TEMPORAL_ADDRESS=127.0.0.1:1") // nothing listens there
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	base := "http://" + addr
	if checks := waitReady(t, "officex serve", base, &logs, exited); checks["temporal"] != "unreachable" {
		t.Fatalf("readyz checks %v, want temporal unreachable", checks)
	}
	email := fmt.Sprintf("serve-%d@example.com", time.Now().UnixNano())
	post(t, base+"/v1/auth/register", map[string]any{"email": email}, nil)
	if creds := post(t, base+"/v1/auth/verify-otp", map[string]any{"email": email, "code": "0000"}, nil); creds["api_key"] == nil {
		t.Fatalf("verify-otp with Temporal down: %v", creds)
	}
}

// waitReady polls base/readyz until it answers 200 and returns its checks;
// it fails the test after 60 s, or as soon as the process exits (exited may
// be nil when the caller does not watch for that).
func waitReady(t *testing.T, what, base string, logs *bytes.Buffer, exited <-chan error) map[string]string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s exited (%v) before it was ready:\n%s", what, err, logs.String())
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			var body struct{ Checks map[string]string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return body.Checks
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready:\n%s", what, logs.String())
		}
		time.Sleep(200 * time.Millisecond) // a bounded poll: readiness has no event to wait on
	}
}
