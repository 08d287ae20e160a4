package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/workflows"
)

// Lifecycle events of the reference.
const (
	EventInstall         = "INSTALL"
	EventUninstall       = "UNINSTALL"
	EventRateLimitChange = "RATE_LIMIT_CHANGE"
)

// ErrDeliveryNotFound is an unknown delivery of the vendor's app.
var ErrDeliveryNotFound = errors.New("webhook delivery not found")

// ErrDeliveryRunning refuses a redelivery while the event is still being tried.
var ErrDeliveryRunning = errors.New("this delivery is still being attempted")

// ErrInstallEventOfInactive refuses to redeliver the INSTALL event of an
// install that was uninstalled: it would hand its secret out again.
var ErrInstallEventOfInactive = errors.New("this INSTALL event's install was uninstalled: it is not delivered again")

// enqueueWebhook records an event for the app's webhook_url and starts its
// WebhookDeliveryWorkflow before the caller commits: if the commit fails, the
// workflow finds no delivery and ends. Apps without a webhook_url get none.
func (s *Service) enqueueWebhook(ctx context.Context, q *dbgen.Queries, a App, installID uuid.UUID, event string, payload map[string]any) (uuid.UUID, error) {
	if a.Profile.WebhookURL == nil || a.Status != StatusActive {
		return uuid.Nil, nil
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, err
	}
	id := uuid.New()
	if err := q.InsertWebhookDelivery(ctx, dbgen.InsertWebhookDeliveryParams{ID: id, AppID: a.ID, InstallID: installID,
		Event: event, Payload: raw, Status: "pending"}); err != nil {
		return uuid.Nil, fmt.Errorf("insert delivery: %w", err)
	}
	return id, s.startDelivery(ctx, id, false)
}

// startDelivery starts the delivery's workflow; redeliver sends it even if
// it was delivered before. A run still going is an error, never joined.
func (s *Service) startDelivery(ctx context.Context, id uuid.UUID, redeliver bool) error {
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if redeliver {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WebhookDeliveryWorkflowID(id.String()), TaskQueue: s.opt.TaskQueue, WorkflowIDReusePolicy: reuse,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.WebhookDeliveryWorkflowName, workflows.WebhookDeliveryInput{DeliveryID: id.String(),
		RequestedAt: time.Now(), InitialRetry: s.opt.WebhookRetryInitial, Redeliver: redeliver})
	if err != nil {
		return fmt.Errorf("start webhook delivery: %w", err)
	}
	return nil
}

// Delivery is a webhook event and its attempts, for the vendor.
type Delivery struct {
	ID          uuid.UUID
	InstallID   uuid.UUID
	Event       string
	Payload     json.RawMessage
	Status      string
	Attempts    int
	LastStatus  *int32
	LastError   *string
	CreatedAt   time.Time
	DeliveredAt *time.Time
	Tries       []Attempt
}

// Attempt is one try of a delivery.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	StatusCode *int32    `json:"status_code"`
	Error      *string   `json:"error"`
	DurationMs int32     `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// ListDeliveries lists the webhook deliveries of a vendor's app, newest
// first, each with its attempts.
func (s *Service) ListDeliveries(ctx context.Context, owner uuid.UUID, appRef string, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Delivery, error) {
	a, err := s.GetOwned(ctx, owner, appRef)
	if err != nil {
		return nil, err
	}
	q := dbgen.New(s.pool)
	rows, err := q.ListWebhookDeliveriesOfApp(ctx, dbgen.ListWebhookDeliveriesOfAppParams{AppID: a.ID, RowLimit: int32(limit),
		AfterCreated: afterCreated, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}})
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(rows))
	out := make([]Delivery, len(rows))
	index := map[uuid.UUID]int{}
	for i, r := range rows {
		ids[i], index[r.ID] = r.ID, i
		out[i] = Delivery{ID: r.ID, InstallID: r.InstallID, Event: r.Event, Payload: r.Payload, Status: r.Status,
			Attempts: int(r.Attempts), LastStatus: r.LastStatus, LastError: r.LastError, CreatedAt: r.CreatedAt,
			DeliveredAt: r.DeliveredAt, Tries: []Attempt{}}
	}
	attempts, err := q.ListWebhookAttempts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, t := range attempts {
		d := &out[index[t.DeliveryID]]
		d.Tries = append(d.Tries, Attempt{Attempt: int(t.Attempt), StatusCode: t.StatusCode, Error: t.Error, DurationMs: t.DurationMs, At: t.CreatedAt})
	}
	return out, nil
}

// Redeliver sends a delivery again (same webhook-id, so receivers can
// deduplicate) once its previous run has ended. The INSTALL event of an
// install no longer active is refused; PrepareDelivery checks again at send
// time (an uninstall may land in between) and leaves out a rotated secret.
func (s *Service) Redeliver(ctx context.Context, owner uuid.UUID, appRef string, deliveryID uuid.UUID) error {
	a, err := s.GetOwned(ctx, owner, appRef)
	if err != nil {
		return err
	}
	d, err := dbgen.New(s.pool).GetWebhookDelivery(ctx, deliveryID)
	if db.IsNotFound(err) || (err == nil && d.AppID != a.ID) {
		return ErrDeliveryNotFound
	}
	if err != nil {
		return err
	}
	if d.Event == EventInstall {
		inst, err := dbgen.New(s.pool).GetInstall(ctx, d.InstallID)
		if err != nil {
			return err
		}
		if inst.Status != "active" {
			return ErrInstallEventOfInactive
		}
	}
	err = s.startDelivery(ctx, deliveryID, true)
	if isAlreadyStarted(err) {
		return ErrDeliveryRunning
	}
	return err
}
