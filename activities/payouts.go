package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
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
	return workflows.PayoutState{Status: p.Status, Type: p.Type, VendorID: p.RequestedBy.String(), AppID: p.AppID.String(),
		WalletID: p.WalletID.String(), Account: p.Account, Amount: int64(p.Amount)}, err
}

// How a payout never pays twice through Stripe (DESIGN.md section 6):
//
//   - The transfer or bank payout id is stored on the payout row by the very
//     activity that learns it (StoreStripeID), before anything acts on it. A
//     row with an id is only read, never created again, by any later run.
//   - Before the first create is sent, its time is stored (BeginStripeCreate).
//     A row with that time and no id means a create may have reached Stripe
//     and its answer was lost (a crash, a dropped connection).
//   - Every create carries an idempotency key derived from the payout id
//     alone, so within Stripe's 24 hours a repeat gets the first answer.
//   - Beyond that, Stripe forgets the key. A transfer is then found by its
//     transfer_group (payout-<id>, checked against metadata payout_id) before
//     any new create; transfers can be listed by group. Bank payouts cannot
//     be listed by metadata, so a bank payout whose create went unanswered
//     for stripeRecreateWindow is not created again: the payout goes to
//     needs_review with an alert, and an operator decides (Payouts.Review).
//   - Only a create that Stripe refuses (a 4xx on the create: no such
//     account, missing capability) fails a payout and restores its credits.
//     A read that fails is retried and alerts; it never restores.

// stripeRecreateWindow is how long after the first create a create may be
// sent again with the same key: Stripe keeps keys 24 hours; the hour of
// margin covers clocks and a request queued at the edge.
const stripeRecreateWindow = 23 * time.Hour

// statusAlertAfter is how many failed status reads in a row raise an alert
// (an error log and the payout's alert in the admin view).
const statusAlertAfter = 3

// maxTransferSearch bounds the transfers read in a payout's transfer group.
const maxTransferSearch = 100

func payoutTransferGroup(id string) string { return "payout-" + id }

// wrongState refuses to pay a payout that is not burned: only BurnPayout
// lets money leave.
func wrongState(p payouts.Payout) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("payout %s is %s, not burned", p.ID, p.Status), "WrongState", nil)
}

// needsReview stops the payout for an operator: it may have been paid.
func (a *Payouts) needsReview(ctx context.Context, p payouts.Payout, reason string) error {
	logger(ctx).Error("payout needs review", "payout_id", p.ID.String(), "reason", reason)
	if err := a.Payouts.MarkNeedsReview(ctx, p.ID, reason); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(reason, workflows.PayoutNeedsReviewError, nil)
}

// StripeTransfer pays a connected account with one transfer. Idempotent by
// the payout id: a stored transfer id is read, never paid again; an
// unanswered earlier create is found by its transfer group before a new one;
// every create carries the payout's idempotency key.
func (a *Payouts) StripeTransfer(ctx context.Context, id string) (string, error) {
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	return a.transfer(ctx, p, transferSlot{dest: p.Account, stored: p.StripeID, step: "transfer",
		begin: a.Payouts.BeginStripeCreate, store: a.Payouts.StoreStripeID})
}

// BankTransfer moves a bank payout's money to its connected account, the
// step before StripeBankPayout pays it out from there. Idempotent as
// StripeTransfer, with the transfer id stored in its own column.
func (a *Payouts) BankTransfer(ctx context.Context, id string) (string, error) {
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	if p.Type != payouts.TypeBank {
		return "", temporal.NewNonRetryableApplicationError("payout "+id+" is not a bank payout", "WrongState", nil)
	}
	return a.transfer(ctx, p, transferSlot{dest: p.ConnectedAccount, stored: p.TransferID, step: "bank-transfer",
		begin: a.Payouts.BeginTransferCreate, store: a.Payouts.StoreTransferID})
}

// transferSlot is where a payout's transfer id lives and how its create is
// noted: the Stripe object of a stripe payout, the first step of a bank one.
type transferSlot struct {
	dest, stored, step string
	begin              func(context.Context, uuid.UUID) (payouts.StripeCreate, error)
	store              func(ctx context.Context, id uuid.UUID, stripeID, detail string) error
}

func (a *Payouts) transfer(ctx context.Context, p payouts.Payout, slot transferSlot) (string, error) {
	id := p.ID.String()
	if p.Status != "burned" {
		return "", wrongState(p)
	}
	if slot.stored != "" {
		params := &stripe.TransferParams{}
		params.Context = ctx
		tr, err := a.Stripe.Transfers.Get(slot.stored, params)
		if err != nil {
			return "", fmt.Errorf("read transfer %s of payout %s: %v", slot.stored, id, err) // a read never refuses
		}
		return tr.ID, nil
	}
	c, err := slot.begin(ctx, p.ID)
	if err != nil {
		return "", err
	}
	if c.SentBefore {
		found, err := a.findTransfer(ctx, id)
		if err != nil {
			return "", err
		}
		if found != "" {
			return found, slot.store(ctx, p.ID, found, "Stripe transfer "+found+" (found after an unanswered create)")
		}
	}
	params := &stripe.TransferParams{Amount: stripe.Int64(p.PayoutAmount), Currency: stripe.String(string(stripe.CurrencyUSD)),
		Destination: stripe.String(slot.dest), TransferGroup: stripe.String(payoutTransferGroup(id))}
	params.Context = ctx
	params.AddMetadata("payout_id", id)
	params.SetIdempotencyKey(PayoutIdempotencyKey(id, slot.step))
	tr, err := a.Stripe.Transfers.New(params)
	if err != nil {
		return "", a.createError(ctx, p, err)
	}
	return tr.ID, slot.store(ctx, p.ID, tr.ID, "Stripe transfer "+tr.ID+" to "+slot.dest)
}

// findTransfer returns the transfer of the payout's transfer group, if one
// was created, checked against its metadata.
func (a *Payouts) findTransfer(ctx context.Context, id string) (string, error) {
	params := &stripe.TransferListParams{TransferGroup: stripe.String(payoutTransferGroup(id))}
	params.Context = ctx
	params.Limit = stripe.Int64(maxTransferSearch)
	params.Single = true
	it := a.Stripe.Transfers.List(params)
	var found []string
	for it.Next() {
		if tr := it.Transfer(); tr.TransferGroup == payoutTransferGroup(id) && tr.Metadata["payout_id"] == id {
			found = append(found, tr.ID)
		}
	}
	if err := it.Err(); err != nil {
		return "", fmt.Errorf("search transfers of payout %s: %v", id, err) // a read never refuses
	}
	if len(found) > 1 {
		return "", fmt.Errorf("payout %s has %d transfers (%v): %w", id, len(found), found, payouts.ErrOtherStripeObject)
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return "", nil
}

// StripeBankPayout pays the connected account's bank account with one
// Stripe payout. Idempotent by the payout id: a stored payout id is returned
// to be read, never paid again; a create is sent again (same idempotency
// key, so Stripe answers the first) only within stripeRecreateWindow of the
// first, and after it the payout goes to review instead.
func (a *Payouts) StripeBankPayout(ctx context.Context, id string) (string, error) {
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	if p.Status != "burned" {
		return "", wrongState(p)
	}
	if p.StripeID != "" {
		return p.StripeID, nil // StripePayoutStatus reads it
	}
	c, err := a.Payouts.BeginStripeCreate(ctx, p.ID)
	if err != nil {
		return "", err
	}
	if c.SentBefore && c.SinceFirst >= stripeRecreateWindow {
		return "", a.needsReview(ctx, p, fmt.Sprintf("a bank payout create sent %s ago got no stored answer and Stripe may have "+
			"forgotten its idempotency key: look for a payout with metadata payout_id=%s on %s", c.SinceFirst.Round(time.Minute), id, p.ConnectedAccount))
	}
	params := &stripe.PayoutParams{Amount: stripe.Int64(p.PayoutAmount), Currency: stripe.String(string(stripe.CurrencyUSD)),
		Destination: stripe.String(p.Account)}
	params.Context = ctx
	params.AddMetadata("payout_id", id)
	params.SetStripeAccount(p.ConnectedAccount)
	params.SetIdempotencyKey(PayoutIdempotencyKey(id, "bank"))
	po, err := a.Stripe.Payouts.New(params)
	if err != nil {
		return "", a.createError(ctx, p, err)
	}
	return po.ID, a.Payouts.StoreStripeID(ctx, p.ID, po.ID, "Stripe payout "+po.ID)
}

// createError classifies a failed create: Stripe's refusal of the request
// fails the payout; an idempotency error (the key was used for another
// request) means something was sent before, so the payout goes to review;
// anything else is retried.
func (a *Payouts) createError(ctx context.Context, p payouts.Payout, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeIdempotency {
		return a.needsReview(ctx, p, "Stripe refused the payout's idempotency key: "+se.Msg)
	}
	return stripeError(err, workflows.PayoutRejectedError)
}

// StripePayoutStatus reads a bank payout's status. It only reads, and a
// failed read (even a 400 or 404) is an error to retry, never a refusal:
// the payout exists. From the statusAlertAfter-th failure in a row it logs
// an error and sets the payout's alert; a good read clears it.
func (a *Payouts) StripePayoutStatus(ctx context.Context, id, stripePayoutID string) (string, error) {
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	return a.readBankPayout(ctx, p, stripePayoutID)
}

func (a *Payouts) readBankPayout(ctx context.Context, p payouts.Payout, stripePayoutID string) (string, error) {
	id := p.ID.String()
	params := &stripe.PayoutParams{}
	params.Context = ctx
	params.SetStripeAccount(p.ConnectedAccount)
	po, err := a.Stripe.Payouts.Get(stripePayoutID, params)
	if err != nil {
		if activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt >= statusAlertAfter {
			attempt := activity.GetInfo(ctx).Attempt
			logger(ctx).Error("bank payout status unreadable", "payout_id", id, "stripe_payout", stripePayoutID, "attempt", attempt, "error", err)
			if aErr := a.Payouts.Alert(ctx, p.ID, fmt.Sprintf("status of Stripe payout %s unreadable (%d reads): %v", stripePayoutID, attempt, err)); aErr != nil {
				return "", aErr
			}
		}
		return "", fmt.Errorf("read Stripe payout %s of payout %s: %v", stripePayoutID, id, err)
	}
	if p.Alert != "" {
		if err := a.Payouts.ClearAlert(ctx, p.ID); err != nil {
			return "", err
		}
	}
	return string(po.Status), nil
}

// AwaitBankPayout answers a bank payout's final status (paid, failed or
// canceled). What Stripe's webhook reported first is answered as stored;
// otherwise the payout is read from Stripe. While it is neither, it fails
// with the retryable BankPayoutPendingError, and Temporal retries it with
// backoff until workflows.BankPayoutWaitFor: one activity in the history
// however long the bank takes. It only reads, so any retry is safe; a
// failed read is retried and alerts (readBankPayout), never refuses.
func (a *Payouts) AwaitBankPayout(ctx context.Context, id, stripePayoutID string) (string, error) {
	p, err := a.load(ctx, id)
	if err != nil {
		return "", err
	}
	if p.StripeID != stripePayoutID {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("payout %s stores Stripe payout %q, not %s", id, p.StripeID, stripePayoutID),
			"WrongState", nil)
	}
	if p.BankStatus != "" {
		return p.BankStatus, nil
	}
	status, err := a.readBankPayout(ctx, p, stripePayoutID)
	if err != nil {
		return "", err
	}
	switch status {
	case payouts.BankPaid, payouts.BankFailed, payouts.BankCanceled:
		return status, nil
	}
	return "", temporal.NewApplicationError("bank payout "+stripePayoutID+" is "+status, workflows.BankPayoutPendingError)
}

// logger is the activity's logger, or the default one outside an activity
// (a test calling an activity directly).
func logger(ctx context.Context) log.Logger {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return log.NewStructuredLogger(slog.Default())
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
