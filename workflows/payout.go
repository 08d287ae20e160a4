package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/officex/officex/ledger"
)

// PayoutWorkflowID is the workflow id of one payout.
func PayoutWorkflowID(payoutID string) string { return "payout-" + payoutID }

// PayoutWorkflowName is the name Payout.PayoutWorkflow is registered and
// started under; recorded histories carry it, so it never changes.
const PayoutWorkflowName = "PayoutWorkflow"

// Error types of a payout's activities.
const (
	// PayoutRejectedError is the type of a non-retryable refusal by the
	// payment rail (a bad account, a closed bank account): the payout fails.
	PayoutRejectedError = "PayoutRejected"
	// PayoutNeedsReviewError is the type of a payout the pay step stopped
	// for an operator (it may have been paid; see activities.Payouts): it
	// is neither completed nor failed.
	PayoutNeedsReviewError = "PayoutNeedsReview"
)

// Change ids of PayoutWorkflow (workflow.GetVersion): a history recorded
// before a change replays the old code path.
const (
	// changePayoutNeedsReview: a payout the pay step sent to review ends
	// the workflow with status needs_review (issue 12, point 1).
	changePayoutNeedsReview = "payout-needs-review"
	// changeStatusReadsNeverRefuse: a bank payout's status read retries for
	// StatusReadRetryFor and its failure never fails the payout (point 2).
	changeStatusReadsNeverRefuse = "payout-status-reads-never-refuse"
	// changeBankTransferThenAwait: a bank payout is a transfer to the
	// connected account (BankTransfer), then the payout from it
	// (StripeBankPayout), then one AwaitBankPayout activity that retries
	// until the bank's final answer, instead of a read and a timer in the
	// history every poll (issue 11 point 6, issue 12 point 8).
	changeBankTransferThenAwait = "bank-transfer-then-await"
	// ChangePayoutAttributes (issue 15): after the burn the payout's vendor,
	// app, wallet, amount and memo are set, and OfficexStatus follows it.
	ChangePayoutAttributes = "issue15-payout-attributes"
)

// BankPayoutPendingError is the type of AwaitBankPayout's error while the
// bank payout is neither paid nor failed: Temporal retries it (with
// backoff, nothing in the history) until BankPayoutWaitFor.
const BankPayoutPendingError = "BankPayoutPending"

// BankPayoutWaitFor bounds how long a bank payout is awaited (banks answer
// within days; the old loop allowed about 17); past it the payout stays
// burned with an alert for an operator, never failed: it may still land.
const BankPayoutWaitFor = 21 * 24 * time.Hour

// BankPayoutMaxPoll caps the backoff between two checks of a bank payout
// (and 60 polls, so a short test poll keeps checks close).
const BankPayoutMaxPoll = 30 * time.Minute

// StatusReadRetryFor bounds how long one status read of a bank payout is
// retried (capped backoff, alerting from the third failure) before the
// workflow gives up and leaves the payout burned for an operator.
const StatusReadRetryFor = 7 * 24 * time.Hour

// Bounds of a payout: how often a pending bank payout or Solana transaction
// is checked, and for how long or how many times.
const (
	DefaultPayoutPoll   = 30 * time.Second
	MaxBankPayoutChecks = 2000 // with the default poll, about 17 days
	MaxUSDCChecks       = 120  // per signed transaction; it expires long before
	MaxUSDCTransactions = 5    // re-signed only after the previous one expired unseen
)

// PayoutInput names the payout; Poll overrides DefaultPayoutPoll (tests).
type PayoutInput struct {
	PayoutID string
	Poll     time.Duration
	// BatchWorkflowID is the batch that started the payout: it gets
	// PayoutDoneSignal when the payout ends ("" for none).
	BatchWorkflowID string `json:",omitempty"`
}

// PayoutState is what the burn found.
type PayoutState struct {
	Status string // burned, or the payout's final status when it already ended
	Type   string // stripe, bank, usdc_solana
	// What the payout is about, for its search attributes and memo (empty
	// in histories recorded before ChangePayoutAttributes).
	VendorID, AppID, WalletID, Account string
	Amount                             int64 // micro-credits
}

// business is the payout's search attributes and memo.
func (st PayoutState) business() Business {
	return Business{UserID: st.VendorID, AppID: st.AppID, WalletID: st.WalletID, AmountMicro: st.Amount,
		Status: st.Status, DestinationType: st.Type,
		Summary: fmt.Sprintf("payout of %s credits to %s %s", ledger.Credits(st.Amount), st.Type, st.Account)}
}

// PayoutResult is how the payout ended.
type PayoutResult struct {
	Status string
	Ref    string
	Reason string
}

// USDCCheck is a Solana transaction's state (see usdc.State).
type USDCCheck struct {
	Signature string
	State     string // pending, confirmed, failed, expired (usdc.State)
	Err       string
}

// PayoutActivities are the activities of PayoutWorkflow; the worker binds
// activities.Payouts, tests a fake. The method names are the activity type
// names in recorded histories, so they never change. Each is keyed by the
// payout id (see there).
type PayoutActivities interface {
	BurnPayout(ctx context.Context, payoutID string) (PayoutState, error)
	StripeTransfer(ctx context.Context, payoutID string) (string, error)
	StripeBankPayout(ctx context.Context, payoutID string) (string, error)
	StripePayoutStatus(ctx context.Context, payoutID, stripePayoutID string) (string, error)
	BankTransfer(ctx context.Context, payoutID string) (string, error)
	AwaitBankPayout(ctx context.Context, payoutID, stripePayoutID string) (string, error)
	PrepareUSDC(ctx context.Context, payoutID string) (string, error)
	SendUSDC(ctx context.Context, payoutID string) error
	USDCStatus(ctx context.Context, payoutID string) (USDCCheck, error)
	ClearUSDC(ctx context.Context, payoutID, signature string) error
	CompletePayout(ctx context.Context, payoutID, ref string) error
	FailPayout(ctx context.Context, payoutID, reason string) error
}

// Payout is PayoutWorkflow bound to its activities, which it calls by method
// reference (an interface, since activities/ imports this package). Register
// it under PayoutWorkflowName.
type Payout struct {
	Acts PayoutActivities
}

// PayoutWorkflow burns the payout's held credits, pays through Stripe or
// USDC on Solana, and ends completed, or failed with the credits restored.
// Every activity is keyed by the payout id, so a retry never pays twice.
// Started by a batch, it tells the batch when it ends, however it ends.
func (w Payout) PayoutWorkflow(ctx workflow.Context, in PayoutInput) (PayoutResult, error) {
	res, err := w.pay(ctx, in)
	if err == nil && res.Status != "" {
		UpsertBusiness(ctx, ChangePayoutAttributes, Business{Status: res.Status})
	}
	if in.BatchWorkflowID != "" {
		tellBatch(ctx, in)
	}
	return res, err
}

// tellBatch signals the batch that this payout ended. A batch that already
// ended (or was terminated) is not there to hear it; that is no error.
func tellBatch(ctx workflow.Context, in PayoutInput) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	_ = workflow.SignalExternalWorkflow(dctx, in.BatchWorkflowID, "", PayoutDoneSignal, in.PayoutID).Get(dctx, nil)
}

func (w Payout) pay(ctx workflow.Context, in PayoutInput) (PayoutResult, error) {
	if in.Poll <= 0 {
		in.Poll = DefaultPayoutPoll
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 60 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute, MaximumAttempts: 50, NonRetryableErrorTypes: []string{PayoutRejectedError}},
	})
	var st PayoutState
	if err := workflow.ExecuteActivity(ctx, w.Acts.BurnPayout, in.PayoutID).Get(ctx, &st); err != nil {
		return PayoutResult{}, err
	}
	UpsertBusinessAndMemo(ctx, ChangePayoutAttributes, st.business())
	if st.Status != "burned" {
		return PayoutResult{Status: st.Status}, nil
	}
	var ref string
	var err error
	switch st.Type {
	case "stripe":
		err = workflow.ExecuteActivity(ctx, w.Acts.StripeTransfer, in.PayoutID).Get(ctx, &ref)
	case "bank":
		ref, err = w.payBank(ctx, in)
	case "usdc_solana":
		ref, err = w.payUSDC(ctx, in)
	default:
		err = temporal.NewNonRetryableApplicationError("unknown destination "+st.Type, PayoutRejectedError, nil)
	}
	if err != nil {
		var rejected *temporal.ApplicationError
		if workflow.GetVersion(ctx, changePayoutNeedsReview, workflow.DefaultVersion, 1) == 1 &&
			errors.As(err, &rejected) && rejected.Type() == PayoutNeedsReviewError {
			return PayoutResult{Status: "needs_review", Reason: rejected.Message()}, nil
		}
		if !errors.As(err, &rejected) || rejected.Type() != PayoutRejectedError {
			return PayoutResult{}, err // not a refusal: left burned for an operator to retry
		}
		if fErr := workflow.ExecuteActivity(ctx, w.Acts.FailPayout, in.PayoutID, rejected.Message()).Get(ctx, nil); fErr != nil {
			return PayoutResult{}, fErr
		}
		return PayoutResult{Status: "failed", Reason: rejected.Message()}, nil
	}
	if err := workflow.ExecuteActivity(ctx, w.Acts.CompletePayout, in.PayoutID, ref).Get(ctx, nil); err != nil {
		return PayoutResult{}, err
	}
	return PayoutResult{Status: "completed", Ref: ref}, nil
}

func rejected(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, PayoutRejectedError, nil)
}

// payBank moves the money to the connected account, pays it out to the
// bank account and waits until the bank paid or refused it. Each step is
// its own activity, keyed by the payout id, and stores what Stripe
// answered before the next acts on it.
func (w Payout) payBank(ctx workflow.Context, in PayoutInput) (string, error) {
	if workflow.GetVersion(ctx, changeBankTransferThenAwait, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return w.payBankPolling(ctx, in)
	}
	if err := workflow.ExecuteActivity(ctx, w.Acts.BankTransfer, in.PayoutID).Get(ctx, nil); err != nil {
		return "", err
	}
	var id string
	if err := workflow.ExecuteActivity(ctx, w.Acts.StripeBankPayout, in.PayoutID).Get(ctx, &id); err != nil {
		return "", err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    60 * time.Second,
		ScheduleToCloseTimeout: BankPayoutWaitFor,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: in.Poll, BackoffCoefficient: 1.5,
			MaximumInterval: min(BankPayoutMaxPoll, 60*in.Poll)}, // no attempt limit: bounded by BankPayoutWaitFor
	})
	var status string
	if err := workflow.ExecuteActivity(actx, w.Acts.AwaitBankPayout, in.PayoutID, id).Get(ctx, &status); err != nil {
		// %v, not %w: not knowing is no refusal; the payout stays burned.
		return "", fmt.Errorf("bank payout %s unresolved: %v", id, err)
	}
	if status != "paid" {
		return "", rejected("the bank payout " + id + " " + status)
	}
	return id, nil
}

// payBankPolling is payBank before changeBankTransferThenAwait (no transfer
// first, a read and a timer per poll), kept for recorded histories.
func (w Payout) payBankPolling(ctx workflow.Context, in PayoutInput) (string, error) {
	var id string
	if err := workflow.ExecuteActivity(ctx, w.Acts.StripeBankPayout, in.PayoutID).Get(ctx, &id); err != nil {
		return "", err
	}
	readCtx, readsNeverRefuse := ctx, workflow.GetVersion(ctx, changeStatusReadsNeverRefuse, workflow.DefaultVersion, 1) == 1
	if readsNeverRefuse {
		readCtx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    60 * time.Second,
			ScheduleToCloseTimeout: StatusReadRetryFor,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: min(in.Poll, time.Second), BackoffCoefficient: 2,
				MaximumInterval: 5 * time.Minute}, // no attempt limit: bounded by StatusReadRetryFor
		})
	}
	for i := 0; i < MaxBankPayoutChecks; i++ {
		var status string
		if err := workflow.ExecuteActivity(readCtx, w.Acts.StripePayoutStatus, in.PayoutID, id).Get(ctx, &status); err != nil {
			if readsNeverRefuse {
				// %v, not %w: whatever the read answered, it is no refusal.
				return "", fmt.Errorf("status of bank payout %s unreadable: %v", id, err)
			}
			return "", err
		}
		switch status {
		case "paid":
			return id, nil
		case "failed", "canceled":
			return "", rejected("the bank payout " + id + " " + status)
		}
		if err := workflow.Sleep(ctx, in.Poll); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("bank payout %s still pending after %d checks", id, MaxBankPayoutChecks)
}

// payUSDC signs (or reuses the stored) transfer, sends it and checks it until
// it lands; only a transaction that expired unseen is replaced by a new one.
func (w Payout) payUSDC(ctx workflow.Context, in PayoutInput) (string, error) {
	for tx := 0; tx < MaxUSDCTransactions; tx++ {
		var sig string
		if err := workflow.ExecuteActivity(ctx, w.Acts.PrepareUSDC, in.PayoutID).Get(ctx, &sig); err != nil {
			return "", err
		}
		state, err := w.awaitUSDC(ctx, in)
		if err != nil || state.State == "confirmed" {
			return state.Signature, err
		}
		if state.State == "failed" {
			return "", rejected("the Solana transaction " + state.Signature + " failed: " + state.Err)
		}
		if state.State != "expired" {
			// Still able to land: never give the credits back while it can.
			return "", fmt.Errorf("solana transaction %s unresolved after %d checks", state.Signature, MaxUSDCChecks)
		}
		if err := workflow.ExecuteActivity(ctx, w.Acts.ClearUSDC, in.PayoutID, state.Signature).Get(ctx, nil); err != nil {
			return "", err
		}
	}
	// Every transaction expired unseen, so none can land: failing is safe.
	return "", rejected(fmt.Sprintf("no Solana transaction landed after %d tries", MaxUSDCTransactions))
}

// awaitUSDC sends the stored transaction and checks it until it is decided.
func (w Payout) awaitUSDC(ctx workflow.Context, in PayoutInput) (USDCCheck, error) {
	var c USDCCheck
	for i := 0; i < MaxUSDCChecks; i++ {
		// Sending again while the transaction can land is safe: the chain
		// takes a signature once.
		if err := workflow.ExecuteActivity(ctx, w.Acts.SendUSDC, in.PayoutID).Get(ctx, nil); err != nil {
			return c, err
		}
		if err := workflow.ExecuteActivity(ctx, w.Acts.USDCStatus, in.PayoutID).Get(ctx, &c); err != nil {
			return c, err
		}
		if c.State != "pending" {
			return c, nil
		}
		if err := workflow.Sleep(ctx, in.Poll); err != nil {
			return c, err
		}
	}
	return c, nil
}
