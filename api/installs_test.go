package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/internal/safehttp"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/workflows"
)

// appWithReceiver registers an app whose webhook_url is a receiver on loopback.
func appWithReceiver(t *testing.T, c *testenv.Client, fields map[string]any) (testenv.User, testenv.App, *testenv.Receiver) {
	t.Helper()
	rc := testenv.StartReceiver(t)
	vendor := c.NewUser()
	fields["webhook_url"] = rc.URL
	a := c.RegisterApp(vendor, fields)
	rc.Secret = a.WebhookSecret
	return vendor, a, rc
}

func TestInstall_SignedWebhookAndAgentContext(t *testing.T) {
	c := env.Client(t)
	_, a, rc := appWithReceiver(t, c, map[string]any{"suggested_rate_limits": map[string]any{"max_per_hour": 50, "max_per_day": 200, "max_per_month": 2000}})
	rc.Respond = func(h testenv.Hook, _ int) (int, any) {
		return 200, map[string]any{"agent_context": map[string]any{"api_key": "sk-abc123", "base_url": "https://myapp.example.com/api"}, "other": "ignored"}
	}
	u := c.NewUser()
	in := c.Install(u, a.Slug, nil)
	if !strings.HasPrefix(in.Secret, "ofx_is_") || in.AppID != a.ID {
		t.Fatalf("install answer %s", in.Response.Raw)
	}
	if ac := in.Response.Object("agent_context"); ac["api_key"] != "sk-abc123" || len(ac) != 2 {
		t.Fatalf("agent_context %v", ac)
	}
	h := rc.WaitFor(t, 1, 5*time.Second)[0]
	if !h.Verified || h.Envelope.Event != "INSTALL" || h.Envelope.UUID != h.ID {
		t.Fatalf("hook %+v", h)
	}
	p := h.Envelope.Payload
	if p["install_id"] != in.ID || p["install_secret"] != in.Secret || p["user_id"] != u.ID || p["app_id"] != a.ID ||
		p["email"] != u.Email || p["timestamp"] == nil {
		t.Fatalf("payload %v", p)
	}
	got := c.Get("/users/me/installs/"+in.ID, u.Headers()).Expect(t, 200, "").Object("install")
	if got["max_per_hour"] != 50.0 || got["max_per_day"] != 200.0 || got["max_per_month"] != 2000.0 ||
		got["agent_context"].(map[string]any)["base_url"] != "https://myapp.example.com/api" {
		t.Fatalf("install %v", got)
	}
	if until := int64(got["allowed_until"].(float64)); until < time.Now().Add(29*24*time.Hour).Unix() || until > time.Now().Add(31*24*time.Hour).Unix() {
		t.Fatalf("allowed_until %d, want about now + 30 days", until)
	}
	// The install secret is stored encrypted, nowhere in plaintext.
	var leaks int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM installs i, webhook_deliveries d
		WHERE i.secret_enc::text LIKE '%' || $1 || '%' OR d.payload::text LIKE '%' || $1 || '%'`, in.Secret[8:]).Scan(&leaks); err != nil || leaks != 0 {
		t.Fatalf("install secret in plaintext (%d, %v)", leaks, err)
	}
}

func TestInstall_DefaultsMinimumsAndTwice(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{"minimum_rate_limits": map[string]any{"max_per_hour": 10}})
	u := c.NewUser()
	c.Post("/install/"+a.ID, map[string]any{"max_per_hour": 9}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/install/"+a.ID, map[string]any{"allowed_until": time.Now().Add(-time.Hour).Unix()}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/install/"+a.ID, map[string]any{"max_per_day": 0}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/install/"+a.ID, map[string]any{"lifetime_spend_limit": 5}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	in := c.Install(u, a.ID, map[string]any{"allowed_until": -1})
	got := c.Get("/users/me/installs/"+in.ID, u.Headers()).Expect(t, 200, "").Object("install")
	if got["max_per_hour"] != 100.0 || got["max_per_day"] != 300.0 || got["max_per_month"] != 1000.0 || got["allowed_until"] != -1.0 {
		t.Fatalf("defaults %v", got)
	}
	// Installing twice is refused: rotate the secret or uninstall first.
	c.Post("/install/"+a.ID, nil, u.Headers()).Expect(t, 409, "DUPLICATE_REQUEST")
	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, u.Headers()).Expect(t, 200, "")
	again := c.Install(u, a.ID, nil)
	if again.ID == in.ID {
		t.Fatal("a reinstall must be a new install")
	}
	c.Post("/install/no-such-app", nil, u.Headers()).Expect(t, 404, "APP_NOT_FOUND")
	list := c.Get("/users/me/installs", u.Headers()).Expect(t, 200, "").Body["installs"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["install_id"] != again.ID {
		t.Fatalf("installs %v", list)
	}
	c.Get("/users/me/installs/"+again.ID, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
	c.Do(http.MethodDelete, "/users/me/installs/"+again.ID, nil, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
}

func TestInstallSecretAuth_BothHeaderFormsAndRefusals(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	u, other := c.NewUser(), c.NewUser()
	in, otherIn := c.Install(u, a.ID, nil), c.Install(other, a.ID, nil)
	patch := map[string]any{"telegram_bot_token": "123456:ABC"}
	r := c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", patch, in.Headers()).Expect(t, 200, "")
	if r.Object("agent_context")["telegram_bot_token"] != "123456:ABC" {
		t.Fatalf("context %s", r.Raw)
	}
	alt := testenv.Headers{"X-OfficeX-User-Id": u.ID, "X-OfficeX-App-Id": a.ID, "X-OfficeX-Install-Secret": in.Secret}
	c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", map[string]any{"k": "v"}, alt).Expect(t, 200, "")
	wrong := testenv.Headers{"x-officex-install-id": in.ID, "x-officex-install-secret": otherIn.Secret}
	c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", patch, wrong).Expect(t, 401, "INVALID_SECRET")
	unknown := testenv.Headers{"x-officex-install-id": uuid.NewString(), "x-officex-install-secret": in.Secret}
	c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", patch, unknown).Expect(t, 404, "INSTALL_NOT_FOUND")
	c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", patch, testenv.Headers{"x-officex-install-id": in.ID}).Expect(t, 401, "UNAUTHORIZED")
	// An app can't act on another install with its own credentials.
	c.Do(http.MethodPatch, "/installs/"+otherIn.ID+"/context", patch, in.Headers()).Expect(t, 403, "FORBIDDEN")
	// A rotated secret stops working at once.
	rot := c.Post("/users/me/installs/"+in.ID+"/rotate-secret", nil, u.Headers()).Expect(t, 200, "")
	c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", patch, in.Headers()).Expect(t, 401, "INVALID_SECRET")
	in.Secret = rot.String("install_secret")
	c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", patch, in.Headers()).Expect(t, 200, "")
	// Uninstalled: refused.
	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, u.Headers()).Expect(t, 200, "")
	c.Do(http.MethodPatch, "/installs/"+in.ID+"/context", patch, in.Headers()).Expect(t, 403, "FORBIDDEN")
}

func TestAgentContext_MergeNullDeletesAndLimits(t *testing.T) {
	c := env.Client(t)
	a := c.RegisterApp(c.NewUser(), map[string]any{})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	path := "/users/me/installs/" + in.ID + "/context"
	c.Do(http.MethodPatch, path, map[string]any{"a": "1", "b": "2"}, u.Headers()).Expect(t, 200, "")
	r := c.Do(http.MethodPatch, path, map[string]any{"a": nil, "c": "3"}, u.Headers()).Expect(t, 200, "")
	if ac := r.Object("agent_context"); len(ac) != 2 || ac["b"] != "2" || ac["c"] != "3" {
		t.Fatalf("merged %v", ac)
	}
	c.Do(http.MethodPatch, path, map[string]any{"a": nil, "b": nil, "c": nil}, u.Headers()).Expect(t, 200, "")
	fifty := map[string]any{}
	for i := 0; i < 50; i++ {
		fifty[fmt.Sprintf("k%02d", i)] = "v"
	}
	c.Do(http.MethodPatch, path, fifty, u.Headers()).Expect(t, 200, "")
	c.Do(http.MethodPatch, path, map[string]any{"one-more": "v"}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, path, map[string]any{strings.Repeat("k", 200): strings.Repeat("v", 1000), "k00": nil}, u.Headers()).Expect(t, 200, "")
	c.Do(http.MethodPatch, path, map[string]any{strings.Repeat("k", 201): "v", "k01": nil}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, path, map[string]any{"k02": strings.Repeat("v", 1001)}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, path, map[string]any{"k02": 5}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, path, map[string]any{"k": "v"}, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
	got := c.Get("/users/me/installs/"+in.ID, u.Headers()).Expect(t, 200, "").Object("install")["agent_context"].(map[string]any)
	if len(got) != 50 {
		t.Fatalf("refused patches changed the context: %d keys", len(got))
	}
}

func TestWebhook_FailsTwiceThenDeliveredWithOneID(t *testing.T) {
	c := env.Client(t)
	vendor, a, rc := appWithReceiver(t, c, map[string]any{})
	rc.Respond = func(_ testenv.Hook, n int) (int, any) {
		if n < 2 {
			return 503, map[string]any{"error": "busy"}
		}
		return 200, map[string]any{"ok": true}
	}
	u := c.NewUser()
	c.Install(u, a.ID, nil)
	hooks := rc.WaitFor(t, 3, 15*time.Second)
	if hooks[0].ID != hooks[1].ID || hooks[1].ID != hooks[2].ID || !hooks[2].Verified {
		t.Fatalf("retries must carry one webhook-id: %s %s %s", hooks[0].ID, hooks[1].ID, hooks[2].ID)
	}
	var d map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		list := c.Get("/users/me/apps/"+a.ID+"/webhooks", vendor.Headers()).Expect(t, 200, "").Body["webhooks"].([]any)
		d = list[0].(map[string]any)
		if d["status"] == "delivered" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d["status"] != "delivered" || d["attempts"] != 3.0 || len(d["attempt_log"].([]any)) != 3 || d["event"] != "INSTALL" {
		t.Fatalf("delivery %v", d)
	}
	if _, leaked := d["payload"].(map[string]any)["install_secret"]; leaked {
		t.Fatal("the vendor's webhook list shows the install secret")
	}
	// Redeliver: the same event, the same webhook-id, once more.
	// While the first run is still finishing, a redelivery is refused (409).
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		r := c.Post("/users/me/apps/"+a.ID+"/webhooks/"+hooks[0].ID+"/redeliver", nil, vendor.Headers())
		if r.Status == 202 {
			break
		}
		if r.Code() != "DUPLICATE_REQUEST" || time.Since(start) > 10*time.Second {
			t.Fatalf("redeliver: %s", r.Raw)
		}
	}
	again := rc.WaitFor(t, 4, 30*time.Second)
	if again[3].ID != hooks[0].ID {
		t.Fatalf("redelivery id %s, want %s", again[3].ID, hooks[0].ID)
	}
	c.Post("/users/me/apps/"+a.ID+"/webhooks/"+uuid.NewString()+"/redeliver", nil, vendor.Headers()).Expect(t, 404, "NOT_FOUND")
	c.Get("/users/me/apps/"+a.ID+"/webhooks", u.Headers()).Expect(t, 403, "FORBIDDEN")
}

func TestInstall_HangingWebhookDoesNotBlockBeyondTheBound(t *testing.T) {
	c := env.Client(t)
	_, a, rc := appWithReceiver(t, c, map[string]any{})
	rc.Hang = 20 * time.Second
	u := c.NewUser()
	start := time.Now()
	in := c.Install(u, a.ID, nil)
	if took := time.Since(start); took > env.AppsOptions().InstallWebhookWait+2*time.Second {
		t.Fatalf("install took %v", took)
	}
	if in.Response.Object("agent_context") != nil {
		t.Fatal("no agent_context can come from a hanging webhook")
	}
	c.Get("/users/me/installs/"+in.ID, u.Headers()).Expect(t, 200, "")
}

func TestLifecycleWebhooks_UninstallAndRateLimitChange(t *testing.T) {
	c := env.Client(t)
	_, a, rc := appWithReceiver(t, c, map[string]any{})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	until := time.Now().Add(48 * time.Hour).Unix()
	r := c.Do(http.MethodPatch, "/users/me/installs/"+in.ID, map[string]any{"max_per_hour": 7, "allowed_until": until,
		"lifetime_spend_limit": "12.5"}, u.Headers()).Expect(t, 200, "")
	if r.Object("install")["lifetime_spend_limit"] != 12.5 {
		t.Fatalf("patched %s", r.Raw)
	}
	c.Do(http.MethodPatch, "/users/me/installs/"+in.ID, map[string]any{"max_per_hour": 0}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, "/users/me/installs/"+in.ID, map[string]any{"lifetime_spend_limit": -2}, u.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, u.Headers()).Expect(t, 200, "")
	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, u.Headers()).Expect(t, 403, "FORBIDDEN")
	hooks := rc.WaitFor(t, 3, 10*time.Second)
	events := map[string]map[string]any{}
	for _, h := range hooks {
		if !h.Verified {
			t.Errorf("unverified %s", h.Envelope.Event)
		}
		events[h.Envelope.Event] = h.Envelope.Payload
	}
	rl := events["RATE_LIMIT_CHANGE"]
	if rl == nil || rl["max_per_hour"] != 7.0 || rl["allowed_until"] != float64(until) || rl["max_per_day"] != 300.0 || rl["install_id"] != in.ID {
		t.Fatalf("RATE_LIMIT_CHANGE %v", rl)
	}
	un := events["UNINSTALL"]
	if un == nil || un["install_id"] != in.ID || un["user_id"] != u.ID || un["app_id"] != a.ID {
		t.Fatalf("UNINSTALL %v", un)
	}
	if _, leaked := un["install_secret"]; leaked {
		t.Fatal("UNINSTALL carries the secret")
	}
}

func TestLaunch_IframeURLWithCredentials(t *testing.T) {
	c := env.Client(t)
	a := c.RegisterApp(c.NewUser(), map[string]any{"iframe_url": "https://myapp.example.com/officex?theme=dark"})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	raw := c.Get("/users/me/installs/"+in.ID+"/launch", u.Headers()).Expect(t, 200, "").String("url")
	parsed, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	if parsed.Host != "myapp.example.com" || q.Get("theme") != "dark" || q.Get("officex_customer_id") != u.ID ||
		q.Get("officex_install_id") != in.ID || q.Get("officex_install_secret") != in.Secret {
		t.Fatalf("launch url %s", raw)
	}
	c.Get("/users/me/installs/"+in.ID+"/launch", c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
}

// TestWebhookClient_RefusesPrivateAddressesAtDialTime drives the delivery
// activity with the production client: a webhook_url on loopback (allowed
// at registration here) is refused when dialled, and the refusal is recorded.
func TestWebhookClient_RefusesPrivateAddressesAtDialTime(t *testing.T) {
	c := env.Client(t)
	_, a, rc := appWithReceiver(t, c, map[string]any{})
	rc.Hang = 10 * time.Second // never answer in time: the real delivery is not what this test reads
	u := c.NewUser()
	c.Install(u, a.ID, nil)
	var deliveryID string
	if err := env.Pool.QueryRow(context.Background(), "SELECT id::text FROM webhook_deliveries WHERE app_id = $1", a.ID).Scan(&deliveryID); err != nil {
		t.Fatal(err)
	}
	hooks := &activities.Webhooks{Apps: env.Apps(), Client: activities.NewWebhookClient(false)}
	_, err := hooks.DeliverWebhook(context.Background(), workflows.WebhookDeliveryInput{DeliveryID: deliveryID})
	if err == nil || !strings.Contains(err.Error(), "destination not allowed") {
		t.Fatalf("delivery to loopback: %v", err)
	}
	var logged int
	if err := env.Pool.QueryRow(context.Background(),
		"SELECT count(*) FROM webhook_attempts WHERE delivery_id = $1 AND error = 'destination not allowed'", deliveryID).Scan(&logged); err != nil || logged != 1 {
		t.Fatalf("refused attempt not recorded (%d, %v)", logged, err)
	}
	_ = safehttp.ErrForbiddenAddress
}

func TestWebhooks_AttemptLogNamesNoInternalAddress(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{"webhook_url": "http://officex-no-such-host.invalid/hook"})
	c.Install(c.NewUser(), a.ID, nil)
	deadline := time.Now().Add(15 * time.Second)
	for {
		list := c.Get("/users/me/apps/"+a.ID+"/webhooks", vendor.Headers()).Expect(t, 200, "").Body["webhooks"].([]any)
		if len(list) > 0 {
			d := list[0].(map[string]any)
			if tries, _ := d["attempt_log"].([]any); len(tries) > 0 {
				if got := tries[0].(map[string]any)["error"]; got != "could not resolve host" {
					t.Fatalf("attempt error %v, want the safe description", got)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no attempt was recorded")
		}
		<-time.After(50 * time.Millisecond)
	}
}

// redeliverWhenIdle asks for a redelivery, waiting out the previous run
// (409 DUPLICATE_REQUEST while it finishes); it returns the final answer.
func redeliverWhenIdle(t *testing.T, c *testenv.Client, vendor testenv.User, appID, deliveryID string) testenv.Response {
	t.Helper()
	for start := time.Now(); ; <-time.After(50 * time.Millisecond) {
		r := c.Post("/users/me/apps/"+appID+"/webhooks/"+deliveryID+"/redeliver", nil, vendor.Headers())
		if r.Code() != "DUPLICATE_REQUEST" || time.Since(start) > 10*time.Second {
			return r
		}
	}
}

// Issue 11, item 13: the INSTALL event of an uninstalled install is never
// sent again, neither on a vendor's redelivery nor by a late retry.
func TestRedeliver_InstallOfUninstalledInstallSendsNothing(t *testing.T) {
	c := env.Client(t)
	vendor, a, rc := appWithReceiver(t, c, map[string]any{})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	first := rc.WaitFor(t, 1, 5*time.Second)[0]
	if first.Envelope.Event != "INSTALL" || first.Envelope.Payload["install_secret"] != in.Secret {
		t.Fatalf("first INSTALL %+v", first.Envelope)
	}
	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, u.Headers()).Expect(t, 200, "")
	rc.WaitFor(t, 2, 5*time.Second) // UNINSTALL
	r := redeliverWhenIdle(t, c, vendor, a.ID, first.ID).Expect(t, 409, "INVALID_REQUEST")
	if !strings.Contains(string(r.Raw), "uninstalled") {
		t.Fatalf("the refusal should say why: %s", r.Raw)
	}
	// The send-time check too (an uninstall landing after the request was
	// accepted): the activity itself sends nothing.
	hooks := &activities.Webhooks{Apps: env.Apps(), Client: activities.NewWebhookClient(true)}
	res, err := hooks.DeliverWebhook(context.Background(), workflows.WebhookDeliveryInput{DeliveryID: first.ID,
		Redeliver: true})
	if err != nil || res.Status != "skipped" {
		t.Fatalf("redelivery of an uninstalled INSTALL: %+v, %v", res, err)
	}
	for _, h := range rc.Hooks()[1:] {
		if h.Envelope.Event == "INSTALL" {
			t.Fatalf("INSTALL sent again after the uninstall: %+v", h.Envelope.Payload)
		}
	}
}

// After a rotation, a redelivered INSTALL carries no secret: not the dead
// one, and not the live one (which only the user hands over, via launch).
func TestRedeliver_InstallAfterRotationCarriesNoSecret(t *testing.T) {
	c := env.Client(t)
	vendor, a, rc := appWithReceiver(t, c, map[string]any{})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	first := rc.WaitFor(t, 1, 5*time.Second)[0]
	live := c.Post("/users/me/installs/"+in.ID+"/rotate-secret", nil, u.Headers()).Expect(t, 200, "").String("install_secret")
	redeliverWhenIdle(t, c, vendor, a.ID, first.ID).Expect(t, 202, "")
	again := rc.WaitFor(t, 2, 10*time.Second)[1]
	if again.ID != first.ID || again.Envelope.Event != "INSTALL" || again.Envelope.Payload["install_id"] != in.ID || !again.Verified {
		t.Fatalf("redelivery %+v", again)
	}
	if got, sent := again.Envelope.Payload["install_secret"]; sent {
		t.Fatalf("redelivered INSTALL carries a secret (old %v, live %v)", got == in.Secret, got == live)
	}
	if strings.Contains(string(again.Body), in.Secret) || strings.Contains(string(again.Body), live) {
		t.Fatal("a secret is in the redelivered body")
	}
}

// An INSTALL answer that arrives after the install was uninstalled does not
// store its agent_context.
func TestInstall_AnswerAfterUninstallStoresNoAgentContext(t *testing.T) {
	c := env.Client(t)
	_, a, rc := appWithReceiver(t, c, map[string]any{})
	arrived, release := make(chan string, 1), make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the receiver's cleanup
	rc.Respond = func(h testenv.Hook, _ int) (int, any) {
		if h.Envelope.Event != "INSTALL" {
			return 200, map[string]any{}
		}
		select {
		case arrived <- h.ID:
		default:
		}
		<-release
		return 200, map[string]any{"agent_context": map[string]any{"api_key": "sk-late"}}
	}
	u := c.NewUser()
	in := c.Install(u, a.ID, nil) // answers after InstallWebhookWait: the receiver holds
	deliveryID := <-arrived
	c.Do(http.MethodDelete, "/users/me/installs/"+in.ID, nil, u.Headers()).Expect(t, 200, "")
	release <- struct{}{}
	// Wait until the held attempt is recorded.
	for deadline := time.Now().Add(10 * time.Second); ; <-time.After(50 * time.Millisecond) {
		var n int
		if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM webhook_attempts WHERE delivery_id = $1", deliveryID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the held attempt was never recorded")
		}
	}
	got := c.Get("/users/me/installs/"+in.ID, u.Headers()).Expect(t, 200, "").Object("install")
	if ac, _ := got["agent_context"].(map[string]any); len(ac) != 0 {
		t.Fatalf("agent_context stored for an uninstalled install: %v", ac)
	}
	var stored bool
	if err := env.Pool.QueryRow(context.Background(), "SELECT agent_context_enc IS NOT NULL FROM installs WHERE id = $1", in.ID).Scan(&stored); err != nil || stored {
		t.Fatalf("agent_context_enc stored (%v, %v)", stored, err)
	}
	var logged string
	if err := env.Pool.QueryRow(context.Background(), "SELECT coalesce(last_error, '') FROM webhook_deliveries WHERE id = $1", deliveryID).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged, "no longer active") {
		t.Fatalf("the attempt log should say the context was dropped: %q", logged)
	}
}
