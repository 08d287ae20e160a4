package workflows

import (
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Histories recorded from real runs (api's TestPayout_RecordHistories) of
// PayoutBatchWorkflow and PayoutWorkflow, before (v0: waves, bank polling
// in the workflow) and after (v1: sliding window, transfer then payout then
// one await activity) issue 12 point 8 and issue 11 point 6, replay on
// today's code: a change that is not behind workflow.GetVersion fails here.
func TestPayout_RecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "payout_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "payout_batch_trigger_") {
			continue // another workflow (TestRecordedHistoriesReplay runs it)
		}
		batch := strings.HasPrefix(name, "payout_batch_")
		for _, v := range []string{"v0", "v1"} {
			if strings.Contains(name, "_"+v) {
				seen[map[bool]string{true: "batch", false: "payout"}[batch]+" "+v] = true
			}
		}
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			if batch {
				r.RegisterWorkflowWithOptions(PayoutBatch{Acts: &batchActs{}}.PayoutBatchWorkflow,
					workflow.RegisterOptions{Name: PayoutBatchWorkflowName})
			} else {
				r.RegisterWorkflowWithOptions(Payout{Acts: &payoutActs{}}.PayoutWorkflow, workflow.RegisterOptions{Name: PayoutWorkflowName})
			}
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, want := range []string{"batch v0", "batch v1", "payout v0", "payout v1"} {
		if !seen[want] {
			t.Errorf("no recorded %s history in testdata/histories (have %v)", want, files)
		}
	}
}
