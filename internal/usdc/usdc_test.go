package usdc_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gagliardetto/solana-go"
	"github.com/mr-tron/base58"

	"github.com/officex/officex/internal/solanatest"
	"github.com/officex/officex/internal/usdc"
)

const payerFunds = 1_000_000_000 // 1,000 USDC in base units

type env struct {
	srv   *solanatest.Server
	c     *usdc.Client
	payer solana.PublicKey
}

// setup starts a fake node with a funded payer and a client for it.
func setup(t *testing.T) env {
	t.Helper()
	mint := newKey(t).PublicKey()
	payer := newKey(t)
	srv := solanatest.New(t, mint)
	srv.Fund(payer.PublicKey(), payerFunds)
	c := usdc.New(usdc.Config{RPCURL: srv.URL(), Payer: payer, Mint: mint})
	return env{srv: srv, c: c, payer: payer.PublicKey()}
}

func newKey(t *testing.T) solana.PrivateKey {
	t.Helper()
	k, err := solana.NewRandomPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (e env) build(t *testing.T, owner solana.PublicKey, amount uint64) usdc.Prepared {
	t.Helper()
	p, err := e.c.BuildTransfer(context.Background(), owner, amount)
	if err != nil {
		t.Fatalf("BuildTransfer: %v", err)
	}
	return p
}

func (e env) send(t *testing.T, p usdc.Prepared) {
	t.Helper()
	if err := e.c.Send(context.Background(), p); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func (e env) status(t *testing.T, p usdc.Prepared) usdc.Status {
	t.Helper()
	st, err := e.c.Status(context.Background(), p.Signature, p.LastValidBlockHeight)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

func (e env) wantState(t *testing.T, p usdc.Prepared, want usdc.State) usdc.Status {
	t.Helper()
	st := e.status(t, p)
	if st.State != want {
		t.Fatalf("status at height %d (last valid %d) = %+v, want %s",
			e.srv.Height(), p.LastValidBlockHeight, st, want)
	}
	return st
}

// wantPaid asserts that owner received exactly the listed transfers.
func (e env) wantPaid(t *testing.T, owner solana.PublicKey, amounts ...uint64) {
	t.Helper()
	var got []uint64
	var total uint64
	for _, tr := range e.srv.Transfers() {
		if tr.ToOwner.Equals(owner) {
			got = append(got, tr.Amount)
			total += tr.Amount
		}
	}
	if len(got) != len(amounts) {
		t.Fatalf("transfers to owner = %v, want %v", got, amounts)
	}
	for i := range got {
		if got[i] != amounts[i] {
			t.Fatalf("transfers to owner = %v, want %v", got, amounts)
		}
	}
	if bal := e.srv.Balance(owner); bal != total {
		t.Fatalf("owner balance = %d, want %d", bal, total)
	}
	if bal := e.srv.Balance(e.payer); bal != payerFunds-total {
		t.Fatalf("payer balance = %d, want %d", bal, payerFunds-total)
	}
}

func TestHappyPathCreatesATAAndPaysOnce(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	amount, err := usdc.BaseUnitsFromMicroCredits(25_000_000) // 25 credits = $0.25
	if err != nil || amount != 250_000 {
		t.Fatalf("BaseUnitsFromMicroCredits = %d, %v; want 250000", amount, err)
	}

	p := e.build(t, owner, amount)
	if p.Signature == "" || len(p.Raw) == 0 || p.Blockhash == "" || p.LastValidBlockHeight <= e.srv.Height() {
		t.Fatalf("incomplete Prepared: %+v", p)
	}
	if e.srv.Sent() != 0 || e.srv.HasATA(owner) {
		t.Fatal("BuildTransfer must not send anything")
	}
	e.send(t, p)
	st := e.wantState(t, p, usdc.Confirmed)
	if st.Slot == 0 || st.Err != "" {
		t.Fatalf("confirmed status = %+v", st)
	}

	e.wantPaid(t, owner, amount)
	tr := e.srv.Transfers()[0]
	ata, _, _ := solana.FindAssociatedTokenAddress(owner, e.srv.Mint())
	if tr.Signature != p.Signature || !tr.To.Equals(ata) || !tr.CreatedATA || !tr.FromOwner.Equals(e.payer) {
		t.Fatalf("transfer = %+v, want to ATA %s, created, signature %s", tr, ata, p.Signature)
	}
	if e.srv.Sent() != 1 {
		t.Fatalf("sent %d transactions, want 1", e.srv.Sent())
	}
}

func TestSecondPayoutDoesNotRecreateATA(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	first := e.build(t, owner, 10_000)
	e.send(t, first)
	e.wantState(t, first, usdc.Confirmed)

	e.srv.Advance(1) // a new blockhash, as between two real payouts
	second := e.build(t, owner, 20_000)
	e.send(t, second)
	e.wantState(t, second, usdc.Confirmed)

	e.wantPaid(t, owner, 10_000, 20_000)
	if trs := e.srv.Transfers(); !trs[0].CreatedATA || trs[1].CreatedATA {
		t.Fatalf("CreatedATA = %v, %v; want true, false", trs[0].CreatedATA, trs[1].CreatedATA)
	}
	if len(second.Raw) >= len(first.Raw) {
		t.Fatalf("second transaction (%d bytes) should be smaller than the first (%d), having no create-ATA",
			len(second.Raw), len(first.Raw))
	}
}

func TestPayoutToExistingATA(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	e.srv.Fund(owner, 0) // the vendor already holds a USDC account
	p := e.build(t, owner, 5_000)
	e.send(t, p)
	e.wantState(t, p, usdc.Confirmed)
	e.wantPaid(t, owner, 5_000)
	if e.srv.Transfers()[0].CreatedATA {
		t.Fatal("created an ATA that already existed")
	}
}

// A dropped transaction stays Pending while its blockhash can land, then is
// Expired; only then is a re-signed one sent, and the owner is paid once.
func TestDroppedExpiresThenResignedLandsOnce(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	e.srv.DropNext(1)
	old := e.build(t, owner, 70_000)
	e.send(t, old)
	e.wantState(t, old, usdc.Pending)

	e.srv.Advance(old.LastValidBlockHeight - e.srv.Height()) // height == last valid: can still land
	e.wantState(t, old, usdc.Pending)
	e.srv.Advance(1)
	e.wantState(t, old, usdc.Expired)
	e.wantPaid(t, owner)

	// Re-sending the expired one cannot land either.
	if err := e.c.Send(context.Background(), old); err == nil {
		t.Fatal("re-sending an expired transaction succeeded")
	}
	fresh := e.build(t, owner, 70_000)
	if fresh.Signature == old.Signature || fresh.Blockhash == old.Blockhash {
		t.Fatal("rebuilt transfer reuses the expired blockhash or signature")
	}
	e.send(t, fresh)
	e.wantState(t, fresh, usdc.Confirmed)
	e.wantState(t, old, usdc.Expired)
	e.wantPaid(t, owner, 70_000)
}

func TestDelayedLandsWithoutResend(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	e.srv.DelayNext(1, 5)
	p := e.build(t, owner, 30_000)
	e.send(t, p)
	e.wantState(t, p, usdc.Pending)
	e.srv.Advance(4)
	e.wantState(t, p, usdc.Pending)
	e.srv.Advance(1)
	e.wantState(t, p, usdc.Confirmed)
	e.wantPaid(t, owner, 30_000)
	if e.srv.Sent() != 1 {
		t.Fatalf("sent %d, want 1", e.srv.Sent())
	}
}

func TestFailedReportsOnChainError(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	e.srv.FailNext(1)
	p := e.build(t, owner, 40_000)
	e.send(t, p)
	st := e.wantState(t, p, usdc.Failed)
	if !strings.Contains(st.Err, "InstructionError") || !strings.Contains(st.Err, "Custom") {
		t.Fatalf("failure text = %q, want the on-chain InstructionError", st.Err)
	}
	e.wantPaid(t, owner)
	if e.srv.HasATA(owner) {
		t.Fatal("a failed transaction created the ATA: it must change nothing")
	}
}

func TestSendTwiceLandsOnce(t *testing.T) {
	t.Run("after landing", func(t *testing.T) {
		e := setup(t)
		owner := newKey(t).PublicKey()
		p := e.build(t, owner, 15_000)
		e.send(t, p)
		e.send(t, p) // "already processed" counts as sent
		e.wantState(t, p, usdc.Confirmed)
		e.wantPaid(t, owner, 15_000)
		if e.srv.Sent() != 2 {
			t.Fatalf("sent %d, want 2", e.srv.Sent())
		}
	})
	t.Run("while in flight", func(t *testing.T) {
		e := setup(t)
		owner := newKey(t).PublicKey()
		e.srv.DelayNext(1, 3)
		p := e.build(t, owner, 15_000)
		e.send(t, p)
		e.send(t, p)
		e.srv.Advance(3)
		e.wantState(t, p, usdc.Confirmed)
		e.wantPaid(t, owner, 15_000)
	})
}

// Status must search history: a payout checked long after it landed (say,
// after a worker outage) is still Confirmed, not "never seen".
func TestStatusLongAfterLanding(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	p := e.build(t, owner, 1_000)
	e.send(t, p)
	e.srv.Advance(solanatest.StatusCacheBlocks + solanatest.BlockhashValidity + 1)
	e.wantState(t, p, usdc.Confirmed)
}

func TestMemoKeepsEqualPayoutsApart(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	ctx := context.Background()
	// Same owner, amount and blockhash: without a memo it is one
	// transaction, which the cluster would run once.
	a, b := e.build(t, owner, 9_000), e.build(t, owner, 9_000)
	if a.Signature != b.Signature {
		t.Fatal("expected identical transactions without a memo")
	}
	p1, err1 := e.c.BuildTransferMemo(ctx, owner, 9_000, "payout:1")
	p2, err2 := e.c.BuildTransferMemo(ctx, owner, 9_000, "payout:2")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if p1.Signature == p2.Signature {
		t.Fatal("memos did not make the transactions distinct")
	}
	e.send(t, p1)
	e.send(t, p2)
	e.wantPaid(t, owner, 9_000, 9_000)
	if memo := e.srv.Transfers()[1].Memo; memo != "payout:2" {
		t.Fatalf("memo on chain = %q", memo)
	}
	if _, err := e.c.BuildTransferMemo(ctx, owner, 1, strings.Repeat("x", usdc.MaxMemoBytes+1)); err == nil {
		t.Fatal("oversized memo accepted")
	}
}

func TestInsufficientFundsRefusedThenExpires(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	p := e.build(t, owner, payerFunds+1)
	if err := e.c.Send(context.Background(), p); err == nil {
		t.Fatal("preflight should refuse an overdraft")
	}
	e.wantState(t, p, usdc.Pending) // a refused send still proves nothing until expiry
	e.srv.Advance(p.LastValidBlockHeight - e.srv.Height() + 1)
	e.wantState(t, p, usdc.Expired)
	e.wantPaid(t, owner)
}

func TestWrongMintRefusedByNode(t *testing.T) {
	e := setup(t)
	payer := newKey(t)
	e.srv.Fund(payer.PublicKey(), payerFunds)
	other := usdc.New(usdc.Config{RPCURL: e.srv.URL(), Payer: payer, Mint: newKey(t).PublicKey()})
	p, err := other.BuildTransfer(context.Background(), newKey(t).PublicKey(), 1_000)
	if err != nil {
		t.Fatal(err)
	}
	err = other.Send(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "mint") {
		t.Fatalf("Send with the wrong mint = %v, want a mint refusal", err)
	}
	if len(e.srv.Transfers()) != 0 {
		t.Fatal("a wrong-mint transfer landed")
	}
}

func TestSendRefusesMismatchedPrepared(t *testing.T) {
	e := setup(t)
	p := e.build(t, newKey(t).PublicKey(), 1_000)
	other := e.build(t, newKey(t).PublicKey(), 2_000)
	p.Signature = other.Signature // a stored signature that is not Raw's
	if err := e.c.Send(context.Background(), p); err == nil {
		t.Fatal("sent a transaction whose signature differs from Prepared.Signature")
	}
	if e.srv.Sent() != 0 {
		t.Fatal("mismatched Prepared reached the node")
	}
}

func TestBuildTransferRefusals(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ata, _, _ := solana.FindAssociatedTokenAddress(newKey(t).PublicKey(), e.srv.Mint())
	cases := map[string]struct {
		owner  solana.PublicKey
		amount uint64
	}{
		"zero amount":   {newKey(t).PublicKey(), 0},
		"payer itself":  {e.payer, 1},
		"off-curve PDA": {ata, 1},
	}
	for name, tc := range cases {
		if _, err := e.c.BuildTransfer(ctx, tc.owner, tc.amount); err == nil {
			t.Errorf("%s: BuildTransfer succeeded", name)
		}
	}
	bad := usdc.New(usdc.Config{RPCURL: e.srv.URL(), Payer: solana.PrivateKey{1, 2, 3}, Mint: e.srv.Mint()})
	if _, err := bad.BuildTransfer(ctx, newKey(t).PublicKey(), 1); err == nil {
		t.Error("client with an invalid payer key built a transfer")
	}
}

func TestValidateAddress(t *testing.T) {
	wallet := newKey(t).PublicKey()
	ata, _, _ := solana.FindAssociatedTokenAddress(wallet, newKey(t).PublicKey())
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"wallet", wallet.String(), nil},
		{"system program (on curve)", solana.SystemProgramID.String(), nil},
		{"empty", "", usdc.ErrEmptyAddress},
		{"invalid base58 char", "0OIl" + wallet.String()[4:], usdc.ErrInvalidAddress},
		{"surrounding space", " " + wallet.String(), usdc.ErrInvalidAddress},
		{"31 bytes", base58.Encode(make([]byte, 31)), usdc.ErrInvalidAddress},
		{"33 bytes", base58.Encode(append(wallet.Bytes(), 1)), usdc.ErrInvalidAddress},
		{"64-byte secret key", newKey(t).String(), usdc.ErrInvalidAddress},
		{"token account (PDA)", ata.String(), usdc.ErrOffCurveAddress},
	}
	for _, tc := range cases {
		err := usdc.ValidateAddress(tc.in)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: ValidateAddress(%q) = %v, want %v", tc.name, tc.in, err, tc.want)
		}
	}
}

func TestParsePayerKeypair(t *testing.T) {
	key := newKey(t)
	jsonForm, _ := json.Marshal(bytesAsInts(key))
	for name, in := range map[string]string{
		"solana CLI JSON":   string(jsonForm),
		"JSON with spacing": " [" + strings.Join(strings.Split(string(jsonForm[1:len(jsonForm)-1]), ","), ", ") + "]\n",
		"base58":            key.String(),
	} {
		got, err := usdc.ParsePayerKeypair(in)
		if err != nil || !got.PublicKey().Equals(key.PublicKey()) {
			t.Errorf("%s: got %v, %v", name, got.PublicKey(), err)
		}
	}

	mismatched := append(solana.PrivateKey(nil), key...)
	mismatched[63] ^= 1
	outOfRange := bytesAsInts(key)
	outOfRange[0] = 256
	outOfRangeJSON, _ := json.Marshal(outOfRange)
	for name, in := range map[string]string{
		"empty":              "",
		"32-byte seed":       base58.Encode(key[:32]),
		"short JSON":         "[1,2,3]",
		"number > 255":       string(outOfRangeJSON),
		"not JSON":           "[1,2,",
		"invalid base58":     "0OIl",
		"mismatched pub key": mismatched.String(),
	} {
		_, err := usdc.ParsePayerKeypair(in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if len(in) > 8 && strings.Contains(err.Error(), in) {
			t.Errorf("%s: error quotes the secret", name)
		}
	}
}

func bytesAsInts(b []byte) []int {
	out := make([]int, len(b))
	for i, v := range b {
		out[i] = int(v)
	}
	return out
}

func TestBaseUnitsFromMicroCredits(t *testing.T) {
	for _, tc := range []struct {
		micro int64
		want  uint64
		ok    bool
	}{
		{1_000_000, usdc.BaseUnitsPerCredit, true}, // 1 credit
		{100, 1, true},
		{150, 0, false}, // not a whole base unit
		{0, 0, false},
		{-100, 0, false},
	} {
		got, err := usdc.BaseUnitsFromMicroCredits(tc.micro)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("BaseUnitsFromMicroCredits(%d) = %d, %v", tc.micro, got, err)
		}
	}
}

// A transfer landing in its last valid block between Status's two reads must
// not be called Expired: Status reads the height first, then the signature.
// Each RPC call here adds 2 blocks, and the delayed transfer lands in block
// LastValidBlockHeight.
func TestStatusReadsHeightBeforeSignature(t *testing.T) {
	e := setup(t)
	owner := newKey(t).PublicKey()
	e.srv.DelayNext(1, solanatest.BlockhashValidity)
	p := e.build(t, owner, 3_000)
	e.send(t, p)
	e.srv.Advance(p.LastValidBlockHeight - 3 - e.srv.Height())
	e.srv.AdvancePerCall(2)
	e.wantState(t, p, usdc.Confirmed)
	e.wantPaid(t, owner, 3_000)
}

func TestStatusRefusesMissingLastValidHeight(t *testing.T) {
	e := setup(t)
	e.srv.DropNext(1)
	p := e.build(t, newKey(t).PublicKey(), 1_000)
	e.send(t, p)
	if _, err := e.c.Status(context.Background(), p.Signature, 0); err == nil {
		t.Fatal("Status with lastValidBlockHeight 0 answered instead of refusing")
	}
	if _, err := e.c.Status(context.Background(), "not-a-signature", p.LastValidBlockHeight); err == nil {
		t.Fatal("Status accepted a malformed signature")
	}
}
