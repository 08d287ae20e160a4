package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/officex/officex/internal/fake/openaiserver"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

// historyWait bounds how long a recorded workflow takes to end.
const historyWait = 60 * time.Second

// saveHistory waits until the workflow's current run closed and writes its
// history, payloads decoded (recorded histories replay without the test's
// codec key), to workflows/testdata/histories/<name>.json.
func saveHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), historyWait)
	defer cancel()
	run := env.Temporal.GetWorkflow(ctx, workflowID, "")
	_ = run.Get(ctx, nil) // a workflow that failed is a history too; the describe below says it closed
	desc, err := env.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	info := desc.WorkflowExecutionInfo
	if info.CloseTime == nil {
		t.Fatalf("%s: %s still running after %s", name, workflowID, historyWait)
	}
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(env.History(t, workflowID, info.Execution.RunId))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startForHistory starts a workflow the way its real starter would (the
// relay, a Schedule), under an id of this test's own.
func startForHistory(t *testing.T, id, workflowType string, in any) string {
	t.Helper()
	_, err := env.Temporal.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: env.Config.TaskQueue},
		workflowType, in)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestWorkflows_RecordHistories records, from real runs on the package's
// stack, the histories of every workflow that TestPurchase_RecordHistories
// and TestPayout_RecordHistories do not: both ends of a reservation, a
// webhook delivered at once and one retried, a mail, the reconcile, a
// scheduled chat run (the fake model server answers), the monthly batch's
// trigger and the ping. workflows' TestRecordedHistoriesReplay runs them
// through the current code. Run it with OFFICEX_RECORD_HISTORIES=<prefix>
// (v0, v1, ...) before changing one of these workflows, so the histories
// of the runs in flight are kept (see the versioning rule in workflows/doc.go).
func TestWorkflows_RecordHistories(t *testing.T) {
	prefix := os.Getenv("OFFICEX_RECORD_HISTORIES")
	if prefix == "" {
		t.Skip("OFFICEX_RECORD_HISTORIES is not set")
	}
	tag := fmt.Sprintf("%08x", rand.Uint32())
	c := env.Client(t)

	t.Run("reservation", func(t *testing.T) {
		_, _, in := billingSetup(t, c, "10", nil)
		c.Post("/reserve", map[string]any{"amount": 4, "job_id": "h-expired", "timeout_seconds": 1}, in.Headers()).Expect(t, 200, "")
		c.Post("/settle", map[string]any{"reservation_id": "RESV#h-expired", "amount": 1}, in.Headers()).Expect(t, 200, "")
		waitReservation(t, c, in, "RESV%23h-expired", "expired", 15*time.Second)
		saveHistory(t, workflows.ReservationWorkflowID(reservationUUID(t, c, in, "RESV%23h-expired")), "reservation_"+prefix+"_expired")

		c.Post("/reserve", map[string]any{"amount": 1, "job_id": "h-settled", "timeout_seconds": 600}, in.Headers()).Expect(t, 200, "")
		wfID := workflows.ReservationWorkflowID(reservationUUID(t, c, in, "RESV%23h-settled"))
		testenv.Eventually(t, 15*time.Second, "the relay started "+wfID, func() bool {
			_, err := env.Temporal.DescribeWorkflowExecution(t.Context(), wfID, "")
			return err == nil
		})
		c.Post("/settle", map[string]any{"reservation_id": "RESV#h-settled", "amount": 1, "final": true}, in.Headers()).Expect(t, 200, "")
		saveHistory(t, wfID, "reservation_"+prefix+"_settled")
	})

	t.Run("webhook", func(t *testing.T) {
		for _, fails := range []int{0, 2} {
			_, a, rc := appWithReceiver(t, c, map[string]any{})
			rc.Respond = func(_ testenv.Hook, n int) (int, any) {
				if n < fails {
					return 503, map[string]any{"error": "busy"}
				}
				return 200, map[string]any{"ok": true}
			}
			c.Install(c.NewUser(), a.ID, nil)
			hooks := rc.WaitFor(t, fails+1, 30*time.Second)
			saveHistory(t, workflows.WebhookDeliveryWorkflowID(hooks[0].ID),
				"webhook_delivery_"+prefix+"_"+map[bool]string{true: "delivered", false: "retried"}[fails == 0])
		}
	})

	t.Run("mail", func(t *testing.T) {
		mc, box := productionAPI(t)
		email := testenv.UniqueEmail("history")
		mc.Post("/auth/register", map[string]any{"email": email}, nil).Expect(t, 200, "")
		mailsTo(t, box, email, 1)
		var id string
		if err := env.Pool.QueryRow(t.Context(), `SELECT id::text FROM mail_messages WHERE recipient = $1`, email).Scan(&id); err != nil {
			t.Fatal(err)
		}
		saveHistory(t, workflows.SendMailWorkflowID(id), "send_mail_"+prefix)
	})

	t.Run("chat run", func(t *testing.T) {
		s := newSchedStack(t, openaiserver.Say("Two new leads.", 5))
		sch := s.create(map[string]any{"title": "Leads", "prompt": "List new leads", "interval_seconds": 3600})
		id := sch["schedule_id"].(string)
		s.trigger(id)
		actions := mustDescribe(t, id).Info.RecentActions // the trigger's action, the only one
		if len(actions) != 1 || actions[0].StartWorkflowResult == nil {
			t.Fatalf("schedule actions %+v, want the trigger's", actions)
		}
		saveHistory(t, actions[0].StartWorkflowResult.WorkflowID, "chat_run_"+prefix)
	})

	t.Run("reconcile, trigger, ping", func(t *testing.T) {
		saveHistory(t, startForHistory(t, "reconcile-history-"+tag, workflows.ReconcileWorkflowName, workflows.ReconcileInput{}),
			"reconcile_"+prefix)
		period := fmt.Sprintf("%04d-%02d", 3000+rand.IntN(6000), 1+rand.IntN(12))
		saveHistory(t, startForHistory(t, "payout-batch-trigger-history-"+tag, workflows.PayoutBatchTriggerWorkflowName,
			workflows.PayoutBatchInput{Period: period, Trigger: "schedule"}), "payout_batch_trigger_"+prefix)
		saveHistory(t, workflows.PayoutBatchWorkflowID(period), "payout_batch_"+prefix+"_empty")
		saveHistory(t, startForHistory(t, "ping-history-"+tag, "PingWorkflow", workflows.PingInput{Note: "history"}), "ping_"+prefix)
	})
}
