package e2e_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/officex/officex/internal/apps"
	officex "github.com/officex/officex/sdk"
)

// A receiver built with webhook.Verify accepts OfficeX's real deliveries
// (INSTALL, and UNINSTALL after a secret rotation) and refuses the same
// delivery tampered with, re-timed or signed too long ago.
func TestWebhook_ReceiverAcceptsOfficeXDeliveriesAndRefusesForgeries(t *testing.T) {
	ctx := context.Background()
	setup := installApp(t, ctx, 0)
	rc, vendor, user, appID, real := setup.rc, setup.vendor, setup.user, setup.appID, setup.delivery
	inst := setup.answer.JSON201

	// OfficeX took the verified receiver's answer: agent_context is on the install.
	got := try(officex.Check(user.C.MyInstallWithResponse(ctx, inst.InstallId.String()))).must(t).JSON200.Install
	if got.AgentContext == nil || (*got.AgentContext)["base_url"] != "https://app.example/api" {
		t.Fatalf("install agent_context %v", got.AgentContext)
	}

	post := func(h http.Header, body []byte) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, rc.URL, bytes.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(real.header.Clone(), real.body); code != http.StatusOK {
		t.Fatalf("the real delivery again: %d", code)
	}
	tampered := bytes.Replace(real.body, []byte(inst.InstallId.String()), []byte("00000000-0000-0000-0000-000000000000"), 1)
	if bytes.Equal(tampered, real.body) {
		t.Fatalf("install id not in the body %s", real.body)
	}
	retimed := real.header.Clone()
	retimed.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix()+30, 10))
	rc.mu.Lock()
	secret := rc.secret
	rc.mu.Unlock()
	old := real.header.Clone()
	oldTS := time.Now().Add(-10 * time.Minute).Unix()
	sig, err := apps.SignWebhook(secret, old.Get("webhook-id"), oldTS, real.body) // signed right, but 10 minutes ago
	if err != nil {
		t.Fatal(err)
	}
	old.Set("webhook-timestamp", strconv.FormatInt(oldTS, 10))
	old.Set("webhook-signature", sig)
	for name, c := range map[string]struct {
		h    http.Header
		body []byte
	}{"tampered body": {real.header.Clone(), tampered}, "re-timed": {retimed, real.body}, "old": {old, real.body}} {
		if code := post(c.h, c.body); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	rc.mu.Lock()
	refused := rc.refuse
	rc.mu.Unlock()
	if len(refused) != 3 {
		t.Fatalf("refusals %v", refused)
	}

	// After a rotation the new secret verifies the next delivery (UNINSTALL).
	rot := try(officex.Check(vendor.C.RotateWebhookSecretWithResponse(ctx, appID))).must(t).JSON200
	rc.setSecret(rot.WebhookSecret)
	try(officex.Check(user.C.UninstallWithResponse(ctx, inst.InstallId.String()))).must(t)
	ev, _ := rc.waitFor(t, "UNINSTALL")
	if ev.UUID == "" {
		t.Fatalf("UNINSTALL %+v", ev)
	}
}
