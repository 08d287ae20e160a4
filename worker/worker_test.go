package worker

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// recorder notes the workflow names Register uses and passes everything on
// to the SDK's test environment, whose registry names the activities.
type recorder struct {
	*testsuite.TestWorkflowEnvironment
	workflows []string
}

func (r *recorder) RegisterWorkflow(w any) {
	name := runtime.FuncForPC(reflect.ValueOf(w).Pointer()).Name()
	r.workflows = append(r.workflows, name[strings.LastIndex(name, ".")+1:])
	r.TestWorkflowEnvironment.RegisterWorkflow(w)
}

func (r *recorder) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	r.workflows = append(r.workflows, o.Name)
	r.TestWorkflowEnvironment.RegisterWorkflowWithOptions(w, o)
}

// registeredActivities lists the activity types the SDK's registry holds: it
// names them when asked to mock one that is not registered.
func registeredActivities(t *testing.T, env *testsuite.TestWorkflowEnvironment) (names []string) {
	t.Helper()
	defer func() {
		msg := fmt.Sprint(recover())
		_, list, ok := strings.Cut(msg, "registered types are: ")
		if !ok {
			t.Fatalf("the SDK no longer lists the registered activities: %s", msg)
		}
		names = strings.Split(list, ", ")
		slices.Sort(names)
	}()
	env.OnActivity("NoSuchActivity")
	return nil
}

// The workflow and activity type names are in recorded histories, running
// workflows and the Schedules' actions: calling activities by method
// reference must not have renamed any of them.
func TestRegister_TypeNamesNeverChange(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	r := &recorder{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment()}
	Register(r, Deps{})

	slices.Sort(r.workflows)
	wantWorkflows := []string{"ChatRunWorkflow", "CreditPurchaseWorkflow", "PayoutBatchTriggerWorkflow", "PayoutBatchWorkflow", "PayoutWorkflow",
		"PingWorkflow", "ReconcileWorkflow", "ReservationWorkflow", "SendMailWorkflow", "WebhookDeliveryWorkflow"}
	if !slices.Equal(r.workflows, wantWorkflows) {
		t.Errorf("workflow types %v, want %v", r.workflows, wantWorkflows)
	}

	wantActivities := []string{
		"DatabaseTime",
		"CancelPayment", "ChargeCard", "CreditPurchase", "FailCanceledPurchase", "FailPurchase", "LoadPurchase", "MarkRequiresAction",
		"DeliverWebhook", "GiveUpWebhook",
		"ExpireReservation",
		"BurnPayout", "ClearUSDC", "CompletePayout", "FailPayout", "PrepareUSDC", "SendUSDC", "StripeBankPayout",
		"StripePayoutStatus", "StripeTransfer", "USDCStatus", "BankTransfer", "AwaitBankPayout",
		"FinishPayoutBatch", "StartPayoutBatch", "StartPeriodPayoutBatch",
		"CreateChatRunThread", "FinishChatRun", "PostChatRunInbox", "RecordChatRunSkips", "RunChatAgent", "StartChatRun",
		"CheckLedger",
		"SendMail",
	}
	slices.Sort(wantActivities)
	if got := registeredActivities(t, r.TestWorkflowEnvironment); !slices.Equal(got, wantActivities) {
		t.Errorf("activity types %v, want %v", got, wantActivities)
	}
}
