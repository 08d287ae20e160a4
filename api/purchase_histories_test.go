package api_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/officex/officex/workflows"
)

// TestPurchase_RecordHistories records CreditPurchaseWorkflow histories of
// real runs (a paid card, a decline, 3-D Secure completed and failed) into
// workflows/testdata/histories, where the replay test in workflows/ runs them
// through the current code. Run it with OFFICEX_RECORD_HISTORIES=<prefix>
// before changing the workflow, so the old histories are kept.
func TestPurchase_RecordHistories(t *testing.T) {
	prefix := os.Getenv("OFFICEX_RECORD_HISTORIES")
	if prefix == "" {
		t.Skip("OFFICEX_RECORD_HISTORIES is not set")
	}
	c := env.Client(t)
	u := c.NewUser()
	record := func(name, key string) {
		t.Helper()
		id, _, _ := purchaseRow(t, u.ID, key)
		ctx := context.Background()
		run := env.Temporal.GetWorkflow(ctx, workflows.CreditPurchaseWorkflowID(id), "")
		if err := run.Get(ctx, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Decoded: recorded histories replay without the test's codec key.
		history := env.History(t, workflows.CreditPurchaseWorkflowID(id), run.GetRunID())
		raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "workflows", "testdata", "histories", "credit_purchase_"+prefix+"_"+name+".json")
		if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.Post("/purchase-credits", purchase(20, "tok_visa", "h-paid"), u.Headers()).Expect(t, 200, "")
	record("paid", "h-paid")
	c.Post("/purchase-credits", purchase(20, "tok_chargeDeclined", "h-declined"), u.Headers()).Expect(t, 402, "PAYMENT_FAILED")
	record("declined", "h-declined")
	for _, ok := range []bool{true, false} {
		key := map[bool]string{true: "h-3ds-paid", false: "h-3ds-failed"}[ok]
		r := c.Post("/purchase-credits", purchase(20, "tok_threeDSecure2Required", key), u.Headers()).Expect(t, 202, "")
		event, err := env.Stripe.CompleteAction(r.String("payment_intent_id"), ok)
		if err != nil {
			t.Fatal(err)
		}
		sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, "")
		record(key[2:], key)
	}
}
