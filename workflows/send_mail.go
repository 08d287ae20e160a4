package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// SendMailWorkflowID is the workflow id of one mail message.
func SendMailWorkflowID(messageID string) string { return "send-mail-" + messageID }

// SendMailWorkflowName is the name SendMail.SendMailWorkflow is registered
// and started under; recorded histories carry it, so it never changes.
const SendMailWorkflowName = "SendMailWorkflow"

// Mail delivery bounds: one SMTP conversation per attempt (15 s at most),
// retried with backoff from MailRetryFirst to MailMaxInterval for MailRetryFor.
// A one-time code's mail stops earlier, when its code expires (the activity
// drops it then).
const (
	MailAttemptTimeout = 30 * time.Second
	MailRetryFirst     = time.Second
	MailMaxInterval    = 5 * time.Minute
	MailRetryFor       = 24 * time.Hour
	// MailMaxAttempts backs MailRetryFor with a count (a day of this backoff
	// is about 295 attempts, so the duration is what ends it).
	MailMaxAttempts = 400
)

// Statuses a delivery ends with.
const (
	MailSent    = "sent"
	MailExpired = "expired"
)

// SendMailInput names the message row; its recipient and body (which may
// hold a one-time code) are read from the database, never kept in history.
type SendMailInput struct {
	MessageID string
}

// SendMailResult is how the delivery ended.
type SendMailResult struct {
	Status string // MailSent or MailExpired
}

// MailActivities are the activities of SendMailWorkflow; the worker binds
// activities.Mail, tests a fake. The method name is the activity type name in
// recorded histories, so it never changes.
type MailActivities interface {
	// SendMail delivers the message unless it was sent or dropped before,
	// and answers its final status.
	SendMail(ctx context.Context, messageID string) (string, error)
}

// SendMail is SendMailWorkflow bound to its activities, which it calls by
// method reference. Register it under SendMailWorkflowName.
type SendMail struct {
	Acts MailActivities
}

// SendMailWorkflow delivers one message, retrying a failing mail server with
// backoff; every attempt and its error are visible in the Temporal UI.
func (w SendMail) SendMailWorkflow(ctx workflow.Context, in SendMailInput) (SendMailResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    MailAttemptTimeout,
		ScheduleToCloseTimeout: MailRetryFor,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: MailRetryFirst, BackoffCoefficient: 2,
			MaximumInterval: MailMaxInterval, MaximumAttempts: MailMaxAttempts},
	})
	var status string
	if err := workflow.ExecuteActivity(ctx, w.Acts.SendMail, in.MessageID).Get(ctx, &status); err != nil {
		return SendMailResult{}, err
	}
	return SendMailResult{Status: status}, nil
}
