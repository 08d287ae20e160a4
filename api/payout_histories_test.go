package api_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/officex/officex/workflows"
)

// recordWorkflowHistory writes a finished workflow's history to
// workflows/testdata/histories/<name>.json for the replay tests.
func recordWorkflowHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	ctx := context.Background()
	run := env.Temporal.GetWorkflow(ctx, workflowID, "")
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// Decoded: the replay test runs without the package's codec key.
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(env.History(t, workflowID, run.GetRunID()))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPayout_RecordHistories records a payout batch of a Stripe payout and a
// bank payout (the bank pays it) and the two PayoutWorkflows into
// workflows/testdata/histories, where workflows' replay test runs them
// through the current code. Run it with OFFICEX_RECORD_HISTORIES=<prefix>
// (and OFFICEX_RECORD_PERIOD=YYYY-MM, a period no other run used) before
// changing these workflows, so the old histories are kept.
func TestPayout_RecordHistories(t *testing.T) {
	prefix, period := os.Getenv("OFFICEX_RECORD_HISTORIES"), os.Getenv("OFFICEX_RECORD_PERIOD")
	if prefix == "" || period == "" {
		t.Skip("OFFICEX_RECORD_HISTORIES and OFFICEX_RECORD_PERIOD are not set")
	}
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "500")
	transfer := approvedPayout(t, c, stripePayout(a.WalletID, 100, acctOf(vendor), ""), vendor)
	bank := approvedPayout(t, c, map[string]any{"wallet_id": a.WalletID, "amount": 200, "destination": map[string]any{
		"type": "bank", "account_id": "ba_1Nv0FGQ9RKHgCVdKgood", "connected_account_id": acctOf(vendor)}}, vendor)
	done := startBatch(c, period)
	var poID string
	waitFor(t, "the bank payout created", func() bool {
		poID, _ = payoutOf(t, c, bank)["stripe_id"].(string)
		return poID != ""
	})
	if _, err := env.Stripe.SettlePayout(poID); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.Status != 200 || r.Body["completed"] != 2.0 {
		t.Fatalf("batch %d %s", r.Status, r.Raw)
	}
	recordWorkflowHistory(t, workflows.PayoutBatchWorkflowID(period), "payout_batch_"+prefix)
	recordWorkflowHistory(t, workflows.PayoutWorkflowID(transfer), "payout_"+prefix+"_stripe")
	recordWorkflowHistory(t, workflows.PayoutWorkflowID(bank), "payout_"+prefix+"_bank")
}
