package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/solanatest"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/internal/usdc"
	"github.com/officex/officex/worker"
)

// usdcStack is a fake Solana node that checks every transaction, a worker
// paying through it, and an API whose batches run on that worker.
type usdcStack struct {
	chain   *solanatest.Server
	c       *testenv.Client
	restart func() (stop func())
	stop    func()
}

func newUSDCStack(t *testing.T) *usdcStack {
	t.Helper()
	mint := solana.NewWallet().PublicKey()
	chain := solanatest.New(t, mint)
	payer := solana.NewWallet().PrivateKey
	chain.Fund(payer.PublicKey(), 1_000_000_000_000) // 1,000,000 USDC
	client := usdc.New(usdc.Config{RPCURL: chain.URL(), Payer: payer, Mint: mint})
	edit := func(d *worker.Deps) { d.USDC, d.Payouts = client, payouts.New(env.Pool, true) }
	queue, stop := env.StartWorkerWith(t, edit)
	srv := newServer(t, func(d *api.Deps) {
		d.Config.TaskQueue = queue
		d.Payouts = payouts.New(env.Pool, true)
	})
	st := &usdcStack{chain: chain, c: env.ClientFor(t, srv), stop: stop}
	st.restart = func() func() {
		_, stop := env.StartWorkerWithQueue(t, queue, edit)
		return stop
	}
	return st
}

func usdcPayout(wallet string, amount any, owner solana.PublicKey) map[string]any {
	return map[string]any{"wallet_id": wallet, "amount": amount,
		"destination": map[string]any{"type": "usdc_solana", "account_id": owner.String()}}
}

func (st *usdcStack) approvedPayout(t *testing.T, credits string, amount any) (testenv.User, testenv.App, string, solana.PublicKey) {
	t.Helper()
	vendor, a := vendorWithEarnings(t, st.c, credits)
	owner := solana.NewWallet().PublicKey()
	id := st.c.Post("/payout", usdcPayout(a.WalletID, amount, owner), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	st.c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	return vendor, a, id, owner
}

func TestUSDCPayout_LandsOnceWithTheRightAmount(t *testing.T) {
	st := newUSDCStack(t)
	vendor, a, id, owner := st.approvedPayout(t, "250.5", "250.5")
	before := liability(t, st.c)
	b := runBatch(t, st.c, "2032-01")
	if b.Body["completed"] != 1.0 {
		t.Fatalf("batch %s", b.Raw)
	}
	transfers := st.chain.Transfers()
	if len(transfers) != 1 || transfers[0].ToOwner != owner || transfers[0].Amount != 2_505_000 || !transfers[0].CreatedATA {
		t.Fatalf("transfers %+v, want one of 2,505,000 base units ($2.505) to %s", transfers, owner)
	}
	if st.chain.Balance(owner) != 2_505_000 {
		t.Fatalf("recipient holds %d", st.chain.Balance(owner))
	}
	p := payoutOf(t, st.c, id)
	if p["status"] != "completed" || p["external_ref"] != transfers[0].Signature || p["payout_amount"] != 2_505_000.0 {
		t.Fatalf("payout %v", p)
	}
	if got := liability(t, st.c); got != before-250.5 {
		t.Fatalf("liability %v, want %v", got, before-250.5)
	}
	if av, held := balanceOf(t, st.c, a.WalletID, vendor); av != 0 || held != 0 {
		t.Fatalf("app wallet %v/%v", av, held)
	}
}

func TestUSDCPayout_DroppedTransactionExpiresThenPaysOnce(t *testing.T) {
	st := newUSDCStack(t)
	st.chain.DropNext(1)
	st.chain.AdvancePerCall(20) // the dropped transaction's blockhash expires after a few checks
	_, _, id, owner := st.approvedPayout(t, "100", 100)
	if b := runBatch(t, st.c, "2032-02"); b.Body["completed"] != 1.0 {
		t.Fatalf("batch %s", b.Raw)
	}
	if n := len(st.chain.Transfers()); n != 1 || st.chain.Balance(owner) != 1_000_000 {
		t.Fatalf("%d transfers, recipient holds %d: want exactly one payment", n, st.chain.Balance(owner))
	}
	expired := false
	for _, h := range payoutOf(t, st.c, id)["history"].([]any) {
		if d := h.(map[string]any)["detail"].(string); len(d) > 0 && contains(d, "expired unseen") {
			expired = true
		}
	}
	if !expired {
		t.Fatal("the first transaction was not recorded as expired before re-signing")
	}
}

func TestUSDCPayout_SlowConfirmationThatLandsIsPaidOnce(t *testing.T) {
	st := newUSDCStack(t)
	st.chain.DelayNext(1, 40) // lands 40 blocks later: several checks say pending first
	st.chain.AdvancePerCall(2)
	_, _, id, owner := st.approvedPayout(t, "100", 100)
	if b := runBatch(t, st.c, "2032-03"); b.Body["completed"] != 1.0 {
		t.Fatalf("batch %s", b.Raw)
	}
	if n := len(st.chain.Transfers()); n != 1 || st.chain.Balance(owner) != 1_000_000 {
		t.Fatalf("%d transfers; recipient holds %d", n, st.chain.Balance(owner))
	}
	if p := payoutOf(t, st.c, id); p["status"] != "completed" {
		t.Fatalf("payout %v", p)
	}
}

func TestUSDCPayout_FailedOnChainRestoresCredits(t *testing.T) {
	st := newUSDCStack(t)
	st.chain.FailNext(1)
	vendor, a, id, owner := st.approvedPayout(t, "100", 100)
	if b := runBatch(t, st.c, "2032-04"); b.Body["failed"] != 1.0 {
		t.Fatalf("batch %s", b.Raw)
	}
	if p := payoutOf(t, st.c, id); p["status"] != "failed" {
		t.Fatalf("payout %v", p)
	}
	if st.chain.Balance(owner) != 0 {
		t.Fatal("a failed transaction paid")
	}
	if av, held := balanceOf(t, st.c, a.WalletID, vendor); av != 100 || held != 0 {
		t.Fatalf("credits not restored: %v/%v", av, held)
	}
}

func TestUSDCPayout_WorkerStoppedMidPaymentPaysOnceAfterRestart(t *testing.T) {
	st := newUSDCStack(t)
	st.chain.DelayNext(1, 30)
	st.chain.AdvancePerCall(1)
	_, _, id, owner := st.approvedPayout(t, "100", 100)
	// A batch left running by a failed run would be joined by the next run
	// on a shared dev server (its worker's queue gone): end it either way.
	t.Cleanup(func() {
		_ = env.Temporal.TerminateWorkflow(context.Background(), "payout-batch-2032-05", "", "test cleanup")
	})
	done := make(chan testenv.Response, 1)
	go func() {
		done <- st.c.Concurrent().Post("/admin/payouts/batches", map[string]any{"period": "2032-05"}, testenv.AdminHeaders())
	}()
	// Stop the worker once the signed transaction is stored (and maybe sent).
	deadline := time.Now().Add(15 * time.Second)
	for payoutOf(t, st.c, id)["status"] != "burned" || !hasAttempt(t, st.c, id) {
		if time.Now().After(deadline) {
			t.Fatal("the payment never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	st.stop()
	st.chain.Advance(5)
	st.restart() // the restarted worker stops at the test's cleanup
	deadline = time.Now().Add(30 * time.Second)
	for payoutOf(t, st.c, id)["status"] != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("payout %v never completed after the restart", payoutOf(t, st.c, id))
		}
		time.Sleep(50 * time.Millisecond)
	}
	<-done
	if n := len(st.chain.Transfers()); n != 1 || st.chain.Balance(owner) != 1_000_000 {
		t.Fatalf("%d transfers; recipient holds %d: want exactly one payment", n, st.chain.Balance(owner))
	}
}

func hasAttempt(t *testing.T, c *testenv.Client, id string) bool {
	for _, h := range payoutOf(t, c, id)["history"].([]any) {
		if contains(h.(map[string]any)["detail"].(string), "signed Solana transaction") {
			return true
		}
	}
	return false
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestUSDCPayout_AddressAndGranularity(t *testing.T) {
	st := newUSDCStack(t)
	vendor, a := vendorWithEarnings(t, st.c, "500")
	owner := solana.NewWallet().PublicKey()
	for _, b := range []map[string]any{
		usdcPayout(a.WalletID, "100.00001", owner), // finer than 0.0001 credit ($0.000001)
		{"wallet_id": a.WalletID, "amount": 100, "destination": map[string]any{"type": "usdc_solana", "account_id": "not-base58-0OIl"}},
		{"wallet_id": a.WalletID, "amount": 100, "destination": map[string]any{"type": "usdc_solana", "account_id": "3yZe7d"}},
	} {
		st.c.Post("/payout", b, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	r := st.c.Post("/payout", usdcPayout(a.WalletID, "100.0001", owner), vendor.Headers()).Expect(t, 200, "")
	st.c.Post("/admin/payouts/"+r.String("payout_id")+"/reject", map[string]any{"reason": "test"}, testenv.AdminHeaders()).Expect(t, 200, "")
}
