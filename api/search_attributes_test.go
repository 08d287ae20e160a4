package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/officex/officex/internal/testenv"
)

// findWorkflow waits until query (the README's operator queries) finds
// exactly one workflow in Temporal's visibility, and returns it.
func findWorkflow(t *testing.T, query string) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	var found []*workflowpb.WorkflowExecutionInfo
	testenv.Eventually(t, 30*time.Second, "one workflow for "+query, func() bool {
		resp, err := env.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("list %q: %v", query, err)
		}
		found = resp.GetExecutions()
		return len(found) == 1
	})
	return found[0]
}

// attrs are a workflow's search attributes, decoded, and its memo.
func attrs(t *testing.T, info *workflowpb.WorkflowExecutionInfo) (keywords map[string]string, amount int64, memo map[string]string) {
	t.Helper()
	keywords, memo = map[string]string{}, map[string]string{}
	dc := converter.GetDefaultDataConverter()
	for name, p := range info.GetSearchAttributes().GetIndexedFields() {
		if name == "OfficexAmountMicro" {
			if err := dc.FromPayload(p, &amount); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		var s string
		if err := dc.FromPayload(p, &s); err == nil {
			keywords[name] = s
		}
	}
	// Memos are payloads: encrypted by the stack's codec like every other.
	mc := dc
	if env.Codec != nil {
		mc = env.Codec.DataConverter()
	}
	for name, p := range info.GetMemo().GetFields() {
		var s string
		if err := mc.FromPayload(p, &s); err != nil {
			t.Fatalf("memo %s: %v", name, err)
		}
		memo[name] = s
	}
	return keywords, amount, memo
}

func wantKeywords(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// TestPayout_FailedFoundByVendorAndStatus: a payout the rail refuses is found
// by the README's query for a vendor's failed payouts, with its app, wallet,
// amount and a memo saying what it was.
func TestPayout_FailedFoundByVendorAndStatus(t *testing.T) {
	c := env.Client(t)
	vendor, a := vendorWithEarnings(t, c, "300")
	id := c.Post("/payout", stripePayout(a.WalletID, 200, failAcctOf(vendor), ""), vendor.Headers()).Expect(t, 200, "").String("payout_id")
	c.Post("/admin/payouts/"+id+"/approve", nil, testenv.AdminHeaders()).Expect(t, 200, "")
	runBatch(t, c, fmt.Sprintf("%d-%02d", 2100+rand.IntN(800), 1+rand.IntN(12)))
	info := findWorkflow(t, fmt.Sprintf("WorkflowType = 'PayoutWorkflow' AND OfficexStatus = 'failed' AND OfficexUserId = '%s'", vendor.ID))
	if info.GetExecution().GetWorkflowId() != "payout-"+id {
		t.Fatalf("found %s, want payout-%s", info.GetExecution().GetWorkflowId(), id)
	}
	kw, amount, memo := attrs(t, info)
	wantKeywords(t, kw, map[string]string{"OfficexAppId": a.ID, "OfficexWalletId": a.WalletID})
	if amount != 200_000_000 {
		t.Errorf("OfficexAmountMicro = %d, want 200000000", amount)
	}
	if memo["amount_credits"] != "200" || memo["destination_type"] != "stripe" || !strings.Contains(memo["summary"], failAcctOf(vendor)) {
		t.Errorf("memo %v", memo)
	}
	// Nothing else of the vendor's is failed.
	none, err := env.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("OfficexStatus = 'completed' AND OfficexUserId = '%s'", vendor.ID)})
	if err != nil || len(none.GetExecutions()) != 0 {
		t.Fatalf("completed workflows of the vendor: %v %v", none.GetExecutions(), err)
	}
}

// TestReservation_ExpiredFoundByUserAndStatus: a reservation that times out
// is found by its buyer and status expired, with its app, the user's wallet,
// the amount and its job id in the memo.
func TestReservation_ExpiredFoundByUserAndStatus(t *testing.T) {
	c := env.Client(t)
	_, a, in := billingSetup(t, c, "10", nil)
	c.Post("/reserve", map[string]any{"amount": 2.5, "job_id": "found-by-operator", "timeout_seconds": 1}, in.Headers()).Expect(t, 200, "")
	info := findWorkflow(t, fmt.Sprintf("WorkflowType = 'ReservationWorkflow' AND OfficexStatus = 'expired' AND OfficexUserId = '%s'", in.User.ID))
	kw, amount, memo := attrs(t, info)
	wantKeywords(t, kw, map[string]string{"OfficexAppId": a.ID, "OfficexWalletId": in.User.WalletID})
	if amount != 2_500_000 || memo["amount_credits"] != "2.5" || memo["summary"] != "reservation of job found-by-operator" {
		t.Errorf("amount %d memo %v", amount, memo)
	}
}

// TestWebhook_DeliveredFoundByAppAndStatus: an INSTALL delivery is found by
// its app and status delivered, with the installing user.
func TestWebhook_DeliveredFoundByAppAndStatus(t *testing.T) {
	c := env.Client(t)
	_, a, rc := appWithReceiver(t, c, map[string]any{})
	u := c.NewUser()
	c.Install(u, a.Slug, nil)
	rc.WaitFor(t, 1, 20*time.Second)
	info := findWorkflow(t, fmt.Sprintf("WorkflowType = 'WebhookDeliveryWorkflow' AND OfficexAppId = '%s' AND OfficexStatus = 'delivered'", a.ID))
	kw, _, memo := attrs(t, info)
	wantKeywords(t, kw, map[string]string{"OfficexUserId": u.ID})
	if memo["summary"] != "INSTALL webhook to app "+a.Slug {
		t.Errorf("memo %v", memo)
	}
}
