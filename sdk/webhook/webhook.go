// Package webhook verifies the webhooks OfficeX sends to an app's
// webhook_url (INSTALL, UNINSTALL, RATE_LIMIT_CHANGE), signed in the
// Standard Webhooks scheme: headers webhook-id, webhook-timestamp (unix
// seconds) and webhook-signature ("v1,<base64 HMAC-SHA256>", several
// space-separated during a secret rotation), keyed with the app's
// webhook_secret ("whsec_<base64>") over "<id>.<timestamp>.<body>".
//
//	func hook(w http.ResponseWriter, r *http.Request) {
//		body, _ := io.ReadAll(r.Body)
//		if err := webhook.Verify(secret, r.Header, body); err != nil {
//			http.Error(w, err.Error(), http.StatusUnauthorized)
//			return
//		}
//		...
//	}
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a delivery's timestamp may be from now, either
// way, before it is refused as a replay.
const DefaultTolerance = 5 * time.Minute

// Reasons Verify refuses a delivery.
var (
	ErrMissingHeaders = errors.New("webhook: webhook-id, webhook-timestamp or webhook-signature missing")
	ErrTimestamp      = errors.New("webhook: timestamp invalid or outside the tolerance")
	ErrSignature      = errors.New("webhook: no signature matches")
	ErrSecret         = errors.New("webhook: the secret is not whsec_ followed by base64")
)

// Verify checks a delivery's signature and timestamp with DefaultTolerance.
// body must be the raw bytes received, before any JSON decoding.
func Verify(secret string, headers http.Header, body []byte) error {
	return Verifier{Secret: secret}.Verify(headers, body)
}

// Verifier is Verify with its settings.
type Verifier struct {
	Secret    string
	Tolerance time.Duration    // 0: DefaultTolerance
	Now       func() time.Time // nil: time.Now
}

// Verify checks a delivery; the error says why it was refused.
func (v Verifier) Verify(headers http.Header, body []byte) error {
	id, ts, sigs := headers.Get("webhook-id"), headers.Get("webhook-timestamp"), headers.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v.Secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return ErrSecret
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	tolerance, now := v.Tolerance, time.Now
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s is %s from now", ErrTimestamp, ts, d.Round(time.Second))
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue // another scheme (v1a is asymmetric): not ours to check
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

// Event is the envelope OfficeX sends: {event, payload, uuid}.
type Event struct {
	Event   string          `json:"event"` // INSTALL, UNINSTALL or RATE_LIMIT_CHANGE
	Payload json.RawMessage `json:"payload"`
	UUID    string          `json:"uuid"`
}

// Install is the payload of an INSTALL event: keep install_secret, it is the
// app's billing credential for this user.
type Install struct {
	InstallID     string `json:"install_id"`
	InstallSecret string `json:"install_secret"`
	UserID        string `json:"user_id"`
	AppID         string `json:"app_id"`
	Email         string `json:"email"`
	Timestamp     string `json:"timestamp"`
}

// Parse verifies a delivery and decodes its envelope.
func (v Verifier) Parse(headers http.Header, body []byte) (*Event, error) {
	if err := v.Verify(headers, body); err != nil {
		return nil, err
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("webhook: body: %w", err)
	}
	return &e, nil
}
