package activities

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/safehttp"
	"github.com/officex/officex/workflows"
)

// Webhook request bounds: the reference's 25 s timeout and a cap on what we
// read back (only an INSTALL answer's agent_context matters).
const (
	WebhookTimeout      = 25 * time.Second
	maxWebhookAnswer    = 64 << 10
	maxRecordedErrorLen = 500
)

// Webhooks are the activities of WebhookDeliveryWorkflow.
type Webhooks struct {
	Apps   *apps.Service
	Client *http.Client // safehttp: no redirects, private addresses refused unless allowed
}

// NewWebhookClient is the SSRF-safe client deliveries go through.
func NewWebhookClient(allowPrivate bool) *http.Client {
	return safehttp.New(safehttp.Options{AllowPrivate: allowPrivate, Timeout: WebhookTimeout})
}

// DeliverWebhook makes one signed POST of a delivery and records it. Only a
// 2xx counts; anything else is an error Temporal retries with backoff.
// Idempotent by the delivery id: a delivered event is not sent again, and
// receivers can deduplicate on webhook-id.
func (w *Webhooks) DeliverWebhook(ctx context.Context, in workflows.WebhookDeliveryInput) (workflows.WebhookDeliveryResult, error) {
	id, err := uuid.Parse(in.DeliveryID)
	if err != nil {
		return workflows.WebhookDeliveryResult{}, err
	}
	d, err := w.Apps.PrepareDelivery(ctx, id, in.Redeliver)
	if err != nil {
		return workflows.WebhookDeliveryResult{}, err
	}
	switch {
	case d.Missing: // the outbox starts only committed deliveries: a start from before it whose request rolled back
		return workflows.WebhookDeliveryResult{Status: "abandoned"}, nil
	case d.Skipped:
		return workflows.WebhookDeliveryResult{Status: "skipped"}, nil
	case d.Done:
		return workflows.WebhookDeliveryResult{Status: "delivered"}, nil
	}
	outcome, answer := w.post(ctx, d)
	if outcome.Delivered && d.Event == apps.EventInstall {
		if ac, err := apps.ParseAgentContext(answer); err != nil {
			msg := "agent_context ignored: " + err.Error()
			outcome.Error = &msg
		} else {
			outcome.AgentContext = ac
		}
	}
	if err := w.Apps.RecordAttempt(ctx, id, d.InstallID, outcome); err != nil {
		return workflows.WebhookDeliveryResult{}, err
	}
	if !outcome.Delivered {
		return workflows.WebhookDeliveryResult{}, fmt.Errorf("webhook %s attempt failed: %s", id, deref(outcome.Error))
	}
	return workflows.WebhookDeliveryResult{Status: "delivered"}, nil
}

func (w *Webhooks) post(ctx context.Context, d apps.PreparedDelivery) (apps.AttemptOutcome, []byte) {
	start := time.Now()
	fail := func(msg string) (apps.AttemptOutcome, []byte) {
		if len(msg) > maxRecordedErrorLen {
			msg = msg[:maxRecordedErrorLen]
		}
		return apps.AttemptOutcome{Error: &msg, Duration: time.Since(start)}, nil
	}
	ts := time.Now().Unix()
	sig, err := apps.SignWebhook(d.Secret, d.ID, ts, d.Body)
	if err != nil {
		return fail(err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return fail(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "OfficeX-Webhooks/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.Client.Do(req)
	if err != nil {
		return fail(safehttp.Describe(err)) // vendors see the attempt log: no internal addresses
	}
	defer resp.Body.Close()
	answer, readErr := safehttp.ReadLimited(resp.Body, maxWebhookAnswer)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookAnswer))
	code := int32(resp.StatusCode)
	o := apps.AttemptOutcome{StatusCode: &code, Duration: time.Since(start), Delivered: code >= 200 && code < 300}
	if !o.Delivered {
		msg := fmt.Sprintf("answered %d", code)
		o.Error = &msg
	}
	if readErr != nil {
		answer = nil
	}
	return o, answer
}

// GiveUpWebhook marks a delivery failed after its retries ran out.
// Idempotent: a delivered event stays delivered.
func (w *Webhooks) GiveUpWebhook(ctx context.Context, deliveryID string) error {
	id, err := uuid.Parse(deliveryID)
	if err != nil {
		return err
	}
	return w.Apps.GiveUp(ctx, id)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
