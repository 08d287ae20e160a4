package apps

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
)

// SignWebhook signs a delivery in the Standard Webhooks scheme: base64 of
// HMAC-SHA256, keyed with the secret's bytes, over "id.timestamp.body";
// the webhook-signature header is "v1," followed by it.
func SignWebhook(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// VerifyWebhook is what an app does with the three headers; tests use it.
func VerifyWebhook(secret, id, timestamp, signature string, body []byte, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > tolerance {
		return errors.New("webhook timestamp missing or too old")
	}
	want, err := SignWebhook(secret, id, ts, body)
	if err != nil {
		return err
	}
	for _, sig := range strings.Fields(signature) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhook signature does not match")
}

// PreparedDelivery is one event ready to POST.
type PreparedDelivery struct {
	Done      bool // nothing to send: delivered already, or the app has no webhook
	Skipped   bool // nothing to send: an INSTALL event of an install no longer active
	Missing   bool // the delivery row does not exist (its transaction never committed)
	URL       string
	Secret    string
	ID        string
	Event     string
	InstallID uuid.UUID
	Body      []byte
}

// PrepareDelivery reads a delivery and builds its signed body; the INSTALL
// event gets the install secret here, decrypted for this request only. A
// delivered event is done, unless this is a redelivery.
//
// The INSTALL event and the install secret (see installSecretPayload):
//   - an install no longer active gets no INSTALL event at all: a retry or a
//     redelivery after the uninstall sends nothing and the delivery is skipped
//     (one already delivered stays delivered);
//   - an install whose secret was rotated gets its INSTALL event without
//     install_secret: the secret the event was made with is dead, and the live
//     one is not pushed out again by a retry or a vendor-triggered redelivery
//     (the app gets it from the launch URL, as after any rotation).
func (s *Service) PrepareDelivery(ctx context.Context, id uuid.UUID, redeliver bool) (PreparedDelivery, error) {
	q := dbgen.New(s.pool)
	d, err := q.GetWebhookDelivery(ctx, id)
	if db.IsNotFound(err) {
		return PreparedDelivery{Missing: true}, nil
	}
	if err != nil {
		return PreparedDelivery{}, fmt.Errorf("get delivery %s: %w", id, err)
	}
	if d.Status == "skipped" || (d.Status == "delivered" && !redeliver) {
		return PreparedDelivery{Done: true}, nil
	}
	appRow, err := q.GetApp(ctx, d.AppID)
	if err != nil {
		return PreparedDelivery{}, err
	}
	a, err := appFrom(appRow)
	if err != nil {
		return PreparedDelivery{}, err
	}
	if a.Profile.WebhookURL == nil {
		return PreparedDelivery{Done: true}, q.SetWebhookDeliveryStatus(ctx, dbgen.SetWebhookDeliveryStatusParams{ID: id, Status: "skipped"})
	}
	payload := map[string]any{}
	if err := json.Unmarshal(d.Payload, &payload); err != nil {
		return PreparedDelivery{}, err
	}
	if d.Event == EventInstall {
		inst, err := q.GetInstall(ctx, d.InstallID)
		if err != nil {
			return PreparedDelivery{}, err
		}
		if inst.Status != "active" {
			if d.Status != "delivered" {
				err = q.SetWebhookDeliveryStatus(ctx, dbgen.SetWebhookDeliveryStatusParams{ID: id, Status: "skipped"})
			}
			return PreparedDelivery{Done: true, Skipped: true}, err
		}
		if err := s.installSecretPayload(inst, payload); err != nil {
			return PreparedDelivery{}, err
		}
	}
	body, err := json.Marshal(map[string]any{"event": d.Event, "payload": payload, "uuid": id})
	if err != nil {
		return PreparedDelivery{}, err
	}
	secret, err := s.WebhookSecret(appRow)
	if err != nil {
		return PreparedDelivery{}, err
	}
	return PreparedDelivery{URL: *a.Profile.WebhookURL, Secret: secret, ID: id.String(), Event: d.Event,
		InstallID: d.InstallID, Body: body}, nil
}

// installSecretPayload adds the install secret to an INSTALL payload when
// the secret is still the one the install was created with. Sending it to
// the app's own webhook_url is the reference's design: the vendor's endpoint
// is where install secrets live. After a rotation it is left out: the old
// secret must never leave again, and the new one is the user's to hand over
// (launch), not the vendor's to pull with a redelivery to whatever
// webhook_url the app names by then.
func (s *Service) installSecretPayload(inst dbgen.Install, payload map[string]any) error {
	if inst.SecretRotatedAt != nil {
		return nil
	}
	secret, err := s.box.Open(inst.SecretEnc, installSecretContext(inst.ID))
	if err != nil {
		return err
	}
	payload["install_secret"] = string(secret)
	return nil
}

// AttemptOutcome is what one POST of a delivery got.
type AttemptOutcome struct {
	StatusCode *int32
	Error      *string
	Duration   time.Duration
	Delivered  bool
	// AgentContext is the INSTALL answer's agent_context, when valid.
	AgentContext map[string]string
}

// RecordAttempt logs one attempt and, for a delivered INSTALL with an
// agent_context, stores it on the install, in one transaction. An answer
// arriving after the install was uninstalled stores nothing; the attempt log
// says so.
func (s *Service) RecordAttempt(ctx context.Context, id uuid.UUID, installID uuid.UUID, o AttemptOutcome) error {
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		if o.AgentContext != nil {
			err := s.storeAgentContext(ctx, q, installID, o.AgentContext)
			if errors.Is(err, ErrUninstalled) {
				msg := "agent_context ignored: the install is no longer active"
				o.Error = &msg
			} else if err != nil {
				return fmt.Errorf("store agent_context: %w", err)
			}
		}
		n, err := q.CountWebhookAttempt(ctx, dbgen.CountWebhookAttemptParams{ID: id, StatusCode: o.StatusCode,
			Error: o.Error, Delivered: o.Delivered})
		if err != nil {
			return fmt.Errorf("count attempt: %w", err)
		}
		if err := q.InsertWebhookAttempt(ctx, dbgen.InsertWebhookAttemptParams{DeliveryID: id, Attempt: n,
			StatusCode: o.StatusCode, Error: o.Error, DurationMs: int32(o.Duration.Milliseconds())}); err != nil {
			return fmt.Errorf("log attempt: %w", err)
		}
		return nil
	})
}

// GiveUp marks a delivery failed after its last attempt.
func (s *Service) GiveUp(ctx context.Context, id uuid.UUID) error {
	return dbgen.New(s.pool).SetWebhookDeliveryStatus(ctx, dbgen.SetWebhookDeliveryStatusParams{ID: id, Status: "failed"})
}

// ParseAgentContext extracts the agent_context key (and only it) from an
// INSTALL answer; nil when absent or invalid.
func ParseAgentContext(body []byte) (map[string]string, error) {
	var answer struct {
		AgentContext map[string]any `json:"agent_context"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.AgentContext == nil {
		return nil, nil
	}
	out := make(map[string]string, len(answer.AgentContext))
	for k, v := range answer.AgentContext {
		str, ok := v.(string)
		if !ok {
			return nil, invalidf("agent_context values must be strings")
		}
		out[k] = str
	}
	if err := ValidateAgentContext(out); err != nil {
		return nil, err
	}
	return out, nil
}
