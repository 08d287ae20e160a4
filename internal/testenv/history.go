package testenv

import (
	"context"
	"testing"

	historypb "go.temporal.io/api/history/v1"

	"github.com/officex/officex/internal/payloadcodec"
)

// RawHistory is a workflow run's history as Temporal stores it (what the
// Temporal UI shows without a codec server): payloads still encrypted.
func (e *Env) RawHistory(t testing.TB, workflowID, runID string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := e.Temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

// History is a run's history with its payloads decoded by the package's
// codec: what a replayer or a recorded test history needs.
func (e *Env) History(t testing.TB, workflowID, runID string) *historypb.History {
	t.Helper()
	h := e.RawHistory(t, workflowID, runID)
	if e.Codec != nil {
		if err := payloadcodec.DecodeMessage(context.Background(), e.Codec, h); err != nil {
			t.Fatalf("decode the history of %s: %v", workflowID, err)
		}
	}
	return h
}
