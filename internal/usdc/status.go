package usdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
)

// State is where a transfer's signature stands.
type State string

const (
	// Pending: not settled yet. Either not seen, with its blockhash still
	// usable, or seen only at "processed" (its fork may still be dropped).
	// Do not re-sign: the transaction may still land. Ask again later.
	Pending State = "pending"
	// Confirmed: landed without error at confirmed or finalized commitment.
	// The payout is done.
	Confirmed State = "confirmed"
	// Failed: landed with an on-chain error (Status.Err); nothing was
	// transferred and this transaction can never run again, so a new one
	// may be built, once the cause is dealt with.
	Failed State = "failed"
	// Expired: never seen, and the finalized block height is past its
	// LastValidBlockHeight, so it can never land. Rebuild and re-sign.
	Expired State = "expired"
)

// Status is the answer of Client.Status.
type Status struct {
	State State
	Err   string // the on-chain error, when State is Failed
	Slot  uint64 // the slot it landed in, when Confirmed or Failed
}

// Status says where signature stands. The block height is read before the
// signature's status: read the other way round, a transaction landing in
// between could be declared Expired and so paid twice.
func (c *Client) Status(ctx context.Context, signature string, lastValidBlockHeight uint64) (Status, error) {
	if c.err != nil {
		return Status{}, c.err
	}
	sig, err := solana.SignatureFromBase58(signature)
	if err != nil {
		return Status{}, fmt.Errorf("usdc: bad signature %q: %w", signature, err)
	}
	if lastValidBlockHeight == 0 {
		// A lost height would make every unseen transfer look Expired,
		// inviting a second payment while the first can still land.
		return Status{}, errors.New("usdc: lastValidBlockHeight is 0; pass the stored Prepared.LastValidBlockHeight")
	}
	height, err := c.blockHeight(ctx)
	if err != nil {
		return Status{}, err
	}
	st, err := c.signatureStatus(ctx, sig)
	if err != nil {
		return Status{}, err
	}
	if st != nil {
		return landedStatus(st)
	}
	if height > lastValidBlockHeight {
		return Status{State: Expired}, nil
	}
	return Status{State: Pending}, nil
}

func (c *Client) blockHeight(ctx context.Context) (uint64, error) {
	ctx, cancel := callCtx(ctx)
	defer cancel()
	h, err := c.rpc.GetBlockHeight(ctx, Commitment)
	if err != nil {
		return 0, fmt.Errorf("usdc: getBlockHeight: %w", err)
	}
	return h, nil
}

// signatureStatus is nil when the cluster has no record of sig. It searches
// the whole ledger history: the recent status cache alone forgets a
// transaction after about a minute, which would look like "never landed".
func (c *Client) signatureStatus(ctx context.Context, sig solana.Signature) (*rpc.SignatureStatusesResult, error) {
	ctx, cancel := callCtx(ctx)
	defer cancel()
	res, err := c.rpc.GetSignatureStatuses(ctx, true, sig)
	if err != nil {
		return nil, fmt.Errorf("usdc: getSignatureStatuses: %w", err)
	}
	if len(res.Value) != 1 {
		return nil, fmt.Errorf("usdc: getSignatureStatuses returned %d statuses for 1 signature", len(res.Value))
	}
	return res.Value[0], nil
}

// landedStatus reads a status the cluster has. Only confirmed or finalized
// counts as landed: a "processed" result, even a failure, may be on a fork
// that is dropped, after which the transaction can still land elsewhere.
func landedStatus(st *rpc.SignatureStatusesResult) (Status, error) {
	if !settled(st) {
		return Status{State: Pending}, nil
	}
	if st.Err == nil {
		return Status{State: Confirmed, Slot: st.Slot}, nil
	}
	text, err := json.Marshal(st.Err)
	if err != nil {
		text = fmt.Appendf(nil, "%v", st.Err)
	}
	return Status{State: Failed, Err: string(text), Slot: st.Slot}, nil
}

func settled(st *rpc.SignatureStatusesResult) bool {
	switch st.ConfirmationStatus {
	case rpc.ConfirmationStatusConfirmed, rpc.ConfirmationStatusFinalized:
		return true
	case "":
		return st.Confirmations == nil // old nodes: null confirmations means rooted
	default:
		return false
	}
}
