package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/gagliardetto/solana-go"
	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/temporal"

	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/usdc"
	"github.com/officex/officex/workflows"
)

// Payouts are the activities of PayoutWorkflow and PayoutBatchWorkflow.
type Payouts struct {
	Payouts *payouts.Service
	Stripe  *client.API
	USDC    *usdc.Client // nil when USDC payouts are not configured
}

// PayoutIdempotencyKey keys every Stripe call of a payout: a retried
// activity gets Stripe's first answer, never a second transfer.
func PayoutIdempotencyKey(payoutID, step string) string {
	return "officex-payout-" + payoutID + "-" + step
}

func (a *Payouts) load(ctx context.Context, id string) (payouts.Payout, error) {
	pid, err := uuid.Parse(id)
	if err != nil {
		return payouts.Payout{}, temporal.NewNonRetryableApplicationError("bad payout id", "BadInput", err)
	}
	return a.Payouts.Get(ctx, pid)
}

// BurnPayout burns the held credits. Idempotent through the payout's status.
func (a *Payouts) BurnPayout(ctx context.Context, id string) (workflows.PayoutState, error) {
	pid, err := uuid.Parse(id)
	if err != nil {
		return workflows.PayoutState{}, err
	}
	p, err := a.Payouts.Burn(ctx, pid)
	if errors.Is(err, payouts.ErrWrongState) {
		return workflows.PayoutState{}, temporal.NewNonRetryableApplicationError(err.Error(), "NotApproved", err)
	}
	return workflows.PayoutState{Status: p.Status, Type: p.Type}, err
}

// StripeTransfer pays a connected account. Idempotent by the payout's key.
func (a *Payouts) StripeTransfer(ctx context.Context, id string) (string, error) {
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	params := &stripe.TransferParams{Amount: stripe.Int64(p.PayoutAmount), Currency: stripe.String(string(stripe.CurrencyUSD)),
		Destination: stripe.String(p.Account), TransferGroup: stripe.String("payout-" + id)}
	params.Context = ctx
	params.AddMetadata("payout_id", id)
	params.SetIdempotencyKey(PayoutIdempotencyKey(id, "transfer"))
	tr, err := a.Stripe.Transfers.New(params)
	if err != nil {
		return "", stripeError(err, workflows.PayoutRejectedError)
	}
	return tr.ID, a.Payouts.RecordAttempt(ctx, p.ID, "Stripe transfer "+tr.ID)
}

// StripeBankPayout pays the connected account's bank account. Idempotent by
// the payout's key.
func (a *Payouts) StripeBankPayout(ctx context.Context, id string) (string, error) {
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	params := &stripe.PayoutParams{Amount: stripe.Int64(p.PayoutAmount), Currency: stripe.String(string(stripe.CurrencyUSD)),
		Destination: stripe.String(p.Account)}
	params.Context = ctx
	params.AddMetadata("payout_id", id)
	params.SetStripeAccount(p.ConnectedAccount)
	params.SetIdempotencyKey(PayoutIdempotencyKey(id, "bank"))
	po, err := a.Stripe.Payouts.New(params)
	if err != nil {
		return "", stripeError(err, workflows.PayoutRejectedError)
	}
	return po.ID, a.Payouts.RecordAttempt(ctx, p.ID, "Stripe payout "+po.ID)
}

// StripePayoutStatus reads a bank payout's status. It only reads.
func (a *Payouts) StripePayoutStatus(ctx context.Context, id, stripePayoutID string) (string, error) {
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	params := &stripe.PayoutParams{}
	params.Context = ctx
	params.SetStripeAccount(p.ConnectedAccount)
	po, err := a.Stripe.Payouts.Get(stripePayoutID, params)
	if err != nil {
		return "", stripeError(err, workflows.PayoutRejectedError)
	}
	return string(po.Status), nil
}

func (a *Payouts) usdcClient() (*usdc.Client, error) {
	if a.USDC == nil {
		return nil, errors.New("USDC payouts are not configured (SOLANA_RPC_URL, SOLANA_PAYER_KEYPAIR, USDC_MINT)")
	}
	return a.USDC, nil
}

// PrepareUSDC signs the USDC transfer and stores it before anything is sent.
// Idempotent: a stored transaction is returned as it is, never re-signed.
func (a *Payouts) PrepareUSDC(ctx context.Context, id string) (string, error) {
	c, err := a.usdcClient()
	if err != nil {
		return "", err
	}
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	if stored, ok, err := a.Payouts.StoredSolanaAttempt(ctx, p.ID); err != nil || ok {
		return stored.Signature, err
	}
	owner, err := solana.PublicKeyFromBase58(p.Account)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("bad Solana address", workflows.PayoutRejectedError, err)
	}
	prep, err := c.BuildTransferMemo(ctx, owner, uint64(p.PayoutAmount), "officex-payout:"+id)
	if err != nil {
		return "", fmt.Errorf("build transfer: %w", err)
	}
	if err := a.Payouts.StoreSolanaAttempt(ctx, p.ID, payouts.SolanaAttempt{Signature: prep.Signature, Tx: prep.Raw,
		ValidUntil: prep.LastValidBlockHeight}); err != nil {
		return "", err
	}
	stored, _, err := a.Payouts.StoredSolanaAttempt(ctx, p.ID) // the stored one wins a race
	return stored.Signature, err
}

func (a *Payouts) stored(ctx context.Context, id string) (*usdc.Client, usdc.Prepared, error) {
	c, err := a.usdcClient()
	if err != nil {
		return nil, usdc.Prepared{}, err
	}
	pid, err := uuid.Parse(id)
	if err != nil {
		return nil, usdc.Prepared{}, err
	}
	s, ok, err := a.Payouts.StoredSolanaAttempt(ctx, pid)
	if err != nil {
		return nil, usdc.Prepared{}, err
	}
	if !ok {
		return nil, usdc.Prepared{}, errors.New("no stored Solana transaction")
	}
	return c, usdc.Prepared{Signature: s.Signature, Raw: s.Tx, LastValidBlockHeight: s.ValidUntil}, nil
}

// SendUSDC sends the stored transaction. Idempotent: the chain accepts a
// signature once. A send error proves nothing, so it is left to USDCStatus.
func (a *Payouts) SendUSDC(ctx context.Context, id string) error {
	c, p, err := a.stored(ctx, id)
	if err != nil {
		return err
	}
	_ = c.Send(ctx, p)
	return nil
}

// USDCStatus checks the stored transaction by signature. It only reads.
func (a *Payouts) USDCStatus(ctx context.Context, id string) (workflows.USDCCheck, error) {
	c, p, err := a.stored(ctx, id)
	if err != nil {
		return workflows.USDCCheck{}, err
	}
	st, err := c.Status(ctx, p.Signature, p.LastValidBlockHeight)
	if err != nil {
		return workflows.USDCCheck{}, err
	}
	return workflows.USDCCheck{Signature: p.Signature, State: string(st.State), Err: st.Err}, nil
}

// ClearUSDC forgets a transaction that expired unseen. Idempotent: it only
// clears that signature.
func (a *Payouts) ClearUSDC(ctx context.Context, id, signature string) error {
	pid, err := uuid.Parse(id)
	if err != nil {
		return err
	}
	return a.Payouts.ClearSolanaAttempt(ctx, pid, signature)
}

// CompletePayout marks the payout paid. Idempotent through its status.
func (a *Payouts) CompletePayout(ctx context.Context, id, ref string) error {
	pid, err := uuid.Parse(id)
	if err != nil {
		return err
	}
	return a.Payouts.Complete(ctx, pid, ref)
}

// FailPayout restores the credits and marks the payout failed. Idempotent
// through its status.
func (a *Payouts) FailPayout(ctx context.Context, id, reason string) error {
	pid, err := uuid.Parse(id)
	if err != nil {
		return err
	}
	return a.Payouts.Fail(ctx, pid, reason)
}

// StartPayoutBatch opens the period's batch. Idempotent: a payout joins one batch.
func (a *Payouts) StartPayoutBatch(ctx context.Context, period, trigger string) (workflows.PayoutBatchStart, error) {
	batch, ids, err := a.Payouts.StartBatch(ctx, period, trigger)
	if errors.Is(err, payouts.ErrInvalid) {
		return workflows.PayoutBatchStart{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadInput", err)
	}
	if err != nil {
		return workflows.PayoutBatchStart{}, err
	}
	out := workflows.PayoutBatchStart{BatchID: batch.String()}
	for _, id := range ids {
		out.PayoutIDs = append(out.PayoutIDs, id.String())
	}
	return out, nil
}

// FinishPayoutBatch records the batch's counts. Idempotent: it recounts.
func (a *Payouts) FinishPayoutBatch(ctx context.Context, batchID string) (workflows.PayoutBatchResult, error) {
	id, err := uuid.Parse(batchID)
	if err != nil {
		return workflows.PayoutBatchResult{}, err
	}
	b, err := a.Payouts.FinishBatch(ctx, id)
	if err != nil {
		return workflows.PayoutBatchResult{}, err
	}
	return workflows.PayoutBatchResult{Period: b.Period, Payouts: b.Payouts, Completed: b.Completed, Failed: b.Failed,
		TotalCredits: b.TotalCredits.String()}, nil
}
