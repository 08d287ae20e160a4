package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	mailer "github.com/officex/officex/internal/mail"
	"github.com/officex/officex/internal/mailout"
	"github.com/officex/officex/workflows"
)

// Mail holds the activity of SendMailWorkflow: it reads a queued message and
// hands it to the mail server.
type Mail struct {
	Pool   *pgxpool.Pool
	Queue  *mailout.Queue
	Sender mailer.Sender
}

// SendMail delivers message messageID. Idempotent by the message's status: a
// message already sent or dropped is not sent again. Delivery is at least
// once: a crash between the server's acceptance and the status update sends
// it again on retry. A message whose ExpiresAt passed is dropped (its code is
// dead). The body is erased from the database either way.
func (a *Mail) SendMail(ctx context.Context, messageID string) (string, error) {
	id, err := uuid.Parse(messageID)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("bad message id", "BadMessageID", err)
	}
	q := dbgen.New(a.Pool)
	msg, err := q.GetMailMessage(ctx, id)
	if db.IsNotFound(err) {
		return "", temporal.NewNonRetryableApplicationError("no such message", "MessageNotFound", err)
	}
	if err != nil {
		return "", fmt.Errorf("get mail %s: %w", id, err)
	}
	if msg.Status != "pending" {
		return msg.Status, nil
	}
	if msg.ExpiresAt != nil && time.Now().After(*msg.ExpiresAt) {
		return workflows.MailExpired, q.MarkMailExpired(ctx, id)
	}
	if a.Sender == nil {
		return "", errors.New("this worker has no mail sender (SMTP_URL unset)")
	}
	body, err := a.Queue.Open(msg)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("message cannot be opened", "MessageSealed", err)
	}
	if err := a.Sender.Send(ctx, msg.Recipient, msg.Subject, body); err != nil {
		// Recorded for operators, and in the workflow's history without the
		// address (SMTP errors may name the recipient).
		reason := truncate(strings.ReplaceAll(err.Error(), msg.Recipient, "<recipient>"), 500)
		_ = q.RecordMailFailure(ctx, dbgen.RecordMailFailureParams{ID: id, LastError: &reason})
		return "", errors.New(reason)
	}
	if err := q.MarkMailSent(ctx, id); err != nil {
		return "", fmt.Errorf("mark mail %s sent: %w", id, err)
	}
	return workflows.MailSent, nil
}

// truncate cuts s to at most n bytes on a rune boundary (PostgreSQL refuses
// invalid UTF-8).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
