package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/outbox"
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

// enqueueWebhook records an event for the app's webhook_url with the outbox
// row that starts its WebhookDeliveryWorkflow once tx commits. Apps without
// a webhook_url get none.
func (s *Service) enqueueWebhook(ctx context.Context, tx pgx.Tx, a App, installID uuid.UUID, event string, payload map[string]any) (uuid.UUID, error) {
	if a.Profile.WebhookURL == nil || a.Status != StatusActive {
		return uuid.Nil, nil
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, err
	}
	id := uuid.New()
	if err := dbgen.New(tx).InsertWebhookDelivery(ctx, dbgen.InsertWebhookDeliveryParams{ID: id, AppID: a.ID, InstallID: installID,
		Event: event, Payload: raw, Status: "pending"}); err != nil {
		return uuid.Nil, fmt.Errorf("insert delivery: %w", err)
	}
	return id, s.enqueueDelivery(ctx, tx, id, deliveryBusiness(a.ID, a.Slug, event, raw), false)
}

// deliveryBusiness is what a delivery's workflow is found by in the Temporal
// UI: the app, the installing user (the payload's user_id) and its status.
func deliveryBusiness(app uuid.UUID, slug, event string, payload []byte) workflows.Business {
	var p struct {
		UserID string `json:"user_id"`
	}
	_ = json.Unmarshal(payload, &p) // our own payload; without a user the attribute is left out
	return workflows.Business{UserID: p.UserID, AppID: app.String(), Status: "pending",
		Summary: event + " webhook to app " + slug}
}

// enqueueDelivery writes the outbox row of the delivery's workflow;
// redeliver sends it even if it was delivered before (the relay starts the
// new run once the previous one has ended).
func (s *Service) enqueueDelivery(ctx context.Context, tx pgx.Tx, id uuid.UUID, b workflows.Business, redeliver bool) error {
	return outbox.Enqueue(ctx, tx, outbox.Start{Kind: "webhook", WorkflowID: workflows.WebhookDeliveryWorkflowID(id.String()),
		WorkflowType: workflows.WebhookDeliveryWorkflowName, TaskQueue: s.opt.TaskQueue, AllowRerun: redeliver,
		Input:            workflows.WebhookDeliveryInput{DeliveryID: id.String(), InitialRetry: s.opt.WebhookRetryInitial, Redeliver: redeliver},
		SearchAttributes: b.AttributeMap(), Memo: workflows.Memo(b)})
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
	running, err := s.deliveryRunning(ctx, deliveryID)
	if err != nil {
		return err
	}
	if running {
		return ErrDeliveryRunning
	}
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := dbgen.New(tx).LockWebhookDelivery(ctx, deliveryID); err != nil {
			return err
		}
		pending, err := outbox.Pending(ctx, tx, workflows.WebhookDeliveryWorkflowID(deliveryID.String()))
		if err != nil {
			return err
		}
		if pending { // a redelivery asked for a moment ago
			return ErrDeliveryRunning
		}
		return s.enqueueDelivery(ctx, tx, deliveryID, deliveryBusiness(a.ID, a.Slug, d.Event, d.Payload), true)
	})
}

// deliveryRunning asks Temporal, outside any transaction, whether the
// delivery's workflow still runs; a delivery it never heard of does not.
func (s *Service) deliveryRunning(ctx context.Context, id uuid.UUID) (bool, error) {
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, workflows.WebhookDeliveryWorkflowID(id.String()), "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe delivery %s: %w", id, err)
	}
	return desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}
