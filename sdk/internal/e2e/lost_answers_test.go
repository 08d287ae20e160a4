package e2e_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
	mu   sync.Mutex
	lose map[string]int
	sent map[string]int
}

func newLossy(t *testing.T, target string) (*lossy, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	l := &lossy{lose: map[string]int{}, sent: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if l.lost(resp.Request.URL.Path) {
			return errors.New("answer lost") // the proxy answers 502
		}
		return nil
	}
	rp.ErrorLog = log.New(io.Discard, "", 0)
	gw := httptest.NewServer(rp)
	t.Cleanup(gw.Close)
	return l, gw.URL
}

func (l *lossy) lost(path string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lost := false
	for suffix, n := range l.lose {
		if strings.HasSuffix(path, suffix) {
			l.sent[suffix]++
			if n > 0 {
				l.lose[suffix], lost = n-1, true
			}
		}
	}
	return lost
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
	l, gw := newLossy(t, env.ContractProxy(t))
	base := gw + "/v1"
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
