// Package worker registers every OfficeX workflow and activity on the task
// queue and creates the Temporal Schedules.
package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76/client"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	tclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/internal/chat"
	mailer "github.com/officex/officex/internal/mail"
	"github.com/officex/officex/internal/mailout"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/internal/usdc"
	"github.com/officex/officex/workflows"
)

// Deps are what the activities need.
type Deps struct {
	Pool          *pgxpool.Pool
	Stripe        *client.API
	Box           *secretbox.Box
	Apps          *apps.Service
	Billing       *billing.Service
	Payouts       *payouts.Service
	USDC          *usdc.Client // nil: USDC payouts are not configured
	WebhookClient *http.Client
	Schedules     *schedules.Service
	Agent         *chat.Agent // nil: OPENAI_API_KEY unset, scheduled runs fail saying so
	// Mail delivers SendMailWorkflow's messages (SMTP, or mail.Disabled in
	// testing mode); nil: a delivery fails and retries until a worker has one.
	Mail mailer.Sender
	// Temporal and TaskQueue are where the monthly Schedule's trigger starts
	// the period's batch; New fills them with its client and queue when unset.
	Temporal  tclient.Client
	TaskQueue string
}

// New returns a worker on taskQueue with everything registered; the caller
// runs it (Run or Start) and stops it.
func New(c tclient.Client, taskQueue string, d Deps) sdkworker.Worker {
	// More pollers than the default two: a burst of reservation expiries or
	// payouts is then pulled from the service in parallel.
	w := sdkworker.New(c, taskQueue, sdkworker.Options{MaxConcurrentWorkflowTaskPollers: 8, MaxConcurrentActivityTaskPollers: 8})
	if d.Temporal == nil {
		d.Temporal = c
	}
	if d.TaskQueue == "" {
		d.TaskQueue = taskQueue
	}
	Register(w, d)
	return w
}

// Registry is where Register registers: a worker, or a test environment.
type Registry interface {
	sdkworker.WorkflowRegistry
	sdkworker.ActivityRegistry
}

// Register registers every workflow and activity on r. Workflows call their
// activities by method reference on the structs bound here, so an activity's
// type name is its method name; workflows are registered under their fixed
// names (workflows.*WorkflowName), which recorded histories, running
// workflows and the Schedules' actions carry.
func Register(r Registry, d Deps) {
	r.RegisterWorkflow(workflows.PingWorkflow)
	ping := &activities.Ping{Pool: d.Pool}
	r.RegisterActivityWithOptions(ping.DatabaseTime, activity.RegisterOptions{Name: workflows.PingActivityName})

	p := &activities.Purchases{Pool: d.Pool, Stripe: d.Stripe, Box: d.Box}
	r.RegisterWorkflowWithOptions(workflows.CreditPurchase{Acts: p}.CreditPurchaseWorkflow,
		workflow.RegisterOptions{Name: workflows.CreditPurchaseWorkflowName})
	r.RegisterActivity(p)

	hooks := &activities.Webhooks{Apps: d.Apps, Client: d.WebhookClient}
	r.RegisterWorkflowWithOptions(workflows.WebhookDelivery{Acts: hooks}.WebhookDeliveryWorkflow,
		workflow.RegisterOptions{Name: workflows.WebhookDeliveryWorkflowName})
	r.RegisterActivity(hooks)

	resv := &activities.Reservations{Billing: d.Billing}
	r.RegisterWorkflowWithOptions(workflows.Reservation{Acts: resv}.ReservationWorkflow,
		workflow.RegisterOptions{Name: workflows.ReservationWorkflowName})
	r.RegisterActivity(resv)

	// activities.Payouts holds the activities of both payout workflows.
	pay := &activities.Payouts{Payouts: d.Payouts, Stripe: d.Stripe, USDC: d.USDC}
	r.RegisterWorkflowWithOptions(workflows.Payout{Acts: pay}.PayoutWorkflow,
		workflow.RegisterOptions{Name: workflows.PayoutWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.PayoutBatch{Acts: pay}.PayoutBatchWorkflow,
		workflow.RegisterOptions{Name: workflows.PayoutBatchWorkflowName})
	r.RegisterActivity(pay)

	trigger := &activities.PayoutBatchStarter{Temporal: d.Temporal, TaskQueue: d.TaskQueue}
	r.RegisterWorkflowWithOptions(workflows.PayoutBatchTrigger{Acts: trigger}.PayoutBatchTriggerWorkflow,
		workflow.RegisterOptions{Name: workflows.PayoutBatchTriggerWorkflowName})
	r.RegisterActivity(trigger)

	chatRun := &activities.Chat{Schedules: d.Schedules, Agent: d.Agent}
	r.RegisterWorkflowWithOptions(workflows.ChatRun{Acts: chatRun}.ChatRunWorkflow,
		workflow.RegisterOptions{Name: workflows.ChatRunWorkflowName})
	r.RegisterActivity(chatRun)

	sendMail := &activities.Mail{Pool: d.Pool, Queue: mailout.NewQueue(d.Box), Sender: d.Mail}
	r.RegisterWorkflowWithOptions(workflows.SendMail{Acts: sendMail}.SendMailWorkflow,
		workflow.RegisterOptions{Name: workflows.SendMailWorkflowName})
	r.RegisterActivity(sendMail)

	rec := &activities.Reconcile{Pool: d.Pool}
	r.RegisterWorkflowWithOptions(workflows.Reconcile{Acts: rec}.ReconcileWorkflow,
		workflow.RegisterOptions{Name: workflows.ReconcileWorkflowName})
	r.RegisterActivity(rec)
}

// EnsureSchedules creates each of the platform's Temporal Schedules
// (Schedules) when it is missing and otherwise updates it to the code's spec,
// action and policies, so a changed spec or task queue is applied on the next
// worker start. Every worker calls it at start; running it again changes
// nothing. A Schedule's paused state is the operator's and is kept.
func EnsureSchedules(ctx context.Context, c tclient.Client, taskQueue string) error {
	return Ensure(ctx, c, Schedules(taskQueue))
}

// Schedules are the platform's own Temporal Schedules, their actions on
// taskQueue: the monthly payout batch and the hourly reconcile.
func Schedules(taskQueue string) []tclient.ScheduleOptions {
	return []tclient.ScheduleOptions{
		{
			ID:   workflows.ReconcileScheduleID,
			Spec: tclient.ScheduleSpec{Intervals: []tclient.ScheduleIntervalSpec{{Every: workflows.ReconcileInterval}}},
			Action: &tclient.ScheduleWorkflowAction{
				ID: "officex-reconcile", Workflow: workflows.ReconcileWorkflowName, Args: []any{workflows.ReconcileInput{}},
				TaskQueue: taskQueue,
			},
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		},
		{
			// Pays the month that just ended, at 00:05 UTC on the 1st. The
			// action is a trigger that starts or joins payout-batch-<YYYY-MM>,
			// the id a manual run of the period uses: Temporal suffixes an
			// action's workflow id with the scheduled time, so the batch
			// itself cannot be the action under its period's id.
			ID: workflows.PayoutBatchScheduleID,
			Spec: tclient.ScheduleSpec{Calendars: []tclient.ScheduleCalendarSpec{{
				DayOfMonth: []tclient.ScheduleRange{{Start: 1}}, Hour: []tclient.ScheduleRange{{Start: 0}},
				Minute: []tclient.ScheduleRange{{Start: 5}}, Month: []tclient.ScheduleRange{{Start: 1, End: 12}},
				DayOfWeek: []tclient.ScheduleRange{{Start: 0, End: 6}}, Second: []tclient.ScheduleRange{{Start: 0}},
			}}, TimeZoneName: "UTC"},
			Action: &tclient.ScheduleWorkflowAction{
				ID: workflows.PayoutBatchTriggerActionID, Workflow: workflows.PayoutBatchTriggerWorkflowName,
				Args: []any{workflows.PayoutBatchInput{Trigger: "schedule"}}, TaskQueue: taskQueue,
			},
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		},
	}
}

// Ensure creates each Schedule of scheds that does not exist and updates the
// spec, action and policies of each that does (its state, paused or not, is
// left as it is).
func Ensure(ctx context.Context, c tclient.Client, scheds []tclient.ScheduleOptions) error {
	for _, o := range scheds {
		if err := ensure(ctx, c, o); err != nil {
			return err
		}
	}
	return nil
}

func ensure(ctx context.Context, c tclient.Client, o tclient.ScheduleOptions) error {
	h, err := c.ScheduleClient().Create(ctx, o)
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", o.ID, err)
	}
	h = c.ScheduleClient().GetHandle(ctx, o.ID)
	err = h.Update(ctx, tclient.ScheduleUpdateOptions{DoUpdate: func(in tclient.ScheduleUpdateInput) (*tclient.ScheduleUpdate, error) {
		s := in.Description.Schedule
		spec := o.Spec
		s.Spec = &spec
		s.Action = o.Action
		s.Policy = &tclient.SchedulePolicies{Overlap: o.Overlap, CatchupWindow: o.CatchupWindow, PauseOnFailure: o.PauseOnFailure}
		return &tclient.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", o.ID, err)
	}
	return nil
}
