// Package mailout is OfficeX's transactional email: a message is written in
// the database transaction that decides to send it, together with the start
// of its SendMailWorkflow in the outbox (internal/outbox), whose relay starts
// one SendMailWorkflow per message after the commit; the workflow delivers it
// through internal/mail with retries (visible in the Temporal UI). A request
// therefore never waits on a mail server, and a crash after the commit never
// loses a message. Bodies may hold one-time codes: they are sealed with the
// application key, erased once the message is sent or dropped, and never put
// in a workflow payload (the workflow carries the message id only).
// It knows nothing of what the messages mean.
package mailout

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/outbox"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/workflows"
)

// sealContext binds sealed bodies to this use of the application key.
const sealContext = "mail-body"

// Limits of one message (the database checks them too).
const (
	MaxSubjectLength = 200
	MaxBodyLength    = 10_000
)

// Message is one plain-text email to one recipient.
type Message struct {
	To      string
	Subject string
	Body    string
	// ExpiresAt, when set, is when the message stops being worth sending
	// (a one-time code's expiry): a delivery still retrying then is dropped.
	ExpiresAt *time.Time
}

// Queue writes messages for delivery.
type Queue struct {
	box *secretbox.Box
}

// NewQueue makes a Queue that seals bodies with box.
func NewQueue(box *secretbox.Box) *Queue { return &Queue{box: box} }

// Enqueue writes m and the outbox row that starts its SendMailWorkflow, in
// q's transaction (q must be bound to one): the message exists, and will be
// sent, exactly when the caller's transaction commits. This is the one place
// a mail start enters the outbox.
func (qu *Queue) Enqueue(ctx context.Context, q *dbgen.Queries, m Message) (uuid.UUID, error) {
	if len(m.Subject) == 0 || len(m.Subject) > MaxSubjectLength || len(m.Body) > MaxBodyLength {
		return uuid.Nil, fmt.Errorf("mail to enqueue: subject 1-%d and body up to %d bytes", MaxSubjectLength, MaxBodyLength)
	}
	id, err := q.InsertMailMessage(ctx, dbgen.InsertMailMessageParams{
		Recipient: m.To, Subject: m.Subject, BodySealed: qu.box.Seal([]byte(m.Body), sealContext), ExpiresAt: m.ExpiresAt,
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("enqueue mail: %w", err)
	}
	_, err = outbox.EnqueueIn(ctx, q, outbox.Start{Kind: "mail", WorkflowID: workflows.SendMailWorkflowID(id.String()),
		WorkflowType: workflows.SendMailWorkflowName, Input: workflows.SendMailInput{MessageID: id.String()}})
	if err != nil {
		return uuid.Nil, fmt.Errorf("enqueue mail: %w", err)
	}
	return id, nil
}

// Open returns the body of a pending message read from the database.
func (qu *Queue) Open(row dbgen.MailMessage) (string, error) {
	body, err := qu.box.Open(row.BodySealed, sealContext)
	if err != nil {
		return "", fmt.Errorf("open mail %s: %w", row.ID, err)
	}
	return string(body), nil
}
