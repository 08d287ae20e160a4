package usdc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
)

// Limits and timeouts.
const (
	// Decimals is USDC's mint decimals; TransferChecked makes the token
	// program refuse the transfer if the mint disagrees, so a wrong mint
	// or unit mix-up fails instead of paying a wrong amount.
	Decimals uint8 = 6

	// BaseUnitsPerCredit: a credit is $0.01 and a USDC is 10^6 base units.
	BaseUnitsPerCredit = 10_000

	// MicroCreditsPerBaseUnit: 10^6 micro-credits per credit / 10,000.
	MicroCreditsPerBaseUnit = 100

	// MaxMemoBytes bounds a payout memo so that the transaction stays well
	// under the cluster's packet size (MaxTransactionBytes).
	MaxMemoBytes = 128

	// MaxTransactionBytes is Solana's PACKET_DATA_SIZE: a larger serialized
	// transaction is refused by every node, so it is refused here first.
	MaxTransactionBytes = 1232

	// RPCCallTimeout bounds one JSON-RPC call. The library's own HTTP
	// timeout is 5 minutes, longer than a payout activity should hang on a
	// stuck node; the caller's context can still cut it shorter.
	RPCCallTimeout = 20 * time.Second

	// Commitment is used for the blockhash, the preflight and the block
	// height. A finalized blockhash is never on an abandoned fork, and the
	// preflight must use the same level or it may not know the blockhash.
	// A finalized block height past LastValidBlockHeight proves that no
	// block that could still include the transaction will ever be added.
	Commitment = rpc.CommitmentFinalized
)

// Config is what a Client needs: the RPC endpoint, the payer's keypair (it
// owns the source USDC account and pays fees and new token accounts' rent)
// and the USDC mint.
type Config struct {
	RPCURL string
	Payer  solana.PrivateKey
	Mint   solana.PublicKey
}

// Validate reports a config that cannot sign a transfer.
func (c Config) Validate() error {
	if c.RPCURL == "" {
		return errors.New("usdc: RPCURL is empty")
	}
	if err := checkKeypair(c.Payer); err != nil {
		return err
	}
	if c.Mint.IsZero() {
		return errors.New("usdc: Mint is not set")
	}
	return nil
}

// Client builds, sends and checks USDC transfers from one payer. It holds no
// payout state and is safe for concurrent use.
type Client struct {
	rpc    *rpc.Client
	payer  solana.PrivateKey
	owner  solana.PublicKey // payer's public key
	mint   solana.PublicKey
	srcATA solana.PublicKey // payer's USDC token account
	err    error            // config error, returned by every call
}

// New returns a Client. A bad config is not a panic: every method then
// returns the config's error, so a worker starts and reports it per payout.
func New(cfg Config) *Client {
	c := &Client{rpc: rpc.New(cfg.RPCURL), payer: cfg.Payer, mint: cfg.Mint}
	if c.err = cfg.Validate(); c.err != nil {
		return c
	}
	c.owner = cfg.Payer.PublicKey()
	c.srcATA, _, c.err = solana.FindAssociatedTokenAddress(c.owner, c.mint)
	return c
}

// Payer is the public key that signs and pays for transfers.
func (c *Client) Payer() solana.PublicKey { return c.owner }

// BaseUnitsFromMicroCredits converts a payout in micro-credits to USDC base
// units, refusing negative amounts and amounts that do not divide exactly
// (rounding money silently is never right).
func BaseUnitsFromMicroCredits(micro int64) (uint64, error) {
	if micro <= 0 {
		return 0, fmt.Errorf("usdc: payout of %d micro-credits is not positive", micro)
	}
	if micro%MicroCreditsPerBaseUnit != 0 {
		return 0, fmt.Errorf("usdc: %d micro-credits is not a whole number of USDC base units", micro)
	}
	return uint64(micro / MicroCreditsPerBaseUnit), nil
}

// callCtx bounds one RPC call by RPCCallTimeout.
func callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, RPCCallTimeout)
}
