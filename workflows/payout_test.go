package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/officex/officex/internal/temporaltest"
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
	readErrs    []error // StripePayoutStatus / AwaitBankPayout fail with these, in order, then answer
	reads       int
	bankStates  []string // AwaitBankPayout's answers after readErrs ("pending" is its retryable error); then "paid"
	steps       []string // the Stripe steps of a bank payout, in order
}

var _ PayoutActivities = (*payoutActs)(nil)

func (a *payoutActs) BurnPayout(context.Context, string) (PayoutState, error) {
	return PayoutState{Status: "burned", Type: a.typ}, nil
}

func (a *payoutActs) StripeTransfer(context.Context, string) (string, error) {
	return "tr_1", a.transferErr
}

func (a *payoutActs) StripeBankPayout(context.Context, string) (string, error) {
	a.steps = append(a.steps, "payout")
	return "po_1", a.bankErr
}

func (a *payoutActs) BankTransfer(context.Context, string) (string, error) {
	a.steps = append(a.steps, "transfer")
	return "tr_b1", nil
}

func (a *payoutActs) AwaitBankPayout(context.Context, string, string) (string, error) {
	a.reads++
	if len(a.readErrs) > 0 {
		err := a.readErrs[0]
		a.readErrs = a.readErrs[1:]
		return "", err
	}
	st := "paid"
	if len(a.bankStates) > 0 {
		st, a.bankStates = a.bankStates[0], a.bankStates[1:]
	}
	if st == "pending" {
		return "", temporal.NewApplicationError("still in transit", BankPayoutPendingError)
	}
	a.steps = append(a.steps, st)
	return st, nil
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

func (a *payoutActs) run(t *testing.T, transferErr error, setup ...func(*testsuite.TestWorkflowEnvironment)) PayoutResult {
	t.Helper()
	a.transferErr = transferErr
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Payout{Acts: a}.PayoutWorkflow, workflow.RegisterOptions{Name: PayoutWorkflowName})
	env.RegisterActivity(a)
	for _, f := range setup {
		f(env)
	}
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

// pollingVersion runs the bank path as histories recorded before
// changeBankTransferThenAwait replay it.
func pollingVersion(env *testsuite.TestWorkflowEnvironment) {
	env.OnGetVersion(changeBankTransferThenAwait, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
}

func TestPayoutWorkflow_StatusReadRefusalsAreRetriedNeverRestore(t *testing.T) {
	notFound := temporal.NewNonRetryableApplicationError("No such payout: 'po_1'", PayoutRejectedError, nil)
	a := &payoutActs{typ: "bank", readErrs: []error{notFound, errors.New("400 bad request"), notFound}}
	res := a.run(t, nil, pollingVersion)
	if a.failed != "" {
		t.Fatalf("a status read restored the credits: %q", a.failed)
	}
	if res.Status != "error" || !strings.Contains(res.Reason, "unreadable") {
		t.Fatalf("a read refused for good must leave the payout burned: %+v", res)
	}
	b := &payoutActs{typ: "bank", readErrs: []error{errors.New("404"), errors.New("400"), errors.New("404")}}
	if res := b.run(t, nil, pollingVersion); res.Status != "completed" || b.completed != "po_1" || b.failed != "" || b.reads != 4 {
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

// A bank payout is a transfer to the connected account, then the payout
// from it, then one wait for the bank: each its own activity, in order.
func TestPayoutWorkflow_BankIsTransferThenPayoutThenAwait(t *testing.T) {
	a := &payoutActs{typ: "bank", bankStates: []string{"pending", "pending", "pending", "paid"}}
	res := a.run(t, nil)
	if res.Status != "completed" || res.Ref != "po_1" || a.completed != "po_1" {
		t.Fatalf("result %+v", res)
	}
	if strings.Join(a.steps, ",") != "transfer,payout,paid" || a.reads != 4 {
		t.Fatalf("steps %v after %d checks", a.steps, a.reads)
	}
}

// Reads that fail (even a 400 or 404) and a payout that stays pending are
// retried by the one AwaitBankPayout activity; only the bank's failure
// restores the credits.
func TestPayoutWorkflow_BankAwaitRetriesReadsAndRestoresOnlyOnTheBanksFailure(t *testing.T) {
	notFound := temporal.NewNonRetryableApplicationError("No such payout: 'po_1'", PayoutRejectedError, nil)
	a := &payoutActs{typ: "bank", readErrs: []error{errors.New("404"), errors.New("400")}, bankStates: []string{"pending", "failed"}}
	if res := a.run(t, nil); res.Status != "failed" || a.failed == "" || a.completed != "" {
		t.Fatalf("a bank payout the bank failed: %+v", res)
	}
	b := &payoutActs{typ: "bank", readErrs: []error{notFound}}
	if res := b.run(t, nil); res.Status != "error" || b.failed != "" {
		t.Fatalf("a read refused for good must leave the payout burned: %+v, failed %q", res, b.failed)
	}
}

// A bank payout that stays pending is awaited for BankPayoutWaitFor and
// then left burned (it may still land), with a bounded number of checks.
func TestPayoutWorkflow_BankPendingForeverLeftBurned(t *testing.T) {
	pending := make([]string, 100000)
	for i := range pending {
		pending[i] = "pending"
	}
	a := &payoutActs{typ: "bank", bankStates: pending}
	res := a.run(t, nil, func(env *testsuite.TestWorkflowEnvironment) {
		env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&temporaltest.UnlimitedRetries{}}})
	})
	if res.Status != "error" || a.failed != "" || a.completed != "" {
		t.Fatalf("a payout still in transit must stay burned: %+v", res)
	}
	// The suite stops retrying at temporaltest.SuiteUnlimitedAttempts; the
	// server at BankPayoutWaitFor (about 1,000 checks with the default poll).
	if a.reads < 100 || a.reads > temporaltest.SuiteUnlimitedAttempts {
		t.Fatalf("%d checks: the backoff is not capped near BankPayoutMaxPoll", a.reads)
	}
}

// A payout started by a batch tells the batch (by workflow id, so whichever
// run is current) that it ended, whether it was paid or failed; one started
// alone signals nothing.
func TestPayoutWorkflow_TellsItsBatchWhenItEnds(t *testing.T) {
	for _, c := range []struct {
		name  string
		acts  *payoutActs
		batch string
		want  int
	}{
		{"paid", &payoutActs{typ: "stripe"}, "payout-batch-2025-03", 1},
		{"failed", &payoutActs{typ: "bank", bankStates: []string{"failed"}}, "payout-batch-2025-03", 1},
		{"alone", &payoutActs{typ: "stripe"}, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.RegisterWorkflowWithOptions(Payout{Acts: c.acts}.PayoutWorkflow, workflow.RegisterOptions{Name: PayoutWorkflowName})
			env.RegisterActivity(c.acts)
			told := 0
			env.OnSignalExternalWorkflow(mock.Anything, c.batch, "", PayoutDoneSignal, "p1").Return(func(string, string, string, string, any) error {
				told++
				return nil
			})
			env.ExecuteWorkflow(PayoutWorkflowName, PayoutInput{PayoutID: "p1", Poll: time.Second, BatchWorkflowID: c.batch})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			if told != c.want {
				t.Fatalf("the batch was told %d times, want %d", told, c.want)
			}
		})
	}
}
