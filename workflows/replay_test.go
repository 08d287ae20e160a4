package workflows

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// webhookActs and reconcileActs are fakes for the replayer: a replay takes
// activity results from the history and never calls an activity.
type webhookActs struct{}

var _ WebhookActivities = webhookActs{}

func (webhookActs) DeliverWebhook(context.Context, WebhookDeliveryInput) (WebhookDeliveryResult, error) {
	return WebhookDeliveryResult{}, nil
}
func (webhookActs) GiveUpWebhook(context.Context, string) error { return nil }

type reconcileActs struct{}

var _ ReconcileActivities = reconcileActs{}

func (reconcileActs) CheckLedger(context.Context) (ReconcileResult, error) {
	return ReconcileResult{}, nil
}

// replayer has every workflow registered under its fixed name, as the
// worker registers it, bound to fakes.
func replayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	reg := func(fn any, name string) { r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name}) }
	reg(PingWorkflow, "PingWorkflow")
	reg(CreditPurchase{Acts: &purchaseActs{}}.CreditPurchaseWorkflow, CreditPurchaseWorkflowName)
	reg(WebhookDelivery{Acts: webhookActs{}}.WebhookDeliveryWorkflow, WebhookDeliveryWorkflowName)
	reg(Reservation{Acts: &reservationActs{}}.ReservationWorkflow, ReservationWorkflowName)
	reg(Payout{Acts: &payoutActs{}}.PayoutWorkflow, PayoutWorkflowName)
	reg(PayoutBatch{Acts: &batchActs{}}.PayoutBatchWorkflow, PayoutBatchWorkflowName)
	reg(PayoutBatchTrigger{Acts: &triggerActs{}}.PayoutBatchTriggerWorkflow, PayoutBatchTriggerWorkflowName)
	reg(ChatRun{Acts: &fakeChatRun{}}.ChatRunWorkflow, ChatRunWorkflowName)
	reg(SendMail{Acts: &mailActs{}}.SendMailWorkflow, SendMailWorkflowName)
	reg(Reconcile{Acts: reconcileActs{}}.ReconcileWorkflow, ReconcileWorkflowName)
	return r
}

// recordedPaths are the runs each workflow must have a recorded history of
// (file name prefix, then the paths after the version): every workflow, and
// each way it can end that takes different commands.
var recordedPaths = map[string][]string{
	"ping":                 {""},
	"credit_purchase":      {"paid", "declined", "3ds-paid", "3ds-failed"},
	"webhook_delivery":     {"delivered", "retried"},
	"reservation":          {"expired", "settled"},
	"payout":               {"stripe", "bank"},
	"payout_batch":         {""},
	"payout_batch_trigger": {""},
	"chat_run":             {""},
	"send_mail":            {""},
	"reconcile":            {""},
}

// Every recorded history (testdata/histories, recorded from real runs by
// the api package's Test*_RecordHistories) replays on today's code: a change
// of a workflow's commands that is not behind workflow.GetVersion fails
// here, and so does a workflow without recorded runs of each of its paths.
func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[historyKind(filepath.Base(f))] = true
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := replayer().ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
	var missing []string
	for wf, paths := range recordedPaths {
		for _, p := range paths {
			if !have[wf+"/"+p] {
				missing = append(missing, strings.TrimSuffix(wf+"_<version>_"+p, "_"))
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no recorded history %s.json in testdata/histories", m)
	}
}

// historyKind maps <workflow>_<version>[_<path>].json to "<workflow>/<path>".
func historyKind(name string) string {
	name = strings.TrimSuffix(name, ".json")
	parts := strings.Split(name, "_")
	for i, p := range parts {
		if len(p) >= 2 && p[0] == 'v' && strings.Trim(p[1:], "0123456789") == "" {
			return strings.Join(parts[:i], "_") + "/" + strings.Join(parts[i+1:], "_")
		}
	}
	return name + "/"
}
