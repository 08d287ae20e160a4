package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// maxBatchRunEvents is the stated bound on one batch run's history: each
// run starts PayoutBatchChildrenPerRun payouts, then continues as new.
const maxBatchRunEvents = 2000

// windowActs fakes the payouts of a batch: slow is a bank payout that stays
// in transit; every other payout is a Stripe transfer that pays at once.
// running counts payouts between their burn and their end, so its maximum
// is the window the batch really kept.
type windowActs struct {
	slow       string
	mu         sync.Mutex
	running    map[string]bool
	maxRunning int
	ended      map[string]bool // paid, or reported ended to a later run
	release    chan struct{}   // the slow payout's wait blocks until the test ends
}

var _ PayoutActivities = (*windowActs)(nil)

func (a *windowActs) BurnPayout(_ context.Context, id string) (PayoutState, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.running[id] = true
	a.maxRunning = max(a.maxRunning, len(a.running))
	if id == a.slow {
		return PayoutState{Status: "burned", Type: "bank"}, nil
	}
	return PayoutState{Status: "burned", Type: "stripe"}, nil
}

func (a *windowActs) end(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.running, id)
	a.ended[id] = true
}

func (a *windowActs) StripeTransfer(context.Context, string) (string, error) { return "tr_1", nil }
func (a *windowActs) BankTransfer(context.Context, string) (string, error)   { return "tr_2", nil }
func (a *windowActs) StripeBankPayout(context.Context, string) (string, error) {
	return "po_1", nil
}
func (a *windowActs) AwaitBankPayout(context.Context, string, string) (string, error) {
	<-a.release // in transit for as long as the run that started it lasts
	return "", errors.New("in transit")
}
func (a *windowActs) StripePayoutStatus(context.Context, string, string) (string, error) {
	return "pending", nil
}
func (a *windowActs) PrepareUSDC(context.Context, string) (string, error)   { return "", nil }
func (a *windowActs) SendUSDC(context.Context, string) error                { return nil }
func (a *windowActs) USDCStatus(context.Context, string) (USDCCheck, error) { return USDCCheck{}, nil }
func (a *windowActs) ClearUSDC(context.Context, string, string) error       { return nil }
func (a *windowActs) FailPayout(_ context.Context, id, _ string) error      { a.end(id); return nil }
func (a *windowActs) CompletePayout(_ context.Context, id, _ string) error  { a.end(id); return nil }

// runCounter counts what one batch run writes to its history: the commands
// it sends and the signals it receives.
type runCounter struct {
	interceptor.WorkerInterceptorBase
	children, activities, markers, signals int
}

// events is an upper bound of the run's history events: started and closed;
// per child initiated, started, completed; per activity scheduled, started,
// completed; a marker per GetVersion; a signal event each; and a workflow
// task (3 events) for every event that can wake the run.
func (c *runCounter) events() int {
	wakers := 2*c.children + c.signals + c.activities + 1
	return 2 + 3*c.children + 3*c.activities + c.markers + c.signals + 3*wakers
}

func (c *runCounter) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	if workflow.GetInfo(ctx).WorkflowType.Name != PayoutBatchWorkflowName {
		return next
	}
	return &countIn{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, c: c}
}

type countIn struct {
	interceptor.WorkflowInboundInterceptorBase
	c *runCounter
}

func (i *countIn) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&countOut{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}, c: i.c})
}

func (i *countIn) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	i.c.signals++
	return i.Next.HandleSignal(ctx, in)
}

type countOut struct {
	interceptor.WorkflowOutboundInterceptorBase
	c *runCounter
}

func (o *countOut) ExecuteChildWorkflow(ctx workflow.Context, name string, args ...any) workflow.ChildWorkflowFuture {
	o.c.children++
	return o.Next.ExecuteChildWorkflow(ctx, name, args...)
}

func (o *countOut) ExecuteActivity(ctx workflow.Context, name string, args ...any) workflow.Future {
	o.c.activities++
	return o.Next.ExecuteActivity(ctx, name, args...)
}

func (o *countOut) GetVersion(ctx workflow.Context, id string, min, max workflow.Version) workflow.Version {
	o.c.markers++
	return o.Next.GetVersion(ctx, id, min, max)
}

// A batch of 1,000 payouts, the first a bank payout that stays in transit
// for three days: the other 999 are all paid before it ends (the slow
// one holds one slot of the window, not the batch), no more than
// PayoutBatchConcurrency are ever in flight, every run's history stays under
// maxBatchRunEvents, and the batch ends once the slow payout reports its end
// to whichever run is current. In the suite each run is its own environment:
// payouts carried into a run report their end by PayoutDoneSignal, as their
// PayoutWorkflow does (TestPayoutWorkflow_TellsItsBatchWhenItEnds).
func TestPayoutBatchWorkflow_ThousandPayoutsSlidingWindowBoundedHistory(t *testing.T) {
	const n, slowFor = 1000, 72 * time.Hour
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%04d", i)
	}
	batch := &batchActs{payoutIDs: ids}
	pay := &windowActs{slow: ids[0], running: map[string]bool{}, ended: map[string]bool{}, release: make(chan struct{})}
	t.Cleanup(func() { close(pay.release) })
	endedBeforeSlow := -1
	start := time.Date(2025, 4, 1, 0, 5, 0, 0, time.UTC)
	now, in := start, PayoutBatchInput{Period: "2025-03", Trigger: "admin", Poll: time.Minute}
	var res PayoutBatchResult
	runs, maxEvents := 0, 0
	for ; ; runs++ {
		if runs > n/PayoutBatchChildrenPerRun+1 {
			t.Fatalf("%d runs for %d payouts", runs, n)
		}
		counter := &runCounter{}
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(now)
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: PayoutBatchWorkflowID("2025-03")})
		env.RegisterWorkflowWithOptions(PayoutBatch{Acts: batch}.PayoutBatchWorkflow, workflow.RegisterOptions{Name: PayoutBatchWorkflowName})
		env.RegisterActivity(batch)
		env.RegisterWorkflowWithOptions(Payout{Acts: pay}.PayoutWorkflow, workflow.RegisterOptions{Name: PayoutWorkflowName})
		env.RegisterActivity(pay)
		env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{counter}})
		env.SetTestTimeout(30 * time.Second) // waves waiting for the slow payout would hang here
		// A run that continued as new ends its environment; the payouts
		// it left in flight report their end to the next run (below).
		env.SetDetachedChildWait(false)
		if in.Continued != nil {
			if len(in.Continued.InFlight) > PayoutBatchConcurrency {
				t.Fatalf("run %d carried %d payouts in flight", runs, len(in.Continued.InFlight))
			}
			for _, id := range in.Continued.InFlight {
				after := time.Minute // a payout that was mid-way when the run continued as new
				if id == pay.slow {
					after = start.Add(slowFor).Sub(now)
				}
				env.RegisterDelayedCallback(func() {
					if id == pay.slow {
						endedBeforeSlow = len(pay.ended)
					}
					pay.end(id)
					env.SignalWorkflow(PayoutDoneSignal, id)
				}, max(after, time.Second))
			}
		}
		env.ExecuteWorkflow(PayoutBatchWorkflowName, in)
		if ev := counter.events(); ev > maxBatchRunEvents {
			t.Fatalf("run %d: up to %d history events (%+v), over %d", runs, ev, *counter, maxBatchRunEvents)
		}
		maxEvents = max(maxEvents, counter.events())
		now = env.Now()
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			in = PayoutBatchInput{}
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		break
	}
	if runs != n/PayoutBatchChildrenPerRun-1 && runs != n/PayoutBatchChildrenPerRun {
		t.Fatalf("%d continues-as-new for %d payouts at %d a run", runs, n, PayoutBatchChildrenPerRun)
	}
	// In flight is counted from the activities' side, where a payout of a
	// full window may end before the window's last one burns (the test
	// environment runs the children's activities on goroutines; CI saw 7):
	// the bound is what is checked, and that payouts did overlap.
	if len(pay.ended) != n || pay.maxRunning > PayoutBatchConcurrency || pay.maxRunning < 2 {
		t.Fatalf("%d of %d payouts ended, at most %d in flight (want 2 to %d)", len(pay.ended), n, pay.maxRunning, PayoutBatchConcurrency)
	}
	if endedBeforeSlow != n-1 {
		t.Fatalf("%d of %d other payouts ended before the slow one: it blocked them", endedBeforeSlow, n-1)
	}
	if took := now.Sub(start); took < slowFor {
		t.Fatalf("the batch ended after %v, before its slow payout (%v)", took, slowFor)
	}
	t.Logf("%d payouts in %d runs, at most %d history events a run (bound %d), at most %d in flight",
		n, runs+1, maxEvents, maxBatchRunEvents, pay.maxRunning)
	if res.Period != "2025-03" {
		t.Fatalf("result %+v", res)
	}
}
