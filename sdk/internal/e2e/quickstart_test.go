// Package e2e_test drives the SDK against the real stack (PostgreSQL,
// Temporal, the Stripe simulator): the reference's quick starts, real
// webhook deliveries, answers lost after the server acted. Every exchange is
// checked against api/openapi.yaml by the test environment's contract proxy.
// It lives apart from package officex so the SDK's unit tests need no stack.
package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/testenv"
	officex "github.com/officex/officex/sdk"
	"github.com/officex/officex/sdk/openapi"
	"github.com/officex/officex/sdk/webhook"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newClient(t *testing.T, base string, opts ...officex.Option) *officex.Client {
	t.Helper()
	c, err := officex.NewClient(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// result lets a call's two results meet t: try(c.Do(...)).must(t).
type result[A any] struct {
	v   A
	err error
}

func try[A any](v A, err error) result[A] { return result[A]{v, err} }

func (r result[A]) must(t *testing.T) A {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

// account is a signed-up user and a client authenticated as them.
type account struct {
	ID, WalletID string
	C            *officex.Client
}

// signUp is the consumer quick start's first step: register, then
// verify-otp with the testing-mode code 0000. opts go to the user's client.
func signUp(t *testing.T, ctx context.Context, base string, opts ...officex.Option) account {
	t.Helper()
	anon := newClient(t, base)
	email := testenv.UniqueEmail("sdk")
	try(officex.Check(anon.RegisterWithResponse(ctx, openapi.RegisterJSONRequestBody{Email: email}))).must(t)
	creds := try(officex.Check(anon.VerifyOTPWithResponse(ctx, openapi.VerifyOTPJSONRequestBody{Email: email, Code: "0000"}))).must(t).JSON200
	id := creds.UserId.String()
	return account{ID: id, WalletID: creds.WalletId.String(), C: newClient(t, base, append(opts, officex.WithMasterKey(id, creds.ApiKey))...)}
}

// receiver is an app's webhook endpoint built with webhook.Verify: it
// answers 401 to what does not verify and keeps what does.
type receiver struct {
	URL    string
	mu     sync.Mutex
	secret string
	events []webhook.Event
	raw    []delivery
	refuse []error
}

type delivery struct {
	header http.Header
	body   []byte
}

func startReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/webhooks/officex"
	return rc
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ev, err := (webhook.Verifier{Secret: rc.secret}).Parse(r.Header, body)
	if err != nil {
		rc.refuse = append(rc.refuse, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.events = append(rc.events, *ev)
	rc.raw = append(rc.raw, delivery{r.Header.Clone(), body})
	w.Header().Set("Content-Type", "application/json")
	// An INSTALL's answer may carry agent_context, stored on the install.
	_, _ = io.WriteString(w, `{"agent_context": {"base_url": "https://app.example/api"}}`)
}

func (rc *receiver) setSecret(s string) {
	rc.mu.Lock()
	rc.secret = s
	rc.mu.Unlock()
}

// waitFor returns the first verified event of kind.
func (rc *receiver) waitFor(t *testing.T, kind string) (webhook.Event, delivery) {
	t.Helper()
	var ev webhook.Event
	var d delivery
	testenv.Eventually(t, 20*time.Second, kind+" webhook", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for i, e := range rc.events {
			if e.Event == kind {
				ev, d = e, rc.raw[i]
				return true
			}
		}
		return false
	})
	return ev, d
}

// vendorApp registers a pay-per-use app whose webhook goes to rc.
func vendorApp(t *testing.T, ctx context.Context, vendor account, rc *receiver) (appID, walletID string) {
	t.Helper()
	pt := openapi.PAYPERUSE
	app := try(officex.Check(vendor.C.RegisterAppWithResponse(ctx, openapi.RegisterAppJSONRequestBody{
		Name: "SDK Quick Start " + randHex(3), PriceType: &pt, WebhookUrl: &rc.URL}))).must(t).JSON201
	rc.setSecret(app.WebhookSecret)
	return app.AppId.String(), app.DestinationWalletId.String()
}

// buy is the consumer's purchase with Stripe's test token.
func buy(t *testing.T, ctx context.Context, user account, amount officex.Credits) {
	t.Helper()
	body := openapi.PurchaseCreditsJSONRequestBody{Amount: amount}
	body.PaymentMethod.Type, body.PaymentMethod.Token = "stripe", "tok_visa"
	got := try(officex.Check(user.C.PurchaseCreditsWithResponse(ctx, body))).must(t).JSON200
	if got == nil || got.CreditsAdded != amount {
		t.Fatalf("purchase of %s answered %+v", amount, got)
	}
}

func balance(t *testing.T, ctx context.Context, c *officex.Client, walletID string) (available, reserved officex.Credits) {
	t.Helper()
	w := try(officex.Check(c.GetWalletWithResponse(ctx, walletID))).must(t).JSON200
	return w.Available, w.Reserved
}

// installation is the quick starts up to the app holding an install
// secret: a vendor's app whose webhook goes to a webhook.Verify receiver, a
// user (funded with Stripe's test card when fund > 0) who installed it, and
// the verified INSTALL delivery.
type installation struct {
	base             string
	rc               *receiver
	vendor, user     account
	appID, appWallet string
	answer           *openapi.InstallResponse
	hook             webhook.Install
	delivery         delivery
}

func installApp(t *testing.T, ctx context.Context, fund officex.Credits) installation {
	t.Helper()
	in := installation{base: env.ContractProxy(t) + "/v1", rc: startReceiver(t)}
	in.vendor = signUp(t, ctx, in.base)
	in.appID, in.appWallet = vendorApp(t, ctx, in.vendor, in.rc)
	in.user = signUp(t, ctx, in.base)
	if fund > 0 {
		buy(t, ctx, in.user, fund)
	}
	in.answer = try(officex.Check(in.user.C.InstallWithResponse(ctx, in.appID, openapi.InstallJSONRequestBody{}))).must(t)
	var ev webhook.Event
	ev, in.delivery = in.rc.waitFor(t, "INSTALL")
	if err := json.Unmarshal(ev.Payload, &in.hook); err != nil {
		t.Fatalf("INSTALL payload %s: %v", ev.Payload, err)
	}
	return in
}

func TestQuickStart_RegisterInstallBillInboxPayout(t *testing.T) {
	ctx := context.Background()
	// Developer: register an app; consumer: register, fund, install.
	setup := installApp(t, ctx, 1000*officex.Credit)
	base, vendor, user, appID, appWallet := setup.base, setup.vendor, setup.user, setup.appID, setup.appWallet

	// The app learns the install secret from the INSTALL webhook.
	in, inst := setup.hook, setup.answer.JSON201
	if in.InstallID != inst.InstallId.String() || in.InstallSecret != inst.InstallSecret {
		t.Fatalf("INSTALL payload %+v, want install %s and its secret", in, inst.InstallId)
	}
	app := newClient(t, base, officex.WithInstallSecret(in.InstallID, in.InstallSecret))

	// Reserve 10, settle 8: 2 go back to the user.
	job := "job-" + randHex(4)
	r := try(app.Reserve(ctx, officex.ReserveRequest{Amount: 10 * officex.Credit, JobID: job, Metadata: map[string]any{"lead": 1}})).must(t)
	if r.ID != officex.ReservationPrefix+job || r.Amount != 10*officex.Credit || !r.ExpiresAt.After(time.Now()) {
		t.Fatalf("reservation %+v", r)
	}
	if avail, reserved := balance(t, ctx, user.C, user.WalletID); avail != 990*officex.Credit || reserved != 10*officex.Credit {
		t.Fatalf("after reserve: available %s reserved %s", avail, reserved)
	}
	s := try(app.Settle(ctx, r.ID, 8*officex.Credit)).must(t)
	if s.Settled != 8*officex.Credit || s.Refunded != 2*officex.Credit || s.Remaining != 0 || s.Status != "completed" {
		t.Fatalf("settle %+v", s)
	}

	// Progressive sips of 0.1, then settle 0 refunds the rest.
	r2 := try(app.Reserve(ctx, officex.ReserveRequest{Amount: 5 * officex.Credit, JobID: job + "-batch", Timeout: time.Hour})).must(t)
	for range 3 {
		try(app.Sip(ctx, r2.ID, officex.MustParseCredits("0.1"))).must(t)
	}
	s2 := try(app.Settle(ctx, r2.ID, 0)).must(t)
	if s2.Settled != officex.MustParseCredits("0.3") || s2.Refunded != officex.MustParseCredits("4.7") {
		t.Fatalf("sips then settle 0: %+v", s2)
	}

	// Cancel refunds everything reserved.
	r3 := try(app.Reserve(ctx, officex.ReserveRequest{Amount: 3 * officex.Credit, JobID: job + "-cancelled"})).must(t)
	if refunded := try(app.Cancel(ctx, r3.ID)).must(t); refunded != 3*officex.Credit {
		t.Fatalf("cancel refunded %s", refunded)
	}

	// The reference's errors, typed.
	_, err := app.Reserve(ctx, officex.ReserveRequest{Amount: officex.Credit, JobID: job})
	if !officex.IsCode(err, officex.CodeDuplicateJob) {
		t.Fatalf("same job again: %v", err)
	}
	_, err = app.Reserve(ctx, officex.ReserveRequest{Amount: 5000 * officex.Credit, JobID: job + "-big"})
	var apiErr *officex.Error
	if !officex.IsCode(err, officex.CodeInsufficientFunds) || !errors.As(err, &apiErr) || apiErr.StatusCode != 402 {
		t.Fatalf("reserve beyond the balance: %v", err)
	}
	if _, err := app.Sip(ctx, r.ID, officex.Credit); !officex.IsCode(err, officex.CodeReservationClosed) {
		t.Fatalf("sip of a settled reservation: %v", err)
	}

	// Inbox: the app tells the user; the user reads it.
	msgID := "done-" + job
	try(officex.Check(app.SendInboxMessageWithResponse(ctx, in.InstallID, openapi.SendInboxMessageJSONRequestBody{
		Id: msgID, Title: "Lead Enrichment Complete", Text: "Enriched 50 leads."}))).must(t)
	found := false
	for m, err := range user.C.Inbox(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || (m.Id == msgID && m.App != nil && m.App.AppId.String() == appID && m.Title == "Lead Enrichment Complete")
	}
	if !found {
		t.Fatalf("inbox has no message %s", msgID)
	}

	// The ledger: the user paid 8.3, the app wallet holds 8.3.
	if avail, reserved := balance(t, ctx, user.C, user.WalletID); avail != officex.MustParseCredits("991.7") || reserved != 0 {
		t.Fatalf("user: available %s reserved %s, want 991.7 and 0", avail, reserved)
	}
	if avail, _ := balance(t, ctx, vendor.C, appWallet); avail != officex.MustParseCredits("8.3") {
		t.Fatalf("app wallet: %s, want 8.3", avail)
	}

	// Vendor payout: earn enough, then ask for 100 credits to a Stripe account.
	big := try(app.Reserve(ctx, officex.ReserveRequest{Amount: 150 * officex.Credit, JobID: job + "-bulk"})).must(t)
	try(app.Settle(ctx, big.ID, 150*officex.Credit)).must(t)
	payout := try(officex.Check(vendor.C.RequestPayoutWithResponse(ctx, openapi.RequestPayoutJSONRequestBody{
		WalletId: uuidOf(t, appWallet), Amount: 100 * officex.Credit,
		Destination: &openapi.PayoutDestinationInput{Type: openapi.Stripe, AccountId: "acct_" + strings.ReplaceAll(vendor.ID, "-", "")[:16]}}))).must(t).JSON200
	if payout.Amount != 100*officex.Credit || payout.Status != "pending" {
		t.Fatalf("payout %+v", payout)
	}
	if avail, _ := balance(t, ctx, vendor.C, appWallet); avail != officex.MustParseCredits("58.3") {
		t.Fatalf("app wallet after the payout request: %s, want 58.3", avail)
	}

	// The app wallet's journal, page by page (two per page), adds up.
	var sum officex.Credits
	pages := 0
	for tx, err := range officex.All(ctx, func(ctx context.Context, cursor *string) ([]openapi.Transaction, openapi.Pagination, error) {
		pages++
		two := 2
		res, err := officex.Check(vendor.C.WalletTransactionsWithResponse(ctx, appWallet, &openapi.WalletTransactionsParams{Limit: &two, Cursor: cursor}))
		if err != nil {
			return nil, openapi.Pagination{}, err
		}
		return res.JSON200.Transactions, res.JSON200.Pagination, nil
	}) {
		if err != nil {
			t.Fatal(err)
		}
		sum += tx.AvailableChange
	}
	if sum != officex.MustParseCredits("58.3") || pages < 3 {
		t.Fatalf("journal sums to %s over %d pages, want 58.3 over at least 3", sum, pages)
	}
	env.CheckInvariants(t)
}

func uuidOf(t *testing.T, s string) openapi.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
