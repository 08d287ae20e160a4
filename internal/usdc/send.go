package usdc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
)

// Send submits p.Raw exactly as signed, with preflight simulation on. A
// transaction the cluster has already processed counts as sent. An error
// does not mean the transaction will not land (a timed-out request may have
// reached the node): ask Status.
func (c *Client) Send(ctx context.Context, p Prepared) error {
	if c.err != nil {
		return c.err
	}
	if err := checkPrepared(p); err != nil {
		return err
	}
	ctx, cancel := callCtx(ctx)
	defer cancel()
	sig, err := c.rpc.SendRawTransactionWithOpts(ctx, p.Raw, rpc.TransactionOpts{
		SkipPreflight:       false, // let the node refuse a doomed transaction up front
		PreflightCommitment: Commitment,
	})
	if err != nil {
		if isAlreadyProcessed(err) {
			return nil
		}
		return fmt.Errorf("usdc: sendTransaction %s: %w", p.Signature, err)
	}
	if sig.String() != p.Signature {
		return fmt.Errorf("usdc: node answered signature %s for %s", sig, p.Signature)
	}
	return nil
}

// checkPrepared makes sure Raw is the transaction whose signature the caller
// stored: sending anything else would break the "stored before sent" rule.
func checkPrepared(p Prepared) error {
	if len(p.Raw) == 0 {
		return errors.New("usdc: prepared transaction is empty")
	}
	tx, err := solana.TransactionFromBytes(p.Raw)
	if err != nil {
		return fmt.Errorf("usdc: prepared transaction does not decode: %w", err)
	}
	if len(tx.Signatures) == 0 || tx.Signatures[0].String() != p.Signature {
		return errors.New("usdc: prepared transaction's signature differs from Prepared.Signature")
	}
	return nil
}

// isAlreadyProcessed recognises the node's answer to a resend of a
// transaction that already landed ("This transaction has already been
// processed", error AlreadyProcessed).
func isAlreadyProcessed(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "already been processed") || strings.Contains(msg, "alreadyprocessed")
}
