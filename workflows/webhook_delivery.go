package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// WebhookDeliveryWorkflowID is the workflow id of one lifecycle event.
func WebhookDeliveryWorkflowID(deliveryID string) string { return "webhook-" + deliveryID }

// Webhook delivery bounds: each attempt is one POST with the reference's 25 s
// timeout; failures are retried with exponential backoff for at most a day.
const (
	WebhookAttemptTimeout = 30 * time.Second // the POST's 25 s plus bookkeeping
	WebhookRetryFor       = 24 * time.Hour
	WebhookMaxInterval    = 30 * time.Minute
	WebhookMaxAttempts    = 40
)

// ChangeWebhookStatusAttribute (issue 15): the workflow sets OfficexStatus
// to how the delivery ended (the outbox row started it with "pending", the
// app and the installing user).
const ChangeWebhookStatusAttribute = "issue15-webhook-status-attribute"

// WebhookDeliveryWorkflowName is the name
// WebhookDelivery.WebhookDeliveryWorkflow is registered and started under;
// recorded histories carry it, so it never changes.
const WebhookDeliveryWorkflowName = "WebhookDeliveryWorkflow"

// An error type of the delivery, and its first backoff.
const (
	WebhookNotCommittedError = "DeliveryNotCommitted"
	DefaultWebhookRetryFirst = 5 * time.Second
)

// WebhookDeliveryInput names the delivery row; the payload (and the install
// secret an INSTALL carries) is read from the database, never kept in history.
type WebhookDeliveryInput struct {
	DeliveryID   string
	InitialRetry time.Duration // first backoff; 0 means DefaultWebhookRetryFirst
	Redeliver    bool          // send even if delivered before (the vendor asked)
}

// WebhookDeliveryResult is how the delivery ended.
type WebhookDeliveryResult struct {
	Status string // delivered, skipped, failed, abandoned
}

// WebhookActivities are the activities of WebhookDeliveryWorkflow; the worker
// binds activities.Webhooks, tests a fake. The method names are the activity
// type names in recorded histories, so they never change.
type WebhookActivities interface {
	DeliverWebhook(ctx context.Context, in WebhookDeliveryInput) (WebhookDeliveryResult, error)
	GiveUpWebhook(ctx context.Context, deliveryID string) error
}

// WebhookDelivery is WebhookDeliveryWorkflow bound to its activities, which it
// calls by method reference. Register it under WebhookDeliveryWorkflowName.
type WebhookDelivery struct {
	Acts WebhookActivities
}

// WebhookDeliveryWorkflow POSTs one signed event to the app until a 2xx
// answer, retrying with backoff for WebhookRetryFor; each attempt is recorded.
func (w WebhookDelivery) WebhookDeliveryWorkflow(ctx workflow.Context, in WebhookDeliveryInput) (WebhookDeliveryResult, error) {
	res, err := w.deliver(ctx, in)
	if err == nil && res.Status != "" {
		UpsertBusiness(ctx, ChangeWebhookStatusAttribute, Business{Status: res.Status})
	}
	return res, err
}

func (w WebhookDelivery) deliver(ctx workflow.Context, in WebhookDeliveryInput) (WebhookDeliveryResult, error) {
	first := in.InitialRetry
	if first <= 0 {
		first = DefaultWebhookRetryFirst
	}
	deliverCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    WebhookAttemptTimeout,
		ScheduleToCloseTimeout: WebhookRetryFor,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: first, BackoffCoefficient: 2,
			MaximumInterval: WebhookMaxInterval, MaximumAttempts: WebhookMaxAttempts},
	})
	var res WebhookDeliveryResult
	err := workflow.ExecuteActivity(deliverCtx, w.Acts.DeliverWebhook, in).Get(ctx, &res)
	if err == nil {
		return res, nil
	}
	// Out of attempts or time: record the failure for the vendor's list.
	giveUpCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 10},
	})
	if gErr := workflow.ExecuteActivity(giveUpCtx, w.Acts.GiveUpWebhook, in.DeliveryID).Get(ctx, nil); gErr != nil {
		return WebhookDeliveryResult{}, gErr
	}
	return WebhookDeliveryResult{Status: "failed"}, nil
}
