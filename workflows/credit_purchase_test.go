package workflows

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

type purchaseActs struct {
	charge   ChargeResult
	credited int
	failed   string
	canceled string // status CancelPayment answers
}

func (a *purchaseActs) register(env *testsuite.TestWorkflowEnvironment) {
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(LoadPurchaseActivity, func(context.Context, CreditPurchaseInput) (PurchaseState, error) {
		return PurchaseState{Exists: true, Status: "processing"}, nil
	})
	reg(ChargeCardActivity, func(context.Context, CreditPurchaseInput) (ChargeResult, error) { return a.charge, nil })
	reg(MarkRequiresActionActivity, func(context.Context, string, ChargeResult) error { return nil })
	reg(CreditPurchaseActivity, func(context.Context, string, string) (string, error) { a.credited++; return "tx-1", nil })
	reg(FailPurchaseActivity, func(_ context.Context, _, code, _ string) error { a.failed = code; return nil })
	reg(CancelPaymentActivity, func(context.Context, string) (string, error) { return a.canceled, nil })
}

func runPurchase(t *testing.T, a *purchaseActs, during func(env *testsuite.TestWorkflowEnvironment)) CreditPurchaseResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	a.register(env)
	if during != nil {
		during(env)
	}
	env.ExecuteWorkflow(CreditPurchaseWorkflow, CreditPurchaseInput{PurchaseID: "p1", AmountCents: 300, Token: "tok_visa"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res CreditPurchaseResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCreditPurchase_ActionTimeoutCancelsAndCreditsNothing(t *testing.T) {
	a := &purchaseActs{charge: ChargeResult{PaymentIntentID: "pi_1", Status: "requires_action"}, canceled: "canceled"}
	res := runPurchase(t, a, nil) // no signal: the 24 h timer fires (skipped by the test clock)
	if res.Status != "failed" || a.failed != "action_timeout" || a.credited != 0 {
		t.Fatalf("result %+v, failed %q, credited %d", res, a.failed, a.credited)
	}
}

func TestCreditPurchase_PaymentThatSucceededDuringCancelIsCredited(t *testing.T) {
	a := &purchaseActs{charge: ChargeResult{PaymentIntentID: "pi_1", Status: "requires_action"}, canceled: "succeeded"}
	if res := runPurchase(t, a, nil); res.Status != "succeeded" || a.credited != 1 {
		t.Fatalf("result %+v, credited %d", res, a.credited)
	}
}

func TestCreditPurchase_SignalCompletesAndDuplicatesAreIgnored(t *testing.T) {
	a := &purchaseActs{charge: ChargeResult{PaymentIntentID: "pi_1", Status: "requires_action"}}
	res := runPurchase(t, a, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(PaymentOutcomeSignal, PaymentOutcome{Succeeded: true})
			env.SignalWorkflow(PaymentOutcomeSignal, PaymentOutcome{Succeeded: true})
		}, time.Minute)
	})
	if res.Status != "succeeded" || a.credited != 1 {
		t.Fatalf("result %+v, credited %d", res, a.credited)
	}
}

func TestCreditPurchase_DeclineFailsWithTheDeclineCode(t *testing.T) {
	a := &purchaseActs{charge: ChargeResult{Status: "declined", DeclineCode: "insufficient_funds", Message: "no money"}}
	if res := runPurchase(t, a, nil); res.Status != "failed" || a.failed != "insufficient_funds" || a.credited != 0 {
		t.Fatalf("result %+v", res)
	}
}
