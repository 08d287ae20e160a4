package solanatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/system"
	"github.com/gagliardetto/solana-go/programs/token"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/gagliardetto/solana-go/rpc/jsonrpc"

	"github.com/officex/officex/internal/solanatest"
)

const funds = 1_000_000

type fixture struct {
	srv          *solanatest.Server
	rpc          *rpc.Client
	mint         solana.PublicKey
	payer, owner solana.PrivateKey
}

// setup has a funded payer and an owner whose USDC account already exists,
// so a bare TransferChecked is a valid payout.
func setup(t *testing.T) fixture {
	t.Helper()
	f := fixture{mint: key(t).PublicKey(), payer: key(t), owner: key(t)}
	f.srv = solanatest.New(t, f.mint)
	f.rpc = rpc.New(f.srv.URL())
	f.srv.Fund(f.payer.PublicKey(), funds)
	f.srv.Fund(f.owner.PublicKey(), 0)
	return f
}

func key(t *testing.T) solana.PrivateKey {
	t.Helper()
	k, err := solana.NewRandomPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ata(t *testing.T, owner, mint solana.PublicKey) solana.PublicKey {
	t.Helper()
	a, _, err := solana.FindAssociatedTokenAddress(owner, mint)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// transfer is a TransferChecked from the payer's account to the owner's.
func (f fixture) transfer(t *testing.T, mint solana.PublicKey, decimals uint8, amount uint64) solana.Instruction {
	t.Helper()
	return token.NewTransferCheckedInstruction(amount, decimals,
		ata(t, f.payer.PublicKey(), f.mint), mint, ata(t, f.owner.PublicKey(), f.mint),
		f.payer.PublicKey(), nil).Build()
}

func (f fixture) blockhash(t *testing.T) solana.Hash {
	t.Helper()
	res, err := f.rpc.GetLatestBlockhash(context.Background(), rpc.CommitmentFinalized)
	if err != nil {
		t.Fatal(err)
	}
	return res.Value.Blockhash
}

// signed builds a transaction with the payer as fee payer, signed by signer.
func (f fixture) signed(t *testing.T, bh solana.Hash, signer solana.PrivateKey, ixs ...solana.Instruction) *solana.Transaction {
	t.Helper()
	tx, err := solana.NewTransaction(ixs, bh, solana.TransactionPayer(f.payer.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.PartialSign(func(solana.PublicKey) *solana.PrivateKey { return &signer }); err != nil {
		t.Fatal(err)
	}
	return tx
}

func (f fixture) send(tx *solana.Transaction) (solana.Signature, error) {
	raw, err := tx.MarshalBinary()
	if err != nil {
		return solana.Signature{}, err
	}
	return f.rpc.SendRawTransaction(context.Background(), raw)
}

// wantRefused asserts a JSON-RPC error whose message has want, and that
// nothing was paid.
func (f fixture) wantRefused(t *testing.T, tx *solana.Transaction, code int, want string) {
	t.Helper()
	_, err := f.send(tx)
	var rerr *jsonrpc.RPCError
	if !errors.As(err, &rerr) {
		t.Fatalf("send = %v, want a JSON-RPC error", err)
	}
	if rerr.Code != code || !strings.Contains(rerr.Message, want) {
		t.Fatalf("refusal = %d %q, want %d with %q", rerr.Code, rerr.Message, code, want)
	}
	if n := len(f.srv.Transfers()); n != 0 {
		t.Fatalf("%d transfers landed from a refused transaction", n)
	}
}

func TestValidTransferLands(t *testing.T) {
	f := setup(t)
	tx := f.signed(t, f.blockhash(t), f.payer, f.transfer(t, f.mint, 6, 1234))
	sig, err := f.send(tx)
	if err != nil {
		t.Fatal(err)
	}
	trs := f.srv.Transfers()
	if len(trs) != 1 || trs[0].Amount != 1234 || trs[0].Signature != sig.String() || !trs[0].ToOwner.Equals(f.owner.PublicKey()) {
		t.Fatalf("transfers = %+v", trs)
	}
	if f.srv.Balance(f.owner.PublicKey()) != 1234 || f.srv.Balance(f.payer.PublicKey()) != funds-1234 {
		t.Fatal("balances not moved")
	}
}

func TestRefusesWrongSigner(t *testing.T) {
	f := setup(t)
	tx := f.signed(t, f.blockhash(t), key(t), f.transfer(t, f.mint, 6, 1))
	f.wantRefused(t, tx, -32003, "signature verification failure")
}

func TestRefusesTamperedTransaction(t *testing.T) {
	f := setup(t)
	tx := f.signed(t, f.blockhash(t), f.payer, f.transfer(t, f.mint, 6, 1))
	tx.Message.Instructions[0].Data[1]++ // amount changed after signing
	f.wantRefused(t, tx, -32003, "signature verification failure")
}

func TestRefusesWrongMint(t *testing.T) {
	f := setup(t)
	tx := f.signed(t, f.blockhash(t), f.payer, f.transfer(t, key(t).PublicKey(), 6, 1))
	f.wantRefused(t, tx, -32002, "is not the USDC mint")
}

func TestRefusesWrongDecimals(t *testing.T) {
	f := setup(t)
	tx := f.signed(t, f.blockhash(t), f.payer, f.transfer(t, f.mint, 9, 1))
	f.wantRefused(t, tx, -32002, "decimals 9")
}

func TestRefusesUnknownAndExpiredBlockhash(t *testing.T) {
	f := setup(t)
	unknown := f.signed(t, solana.Hash{7}, f.payer, f.transfer(t, f.mint, 6, 1))
	f.wantRefused(t, unknown, -32002, "Blockhash not found")

	bh := f.blockhash(t)
	f.srv.Advance(solanatest.BlockhashValidity + 1)
	expired := f.signed(t, bh, f.payer, f.transfer(t, f.mint, 6, 1))
	f.wantRefused(t, expired, -32002, "Blockhash not found")
}

func TestRefusesOtherPrograms(t *testing.T) {
	f := setup(t)
	lamports := system.NewTransferInstruction(1, f.payer.PublicKey(), f.owner.PublicKey()).Build()
	tx := f.signed(t, f.blockhash(t), f.payer, f.transfer(t, f.mint, 6, 1), lamports)
	f.wantRefused(t, tx, -32002, "not used by USDC payouts")
}

func TestRefusesDestinationThatIsNotAnOpenATA(t *testing.T) {
	f := setup(t)
	stranger := key(t).PublicKey() // no token account
	ix := token.NewTransferCheckedInstruction(1, 6, ata(t, f.payer.PublicKey(), f.mint), f.mint,
		ata(t, stranger, f.mint), f.payer.PublicKey(), nil).Build()
	f.wantRefused(t, f.signed(t, f.blockhash(t), f.payer, ix), -32002, "InvalidAccountData")
}

func TestRefusesCreateOfWrongATA(t *testing.T) {
	f := setup(t)
	stranger := key(t).PublicKey()
	wrongATA := ata(t, f.owner.PublicKey(), f.mint) // not stranger's
	create := solana.NewInstruction(solana.SPLAssociatedTokenAccountProgramID, solana.AccountMetaSlice{
		solana.Meta(f.payer.PublicKey()).WRITE().SIGNER(), solana.Meta(wrongATA).WRITE(), solana.Meta(stranger),
		solana.Meta(f.mint), solana.Meta(solana.SystemProgramID), solana.Meta(solana.TokenProgramID),
	}, []byte{1})
	tx := f.signed(t, f.blockhash(t), f.payer, create, f.transfer(t, f.mint, 6, 1))
	f.wantRefused(t, tx, -32002, "is not the associated token account")
}

func TestRefusesOverdraftInPreflight(t *testing.T) {
	f := setup(t)
	tx := f.signed(t, f.blockhash(t), f.payer, f.transfer(t, f.mint, 6, funds+1))
	f.wantRefused(t, tx, -32002, `{"Custom":1}`)
}

func TestDelayPastExpiryNeverLands(t *testing.T) {
	f := setup(t)
	f.srv.DelayNext(1, solanatest.BlockhashValidity+10)
	sig, err := f.send(f.signed(t, f.blockhash(t), f.payer, f.transfer(t, f.mint, 6, 5)))
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Advance(solanatest.BlockhashValidity + 20)
	if len(f.srv.Transfers()) != 0 {
		t.Fatal("landed after its blockhash expired")
	}
	res, err := f.rpc.GetSignatureStatuses(context.Background(), true, sig)
	if err != nil || res.Value[0] != nil {
		t.Fatalf("status = %+v, %v; want null", res, err)
	}
}

func TestStatusCacheNeedsHistorySearch(t *testing.T) {
	f := setup(t)
	sig, err := f.send(f.signed(t, f.blockhash(t), f.payer, f.transfer(t, f.mint, 6, 5)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := f.rpc.GetSignatureStatuses(ctx, false, sig)
	if err != nil || res.Value[0] == nil || res.Value[0].ConfirmationStatus != rpc.ConfirmationStatusConfirmed {
		t.Fatalf("fresh status = %+v, %v", res.Value, err)
	}
	f.srv.Advance(solanatest.StatusCacheBlocks + 1)
	if res, _ := f.rpc.GetSignatureStatuses(ctx, false, sig); res.Value[0] != nil {
		t.Fatal("old status served without searchTransactionHistory")
	}
	res, err = f.rpc.GetSignatureStatuses(ctx, true, sig)
	if err != nil || res.Value[0] == nil || res.Value[0].ConfirmationStatus != rpc.ConfirmationStatusFinalized {
		t.Fatalf("history status = %+v, %v", res.Value, err)
	}
}

func TestAccountInfoIsATokenAccount(t *testing.T) {
	f := setup(t)
	var acc token.Account
	if err := f.rpc.GetAccountDataInto(context.Background(), ata(t, f.payer.PublicKey(), f.mint), &acc); err != nil {
		t.Fatal(err)
	}
	if !acc.Mint.Equals(f.mint) || !acc.Owner.Equals(f.payer.PublicKey()) || acc.Amount != funds {
		t.Fatalf("token account = %+v", acc)
	}
	_, err := f.rpc.GetAccountInfo(context.Background(), key(t).PublicKey())
	if !errors.Is(err, rpc.ErrNotFound) {
		t.Fatalf("missing account: %v, want ErrNotFound", err)
	}
}

func TestAdvancePerCall(t *testing.T) {
	f := setup(t)
	f.srv.AdvancePerCall(2)
	h1, _ := f.rpc.GetBlockHeight(context.Background(), rpc.CommitmentFinalized)
	h2, _ := f.rpc.GetBlockHeight(context.Background(), rpc.CommitmentFinalized)
	if h2 != h1+2 {
		t.Fatalf("heights %d then %d, want +2", h1, h2)
	}
}

func TestUnknownMethod(t *testing.T) {
	f := setup(t)
	body := `{"jsonrpc":"2.0","id":1,"method":"getBalance","params":[]}`
	resp, err := http.Post(f.srv.URL(), "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error struct{ Code int } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Error.Code != -32601 {
		t.Fatalf("unknown method answered %+v, %v", out, err)
	}
}
