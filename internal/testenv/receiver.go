package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/officex/officex/internal/apps"
)

// Hook is one webhook a Receiver got.
type Hook struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Envelope                 struct {
		Event   string         `json:"event"`
		Payload map[string]any `json:"payload"`
		UUID    string         `json:"uuid"`
	}
	Verified bool
}

// Receiver is an app's webhook endpoint on loopback. Respond decides each
// answer (status and body) from the hook and how many came before it.
type Receiver struct {
	URL     string
	Secret  string // set after the app is registered, to verify signatures
	Respond func(h Hook, n int) (int, any)
	Hang    time.Duration // sleep before answering

	mu   sync.Mutex
	hook []Hook
}

// StartReceiver runs a Receiver that answers 200 {} unless told otherwise.
func StartReceiver(t testing.TB) *Receiver {
	rc := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	// Hanging handlers end when their connection is cut, so cleanup is quick.
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	rc.URL = srv.URL + "/webhooks/officex"
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := Hook{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
		Signature: r.Header.Get("webhook-signature"), Body: body}
	_ = json.Unmarshal(body, &h.Envelope)
	rc.mu.Lock()
	h.Verified = rc.Secret != "" && apps.VerifyWebhook(rc.Secret, h.ID, h.Timestamp, h.Signature, body, 5*time.Minute) == nil
	n := len(rc.hook)
	rc.hook = append(rc.hook, h)
	respond, hang := rc.Respond, rc.Hang
	rc.mu.Unlock()
	if hang > 0 {
		select {
		case <-time.After(hang):
		case <-r.Context().Done():
			return
		}
	}
	status, answer := http.StatusOK, any(map[string]any{"received": true})
	if respond != nil {
		status, answer = respond(h, n)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer)
}

// Hooks returns what arrived so far.
func (rc *Receiver) Hooks() []Hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Hook(nil), rc.hook...)
}

// WaitFor waits until n hooks arrived, or fails the test.
func (rc *Receiver) WaitFor(t testing.TB, n int, within time.Duration) []Hook {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if hs := rc.Hooks(); len(hs) >= n {
			return hs
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d webhooks, want %d", len(rc.Hooks()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// App is a registered app.
type App struct {
	ID, WalletID, Slug, WebhookSecret string
}

// RegisterApp registers an app for owner with the given fields (name added
// when missing).
func (c *Client) RegisterApp(owner User, fields map[string]any) App {
	c.t.Helper()
	if _, ok := fields["name"]; !ok {
		fields["name"] = "Test App " + randHex(3)
	}
	r := c.Post("/register-app", fields, owner.Headers()).Expect(c.t, http.StatusCreated, "")
	return App{ID: r.String("app_id"), WalletID: r.String("destination_wallet_id"), Slug: r.String("slug"),
		WebhookSecret: r.String("webhook_secret")}
}

// Installed is an install and its secret.
type Installed struct {
	ID, Secret, AppID string
	User              User
	Response          Response
}

// Headers authenticate as the app for this install.
func (in Installed) Headers() Headers {
	return Headers{"x-officex-install-id": in.ID, "x-officex-install-secret": in.Secret}
}

// Install installs app for u with an optional body.
func (c *Client) Install(u User, appRef string, body any) Installed {
	c.t.Helper()
	r := c.Post("/install/"+appRef, body, u.Headers()).Expect(c.t, http.StatusCreated, "")
	return Installed{ID: r.String("install_id"), Secret: r.String("install_secret"), AppID: r.String("app_id"), User: u, Response: r}
}
