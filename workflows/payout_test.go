package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// payoutActs is a fake of activities.Payouts: the rails' answers are set by
// the test, the calls are recorded.
type payoutActs struct {
	typ         string
	transferErr error    // StripeTransfer's answer
	states      []string // USDCStatus answers, in order
	prepared    int
	cleared     int
	completed   string
	failed      string
	bankErr     error   // StripeBankPayout's answer
	readErrs    []error // StripePayoutStatus fails with these, in order, then answers "paid"
	reads       int
}

var _ PayoutActivities = (*payoutActs)(nil)

func (a *payoutActs) BurnPayout(context.Context, string) (PayoutState, error) {
	return PayoutState{Status: "burned", Type: a.typ}, nil
}

func (a *payoutActs) StripeTransfer(context.Context, string) (string, error) {
	return "tr_1", a.transferErr
}

func (a *payoutActs) StripeBankPayout(context.Context, string) (string, error) {
	return "po_1", a.bankErr
}

func (a *payoutActs) StripePayoutStatus(context.Context, string, string) (string, error) {
	a.reads++
	if len(a.readErrs) > 0 {
		err := a.readErrs[0]
		a.readErrs = a.readErrs[1:]
		return "", err
	}
	return "paid", nil
}

func (a *payoutActs) PrepareUSDC(context.Context, string) (string, error) {
	a.prepared++
	return "sig", nil
}

func (a *payoutActs) SendUSDC(context.Context, string) error { return nil }

func (a *payoutActs) USDCStatus(context.Context, string) (USDCCheck, error) {
	st := a.states[0]
	if len(a.states) > 1 {
		a.states = a.states[1:]
	}
	return USDCCheck{Signature: "sig", State: st}, nil
}

func (a *payoutActs) ClearUSDC(context.Context, string, string) error { a.cleared++; return nil }

func (a *payoutActs) CompletePayout(_ context.Context, _, ref string) error {
	a.completed = ref
	return nil
}

func (a *payoutActs) FailPayout(_ context.Context, _, reason string) error {
	a.failed = reason
	return nil
}

func (a *payoutActs) run(t *testing.T, transferErr error) PayoutResult {
	t.Helper()
	a.transferErr = transferErr
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Payout{Acts: a}.PayoutWorkflow, workflow.RegisterOptions{Name: PayoutWorkflowName})
	env.RegisterActivity(a)
	env.ExecuteWorkflow(PayoutWorkflowName, PayoutInput{PayoutID: "p1", Poll: time.Second})
	var res PayoutResult
	if err := env.GetWorkflowError(); err != nil {
		return PayoutResult{Status: "error", Reason: err.Error()}
	}
	_ = env.GetWorkflowResult(&res)
	return res
}

func TestPayoutWorkflow_RejectedTransferFailsAndRestores(t *testing.T) {
	a := &payoutActs{typ: "stripe"}
	res := a.run(t, temporal.NewNonRetryableApplicationError("No such destination", PayoutRejectedError, nil))
	if res.Status != "failed" || a.failed == "" || a.completed != "" {
		t.Fatalf("result %+v, failed %q", res, a.failed)
	}
}

func TestPayoutWorkflow_USDCPendingThenExpiredIsResignedOnce(t *testing.T) {
	a := &payoutActs{typ: "usdc_solana", states: []string{"pending", "pending", "expired", "pending", "confirmed"}}
	res := a.run(t, nil)
	if res.Status != "completed" || a.prepared != 2 || a.cleared != 1 || a.completed != "sig" {
		t.Fatalf("result %+v, prepared %d, cleared %d", res, a.prepared, a.cleared)
	}
}

func TestPayoutWorkflow_USDCNeverGivesCreditsBackWhileTheTransactionCanLand(t *testing.T) {
	a := &payoutActs{typ: "usdc_solana", states: []string{"pending"}}
	res := a.run(t, nil)
	if res.Status != "error" || a.failed != "" {
		t.Fatalf("a transaction that may still land must leave the payout burned: %+v, failed %q", res, a.failed)
	}
}

func TestPayoutWorkflow_StatusReadRefusalsAreRetriedNeverRestore(t *testing.T) {
	notFound := temporal.NewNonRetryableApplicationError("No such payout: 'po_1'", PayoutRejectedError, nil)
	a := &payoutActs{typ: "bank", readErrs: []error{notFound, errors.New("400 bad request"), notFound}}
	res := a.run(t, nil)
	if a.failed != "" {
		t.Fatalf("a status read restored the credits: %q", a.failed)
	}
	if res.Status != "error" || !strings.Contains(res.Reason, "unreadable") {
		t.Fatalf("a read refused for good must leave the payout burned: %+v", res)
	}
	b := &payoutActs{typ: "bank", readErrs: []error{errors.New("404"), errors.New("400"), errors.New("404")}}
	if res := b.run(t, nil); res.Status != "completed" || b.completed != "po_1" || b.failed != "" || b.reads != 4 {
		t.Fatalf("reads that recover complete the payout: %+v, reads %d", res, b.reads)
	}
}

func TestPayoutWorkflow_NeedsReviewEndsWithoutPayingOrRestoring(t *testing.T) {
	a := &payoutActs{typ: "bank", bankErr: temporal.NewNonRetryableApplicationError("look in Stripe", PayoutNeedsReviewError, nil)}
	res := a.run(t, nil)
	if res.Status != "needs_review" || a.failed != "" || a.completed != "" || a.reads != 0 {
		t.Fatalf("result %+v, failed %q, completed %q", res, a.failed, a.completed)
	}
}
