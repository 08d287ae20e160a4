package officex_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	officex "github.com/officex/officex/sdk"
	"github.com/officex/officex/sdk/openapi"
)

// lossy stands between the SDK and the API like a flaky gateway: requests
// whose path ends with a suffix in lose reach the API, but their answer is
// replaced by a 502 (lose[suffix] times), as when a connection drops after
// the server committed.
type lossy struct {
	target string
	mu     sync.Mutex
	lose   map[string]int
	sent   map[string]int
}

func (l *lossy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, l.target+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	l.mu.Lock()
	lost := false
	for suffix, n := range l.lose {
		if strings.HasSuffix(r.URL.Path, suffix) {
			l.sent[suffix]++
			if n > 0 {
				l.lose[suffix], lost = n-1, true
			}
		}
	}
	l.mu.Unlock()
	if lost {
		http.Error(w, "upstream connection reset", http.StatusBadGateway)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

func (l *lossy) loseNext(suffix string) {
	l.mu.Lock()
	l.lose[suffix]++
	l.mu.Unlock()
}

func (l *lossy) attempts(suffix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent[suffix]
}

// When an answer is lost after the server acted, the SDK's retry finds the
// first attempt's effect instead of acting twice: a purchase is credited
// once (same idempotency key), a reserve, final settle and cancel resolve to
// what the first attempt did, and a sip is not sent again.
func TestRetry_LostAnswersNeverMoveMoneyTwice(t *testing.T) {
	ctx := context.Background()
	l := &lossy{target: env.ContractProxy(t), lose: map[string]int{}, sent: map[string]int{}}
	gw := httptest.NewServer(l)
	t.Cleanup(gw.Close)
	base := gw.URL + "/v1"
	retry := officex.WithRetries(3, 10*time.Millisecond, 50*time.Millisecond)

	rc := startReceiver(t)
	vendor := signUp(t, ctx, base)
	appID, appWallet := vendorApp(t, ctx, vendor, rc)
	user := signUp(t, ctx, base, retry)

	l.loseNext("/purchase-credits")
	buy(t, ctx, user, 50*officex.Credit)
	if avail, _ := balance(t, ctx, user.C, user.WalletID); avail != 50*officex.Credit || l.attempts("/purchase-credits") != 2 {
		t.Fatalf("after a purchase whose answer was lost: %s credits, %d attempts; want 50 and 2", avail, l.attempts("/purchase-credits"))
	}

	inst := try(officex.Check(user.C.InstallWithResponse(ctx, appID, openapi.InstallJSONRequestBody{}))).must(t).JSON201
	app := newClient(t, base, officex.WithInstallSecret(inst.InstallId.String(), inst.InstallSecret), retry)
	job := "lost-" + randHex(4)

	l.loseNext("/reserve")
	r := try(app.Reserve(ctx, officex.ReserveRequest{Amount: 10 * officex.Credit, JobID: job})).must(t)
	if _, reserved := balance(t, ctx, user.C, user.WalletID); reserved != 10*officex.Credit || r.ID != officex.ReservationPrefix+job {
		t.Fatalf("reserve whose answer was lost: %+v, %s reserved", r, reserved)
	}

	// A sip whose answer is lost is not sent again: the caller sees the
	// error and the sip happened once.
	l.loseNext("/settle")
	if _, err := app.Sip(ctx, r.ID, officex.Credit); err == nil || l.attempts("/settle") != 1 {
		t.Fatalf("sip with a lost answer: %v after %d attempts, want an error after 1", err, l.attempts("/settle"))
	}
	l.loseNext("/settle")
	s := try(app.Settle(ctx, r.ID, 2*officex.Credit)).must(t)
	if s.Status != "completed" || s.Settled != 3*officex.Credit || s.Refunded != 7*officex.Credit {
		t.Fatalf("final settle whose answer was lost: %+v, want 3 settled (1 sip + 2) and 7 refunded", s)
	}

	r2 := try(app.Reserve(ctx, officex.ReserveRequest{Amount: 4 * officex.Credit, JobID: job + "-c"})).must(t)
	l.loseNext("/cancel")
	if refunded := try(app.Cancel(ctx, r2.ID)).must(t); refunded != 4*officex.Credit {
		t.Fatalf("cancel whose answer was lost refunded %s", refunded)
	}

	if avail, reserved := balance(t, ctx, user.C, user.WalletID); avail != 47*officex.Credit || reserved != 0 {
		t.Fatalf("user: %s available, %s reserved; want 47 and 0", avail, reserved)
	}
	if avail, _ := balance(t, ctx, vendor.C, appWallet); avail != 3*officex.Credit {
		t.Fatalf("app wallet: %s, want 3", avail)
	}
	env.CheckInvariants(t)
}
