package workflows

import (
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"
)

// payWindow pays the batch's payouts as children, keeping
// PayoutBatchConcurrency in flight: whenever one ends (its child future, or
// its PayoutDoneSignal for one an earlier run started), the next starts, so a
// bank payout that takes days holds one slot, not the batch. After starting
// PayoutBatchChildrenPerRun payouts the run continues as new with what is
// left; the payouts in flight carry over and report their end by signal.
// When nothing is left to start or in flight, the batch is recorded.
func (w PayoutBatch) payWindow(ctx, actx workflow.Context, in PayoutBatchInput, prog PayoutBatchProgress) (PayoutBatchResult, error) {
	win := newPayoutWindow(ctx, prog.InFlight)
	toStart, started := prog.ToStart, 0
	for {
		for len(win.inFlight) < PayoutBatchConcurrency && len(toStart) > 0 {
			if started == PayoutBatchChildrenPerRun {
				win.drainSignals()
				in.Continued = &PayoutBatchProgress{BatchID: prog.BatchID, ToStart: toStart, InFlight: win.inFlight}
				return PayoutBatchResult{}, workflow.NewContinueAsNewError(ctx, PayoutBatchWorkflowName, in)
			}
			win.start(toStart[0], in.Poll)
			toStart, started = toStart[1:], started+1
		}
		if len(win.inFlight) == 0 {
			break
		}
		win.sel.Select(ctx)
	}
	win.drainSignals()
	var res PayoutBatchResult
	err := workflow.ExecuteActivity(actx, w.Acts.FinishPayoutBatch, prog.BatchID).Get(ctx, &res)
	return res, err
}

// payoutWindow is the set of payouts in flight and the Selector that wakes
// the batch when one of them ends.
type payoutWindow struct {
	ctx      workflow.Context
	sel      workflow.Selector
	done     workflow.ReceiveChannel
	inFlight []string // in start order: a slice, never a map, so the next run's input is deterministic
}

func newPayoutWindow(ctx workflow.Context, carried []string) *payoutWindow {
	w := &payoutWindow{ctx: ctx, sel: workflow.NewSelector(ctx), done: workflow.GetSignalChannel(ctx, PayoutDoneSignal),
		inFlight: slices.Clone(carried)}
	w.sel.AddReceive(w.done, func(c workflow.ReceiveChannel, _ bool) {
		var id string
		c.Receive(ctx, &id)
		w.ended(id)
	})
	return w
}

// ended removes a payout from the window; a second report of the same end
// (its future and its signal) changes nothing.
func (w *payoutWindow) ended(id string) {
	if i := slices.Index(w.inFlight, id); i >= 0 {
		w.inFlight = slices.Delete(w.inFlight, i, i+1)
	}
}

// drainSignals takes the done signals already delivered, so none is lost
// when the run ends (Temporal refuses to close a run with unread signals
// arriving, and a carried payout that already ended must not be waited for).
func (w *payoutWindow) drainSignals() {
	var id string
	for w.done.ReceiveAsync(&id) {
		w.ended(id)
	}
}

// start runs one payout as a child. The outcome is in the payout's row
// (FinishPayoutBatch counts it); a child that fails leaves its payout
// burned for an operator, and the batch goes on.
func (w *payoutWindow) start(id string, poll time.Duration) {
	cctx := workflow.WithChildOptions(w.ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            PayoutWorkflowID(id),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	in := PayoutInput{PayoutID: id, Poll: poll, BatchWorkflowID: workflow.GetInfo(w.ctx).WorkflowExecution.ID}
	// A typed reference for the argument check; the child runs as the
	// workflow registered under PayoutWorkflowName.
	f := workflow.ExecuteChildWorkflow(cctx, Payout{}.PayoutWorkflow, in)
	w.inFlight = append(w.inFlight, id)
	w.sel.AddFuture(f, func(f workflow.Future) {
		_ = f.Get(w.ctx, nil)
		w.ended(id)
	})
}
