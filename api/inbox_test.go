package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/officex/officex/internal/testenv"
)

func TestInbox_IdempotentPerAppAndUserWithLimits(t *testing.T) {
	c := env.Client(t)
	a := c.RegisterApp(c.NewUser(), map[string]any{"name": "Inbox Sender"})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	msg := map[string]any{"id": "job-12345-complete", "title": "Lead Enrichment Complete",
		"text": "Successfully enriched 50 leads. 3 could not be found.", "url": "https://myapp.example.com/results/12345"}
	first := c.Post("/installs/"+in.ID+"/inbox", msg, in.Headers()).Expect(t, 201, "")
	again := c.Post("/installs/"+in.ID+"/inbox", msg, in.Headers()).Expect(t, 200, "")
	if again.Body["deduplicated"] != true || again.String("message_id") != first.String("message_id") {
		t.Fatalf("dedup answer %s", again.Raw)
	}
	for _, bad := range []map[string]any{
		{"id": "x", "title": strings.Repeat("t", 201), "text": "t"},
		{"id": "x", "title": "t", "text": strings.Repeat("t", 2001)},
		{"id": "", "title": "t", "text": "t"},
		{"id": strings.Repeat("i", 201), "title": "t", "text": "t"},
		{"id": "x", "title": "t", "text": "t", "url": "javascript:alert(1)"},
		{"id": "x", "title": "t", "text": "t", "icon": "not a url"},
		{"id": "x", "title": "t", "text": "t", "read": true},
	} {
		c.Post("/installs/"+in.ID+"/inbox", bad, in.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Post("/installs/"+in.ID+"/inbox", map[string]any{"id": strings.Repeat("i", 200), "title": strings.Repeat("t", 200),
		"text": strings.Repeat("x", 2000), "icon": "https://cdn.example.com/icon.png"}, in.Headers()).Expect(t, 201, "")
	other := c.Install(c.NewUser(), a.ID, nil)
	c.Post("/installs/"+other.ID+"/inbox", msg, in.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/installs/"+in.ID+"/inbox", msg, nil).Expect(t, 401, "UNAUTHORIZED")

	box := c.Get("/users/me/inbox", u.Headers()).Expect(t, 200, "")
	msgs := box.Body["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("inbox %s", box.Raw)
	}
	oldest := msgs[1].(map[string]any)
	if oldest["title"] != "Lead Enrichment Complete" || oldest["app"].(map[string]any)["name"] != "Inbox Sender" || oldest["read"] != false {
		t.Fatalf("message %v", oldest)
	}
	c.Post("/users/me/inbox/"+oldest["message_id"].(string)+"/read", nil, u.Headers()).Expect(t, 200, "")
	c.Post("/users/me/inbox/"+oldest["message_id"].(string)+"/read", nil, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/users/me/inbox/00000000-0000-0000-0000-000000000001/read", nil, u.Headers()).Expect(t, 404, "NOT_FOUND")
	unread := c.Get("/users/me/inbox?unread=true", u.Headers()).Expect(t, 200, "").Body["messages"].([]any)
	if len(unread) != 1 {
		t.Fatalf("unread %v", unread)
	}
	if n := len(c.Get("/users/me/inbox", other.User.Headers()).Expect(t, 200, "").Body["messages"].([]any)); n != 0 {
		t.Fatalf("another user sees %d messages", n)
	}
}

func TestAdminApps_SuspendRefusesInstallsAndSecretsDeleteHides(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{"name": "Suspicious App"})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	c.Do(http.MethodPatch, "/admin/apps/"+a.ID, map[string]any{"status": "suspended", "reason": "abuse"}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Post("/install/"+a.ID, nil, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
	c.Post("/installs/"+in.ID+"/inbox", map[string]any{"id": "1", "title": "t", "text": "t"}, in.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Get("/apps/"+a.ID, nil).Expect(t, 404, "APP_NOT_FOUND")
	c.Do(http.MethodPatch, "/admin/apps/"+a.ID, map[string]any{"status": "active"}, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Post("/installs/"+in.ID+"/inbox", map[string]any{"id": "1", "title": "t", "text": "t"}, in.Headers()).Expect(t, 201, "")
	c.Do(http.MethodPatch, "/admin/apps/"+a.ID, map[string]any{"status": "banned"}, testenv.AdminHeaders()).Expect(t, 400, "INVALID_REQUEST")
	got := c.Get("/admin/apps/"+a.ID, testenv.AdminHeaders()).Expect(t, 200, "").Object("app")
	if got["status"] != "active" || got["owner_user_id"] != vendor.ID {
		t.Fatalf("admin app %v", got)
	}
	if n := len(c.Get("/admin/apps?status=active&limit=100", testenv.AdminHeaders()).Expect(t, 200, "").Body["apps"].([]any)); n == 0 {
		t.Fatal("admin list is empty")
	}
	c.Do(http.MethodDelete, "/admin/apps/"+a.ID, nil, testenv.AdminHeaders()).Expect(t, 200, "")
	c.Get("/apps/"+a.ID, nil).Expect(t, 404, "APP_NOT_FOUND")
	c.Post("/installs/"+in.ID+"/inbox", map[string]any{"id": "2", "title": "t", "text": "t"}, in.Headers()).Expect(t, 403, "FORBIDDEN")
	c.Get("/admin/apps/not-a-uuid", testenv.AdminHeaders()).Expect(t, 404, "APP_NOT_FOUND")
}

func TestVendorDeletesApp_HiddenUninstalledWalletKept(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	c.Fund(a.WalletID, "3")
	c.Do(http.MethodDelete, "/users/me/apps/"+a.ID, nil, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
	c.Do(http.MethodDelete, "/users/me/apps/"+a.ID, nil, vendor.Headers()).Expect(t, 200, "")
	c.Get("/apps/"+a.Slug, nil).Expect(t, 404, "APP_NOT_FOUND")
	if n := len(c.Get("/users/me/installs", u.Headers()).Expect(t, 200, "").Body["installs"].([]any)); n != 0 {
		t.Fatalf("%d installs left after the app was deleted", n)
	}
	c.Get("/users/me/installs/"+in.ID, u.Headers()).Expect(t, 200, "")
	if w := c.Get("/wallets/"+a.WalletID, vendor.Headers()).Expect(t, 200, ""); w.Body["available"] != 3.0 {
		t.Fatalf("app wallet after delete %s", w.Raw)
	}
	c.Post("/install/"+a.ID, nil, u.Headers()).Expect(t, 404, "APP_NOT_FOUND")
	vendorInstalls := c.Get("/users/me/apps/"+a.ID+"/installs", vendor.Headers())
	vendorInstalls.Expect(t, 404, "APP_NOT_FOUND")
}

func TestVendorInstalls_ListWithoutUserCredentials(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, map[string]any{})
	u := c.NewUser()
	in := c.Install(u, a.ID, nil)
	c.Do(http.MethodPatch, "/users/me/installs/"+in.ID+"/context", map[string]any{"secret_token": "user-only"}, u.Headers()).Expect(t, 200, "")
	r := c.Get("/users/me/apps/"+a.ID+"/installs", vendor.Headers()).Expect(t, 200, "")
	list := r.Body["installs"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["install_id"] != in.ID || list[0].(map[string]any)["user_id"] != u.ID {
		t.Fatalf("vendor installs %s", r.Raw)
	}
	if strings.Contains(string(r.Raw), "user-only") || strings.Contains(string(r.Raw), in.Secret) {
		t.Fatal("the vendor view leaks the user's agent_context or the install secret")
	}
	c.Get("/users/me/apps/"+a.ID+"/installs", u.Headers()).Expect(t, 403, "FORBIDDEN")
}
