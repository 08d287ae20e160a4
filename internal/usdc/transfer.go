package usdc

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/token"
	"github.com/gagliardetto/solana-go/rpc"
)

// ataCreateIdempotent is the associated-token-account program's
// CreateIdempotent instruction index. solana-go only has Create (index 0),
// which fails if the account appeared meanwhile; the idempotent variant
// makes the transaction land either way.
const ataCreateIdempotent byte = 1

// Prepared is a signed, unsent transfer. Store Signature and
// LastValidBlockHeight before sending Raw: they are what Status needs after
// a crash.
type Prepared struct {
	Signature            string // base58 transaction signature (its id)
	Raw                  []byte // serialized signed transaction
	LastValidBlockHeight uint64 // past this block height it can never land
	Blockhash            string // recent blockhash the transaction names
}

// BuildTransfer signs, without sending, a transfer of amountBaseUnits USDC
// to destOwner's associated token account, creating that account if it does
// not exist yet.
func (c *Client) BuildTransfer(ctx context.Context, destOwner solana.PublicKey, amountBaseUnits uint64) (Prepared, error) {
	return c.BuildTransferMemo(ctx, destOwner, amountBaseUnits, "")
}

// BuildTransferMemo is BuildTransfer with a memo (say, the payout id) written
// on chain. Besides tracing, it keeps two equal payouts to the same owner
// built under the same blockhash from being the very same transaction (and
// signature), which the cluster would run only once.
func (c *Client) BuildTransferMemo(ctx context.Context, destOwner solana.PublicKey, amountBaseUnits uint64, memo string) (Prepared, error) {
	if err := c.checkTransfer(destOwner, amountBaseUnits, memo); err != nil {
		return Prepared{}, err
	}
	bh, err := c.latestBlockhash(ctx)
	if err != nil {
		return Prepared{}, err
	}
	ixs, err := c.instructions(ctx, destOwner, amountBaseUnits, memo)
	if err != nil {
		return Prepared{}, err
	}
	return c.sign(ixs, bh)
}

func (c *Client) checkTransfer(destOwner solana.PublicKey, amount uint64, memo string) error {
	switch {
	case c.err != nil:
		return c.err
	case amount == 0:
		return errors.New("usdc: transfer amount is zero")
	case !destOwner.IsOnCurve():
		return ErrOffCurveAddress
	case destOwner.Equals(c.owner):
		return errors.New("usdc: destination is the payer itself")
	case len(memo) > MaxMemoBytes:
		return fmt.Errorf("usdc: memo has %d bytes, at most %d", len(memo), MaxMemoBytes)
	case !utf8.ValidString(memo):
		return errors.New("usdc: memo is not UTF-8") // the memo program rejects it
	}
	return nil
}

func (c *Client) latestBlockhash(ctx context.Context) (*rpc.LatestBlockhashResult, error) {
	ctx, cancel := callCtx(ctx)
	defer cancel()
	res, err := c.rpc.GetLatestBlockhash(ctx, Commitment)
	if err != nil {
		return nil, fmt.Errorf("usdc: getLatestBlockhash: %w", err)
	}
	if res == nil || res.Value == nil || res.Value.Blockhash.IsZero() {
		return nil, errors.New("usdc: getLatestBlockhash returned no blockhash")
	}
	return res.Value, nil
}

// instructions are [create recipient ATA if missing], TransferChecked, [memo].
func (c *Client) instructions(ctx context.Context, destOwner solana.PublicKey, amount uint64, memo string) ([]solana.Instruction, error) {
	dstATA, _, err := solana.FindAssociatedTokenAddress(destOwner, c.mint)
	if err != nil {
		return nil, fmt.Errorf("usdc: derive recipient token account: %w", err)
	}
	var ixs []solana.Instruction
	exists, err := c.accountExists(ctx, dstATA)
	if err != nil {
		return nil, err
	}
	if !exists {
		ixs = append(ixs, c.createATAIdempotent(destOwner, dstATA))
	}
	transfer, err := token.NewTransferCheckedInstruction(
		amount, Decimals, c.srcATA, c.mint, dstATA, c.owner, nil).ValidateAndBuild()
	if err != nil {
		return nil, fmt.Errorf("usdc: build transfer: %w", err)
	}
	ixs = append(ixs, transfer)
	if memo != "" {
		ixs = append(ixs, solana.NewInstruction(solana.MemoProgramID,
			solana.AccountMetaSlice{solana.Meta(c.owner).SIGNER()}, []byte(memo)))
	}
	return ixs, nil
}

// accountExists reads at finalized commitment: an account opened moments ago
// may look missing, and is then "created" again by the idempotent
// instruction, which is harmless.
func (c *Client) accountExists(ctx context.Context, acct solana.PublicKey) (bool, error) {
	ctx, cancel := callCtx(ctx)
	defer cancel()
	_, err := c.rpc.GetAccountInfoWithOpts(ctx, acct, &rpc.GetAccountInfoOpts{Commitment: Commitment})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, rpc.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("usdc: getAccountInfo %s: %w", acct, err)
	}
}

// createATAIdempotent is the associated-token-account program's
// CreateIdempotent, with the same accounts as solana-go's Create.
func (c *Client) createATAIdempotent(wallet, ata solana.PublicKey) solana.Instruction {
	accounts := solana.AccountMetaSlice{
		solana.Meta(c.owner).WRITE().SIGNER(), // funds the rent
		solana.Meta(ata).WRITE(),
		solana.Meta(wallet),
		solana.Meta(c.mint),
		solana.Meta(solana.SystemProgramID),
		solana.Meta(solana.TokenProgramID),
	}
	return solana.NewInstruction(solana.SPLAssociatedTokenAccountProgramID, accounts, []byte{ataCreateIdempotent})
}

// sign builds the transaction with the payer as fee payer and signs it.
func (c *Client) sign(ixs []solana.Instruction, bh *rpc.LatestBlockhashResult) (Prepared, error) {
	tx, err := solana.NewTransaction(ixs, bh.Blockhash, solana.TransactionPayer(c.owner))
	if err != nil {
		return Prepared{}, fmt.Errorf("usdc: build transaction: %w", err)
	}
	sigs, err := tx.Sign(func(k solana.PublicKey) *solana.PrivateKey {
		if k.Equals(c.owner) {
			return &c.payer
		}
		return nil
	})
	if err != nil {
		return Prepared{}, fmt.Errorf("usdc: sign: %w", err)
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return Prepared{}, fmt.Errorf("usdc: serialize: %w", err)
	}
	if len(raw) > MaxTransactionBytes {
		return Prepared{}, fmt.Errorf("usdc: transaction has %d bytes, at most %d", len(raw), MaxTransactionBytes)
	}
	return Prepared{
		Signature:            sigs[0].String(),
		Raw:                  raw,
		LastValidBlockHeight: bh.LastValidBlockHeight,
		Blockhash:            bh.Blockhash.String(),
	}, nil
}
