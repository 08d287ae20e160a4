package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/internal/testenv"
)

// referenceApp is the reference's register-app example.
func referenceApp(webhookURL string) map[string]any {
	return map[string]any{
		"name": "Lead Enrichment Pro", "description": "Enrich B2B leads with company data", "price_type": "PAY_PER_USE",
		"subtitle": "B2B lead enrichment powered by AI", "category": "Marketing", "developer": "Acme Corp",
		"webhook_url": webhookURL, "iframe_url": "https://myapp.example.com/officex",
		"documentation":         "## API Reference\n\nThis app enriches leads...",
		"context_prompt":        "This app enriches B2B leads. When the user asks to enrich leads, call the /enrich endpoint.",
		"suggested_rate_limits": map[string]any{"max_per_hour": 50, "max_per_day": 200, "max_per_month": 2000},
		"pricing_lines":         []string{"5 credits per lead enrichment", "Bulk discount: 3 credits for 10+ leads"},
		"tags":                  []string{"leads", "b2b"}, "icon": map[string]any{"type": "emoji", "content": "🚀"},
		"inAppPurchases": false, "contact_email": "support@acme.example.com",
	}
}

func TestRegisterApp_ReferenceExampleAndViews(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	r := c.Post("/register-app", referenceApp("https://myapp.example.com/webhooks/officex"), vendor.Headers()).Expect(t, 201, "")
	appID, wallet := r.String("app_id"), r.String("destination_wallet_id")
	if appID == "" || wallet == "" || r.String("message") == "" || !strings.HasPrefix(r.String("webhook_secret"), "whsec_") {
		t.Fatalf("register answer %s", r.Raw)
	}
	if r.String("slug") != "lead-enrichment-pro" && !strings.HasPrefix(r.String("slug"), "lead-enrichment-pro-") {
		t.Fatalf("slug %q", r.String("slug"))
	}
	// The app wallet is the vendor's, empty, and an app wallet.
	w := c.Get("/wallets/"+wallet, vendor.Headers()).Expect(t, 200, "")
	if w.Body["owner_type"] != "app" || w.Body["available"] != 0.0 {
		t.Fatalf("app wallet %s", w.Raw)
	}
	c.Get("/wallets/"+wallet, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
	mine := c.Get("/users/me/apps/"+appID, vendor.Headers()).Expect(t, 200, "").Object("app")
	if mine["webhook_url"] == nil || mine["context_prompt"] == nil || mine["destination_wallet_id"] != wallet {
		t.Fatalf("vendor view %v", mine)
	}
	if _, leaked := mine["webhook_secret"]; leaked {
		t.Fatal("the webhook secret is shown again")
	}
	pub := c.Get("/apps/"+r.String("slug"), nil).Expect(t, 200, "").Object("app")
	for _, private := range []string{"webhook_url", "iframe_url", "context_prompt", "documentation", "owner_user_id", "destination_wallet_id"} {
		if _, leaked := pub[private]; leaked {
			t.Errorf("catalog shows %s", private)
		}
	}
	if pub["name"] != "Lead Enrichment Pro" || pub["app_id"] != appID {
		t.Fatalf("catalog app %v", pub)
	}
	list := c.Get("/users/me/apps", vendor.Headers()).Expect(t, 200, "").Body["apps"].([]any)
	if len(list) != 1 {
		t.Fatalf("my apps %v", list)
	}
	c.Get("/users/me/apps/"+appID, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
	c.Get("/users/me/apps/00000000-0000-0000-0000-000000000009", vendor.Headers()).Expect(t, 404, "APP_NOT_FOUND")
}

func TestRegisterApp_EveryLimitAtAndOver(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	str := strings.Repeat
	list := func(n, each int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = str("x", each)
		}
		return out
	}
	cases := []struct {
		field     string
		atLimit   any
		overLimit any
	}{
		{"name", str("n", 50), str("n", 51)},
		{"name", "abc", "ab"},
		{"subtitle", str("s", 200), str("s", 201)},
		{"category", str("c", 50), str("c", 51)},
		{"context_prompt", str("p", 5000), str("p", 5001)},
		{"documentation", str("d", 50000), str("d", 50001)},
		{"description", str("d", 5000), str("d", 5001)},
		{"pricing_lines", list(10, 100), list(11, 10)},
		{"pricing_lines", list(1, 100), list(1, 101)},
		{"tags", list(10, 50), list(11, 5)},
		{"tags", list(1, 50), list(1, 51)},
		{"price_type", "MIXED", "CHEAP"},
		{"icon", map[string]any{"type": "image", "content": "https://cdn.example.com/i.png"}, map[string]any{"type": "gif", "content": "x"}},
		{"icon", map[string]any{"type": "emoji", "content": "🚀"}, map[string]any{"type": "emoji", "content": ""}},
		{"suggested_rate_limits", map[string]any{"max_per_hour": 1000000}, map[string]any{"max_per_hour": 0}},
		{"minimum_rate_limits", map[string]any{"max_per_day": 1}, map[string]any{"max_per_day": -5}},
		{"contact_email", "a@b.example", "not-an-email"},
		{"webhook_url", "https://hooks.example.com/x", "ftp://hooks.example.com/x"},
		{"iframe_url", "https://app.example.com/", "javascript:alert(1)"},
		{"app_url", "https://app.example.com/", str("h", 10)},
		{"support_url", "https://help.example.com/" + str("p", 2000), "https://help.example.com/" + str("p", 2100)},
	}
	for _, tc := range cases {
		c.Post("/register-app", map[string]any{"name": "Limits App", tc.field: tc.overLimit}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
		body := map[string]any{"name": "Limits App", tc.field: tc.atLimit}
		if tc.field == "name" {
			body = map[string]any{"name": tc.atLimit}
		}
		c.Post("/register-app", body, vendor.Headers()).Expect(t, 201, "")
	}
	c.Post("/register-app", map[string]any{"name": "x y z", "owner_user_id": vendor.ID}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/register-app", map[string]any{"description": "no name"}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Post("/register-app", map[string]any{"name": "No Auth"}, nil).Expect(t, 401, "UNAUTHORIZED")
}

func TestRegisterApp_PrivateURLsRefusedInProduction(t *testing.T) {
	srv := newServer(t, func(d *api.Deps) {
		opt := env.AppsOptions()
		opt.AllowPrivateURLs = false
		d.Apps = apps.New(env.Pool, env.Temporal, env.Box, billing.New(env.Pool), opt)
	})
	c := env.ClientFor(t, srv)
	vendor := c.NewUser()
	for _, u := range []string{"http://hooks.example.com/x", "https://127.0.0.1/hook", "https://169.254.169.254/latest/meta-data",
		"https://localhost/hook", "https://[::1]/hook", "https://10.0.0.5/hook", "https://user:pw@hooks.example.com/"} {
		c.Post("/register-app", map[string]any{"name": "SSRF App", "webhook_url": u}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	}
	c.Post("/register-app", map[string]any{"name": "Public App", "webhook_url": "https://hooks.example.com/x"}, vendor.Headers()).Expect(t, 201, "")
}

func TestPatchApp_MergesAndNullClears(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	a := c.RegisterApp(vendor, referenceApp("https://hooks.example.com/x"))
	r := c.Do(http.MethodPatch, "/users/me/apps/"+a.ID, map[string]any{"subtitle": nil, "tags": []string{"new"},
		"youtube_url": "https://youtube.com/watch?v=1", "previews": []string{"https://img.example.com/1.png"}}, vendor.Headers()).Expect(t, 200, "")
	got := r.Object("app")
	if _, still := got["subtitle"]; still || got["name"] != "Lead Enrichment Pro" || got["youtube_url"] == nil {
		t.Fatalf("patched app %v", got)
	}
	c.Do(http.MethodPatch, "/users/me/apps/"+a.ID, map[string]any{"name": nil}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, "/users/me/apps/"+a.ID, map[string]any{"tags": []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, "/users/me/apps/"+a.ID, map[string]any{"status": "suspended"}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	c.Do(http.MethodPatch, "/users/me/apps/"+a.ID, map[string]any{"name": "Stolen"}, c.NewUser().Headers()).Expect(t, 403, "FORBIDDEN")
	rot := c.Post("/users/me/apps/"+a.ID+"/rotate-webhook-secret", nil, vendor.Headers()).Expect(t, 200, "")
	if s := rot.String("webhook_secret"); s == "" || s == a.WebhookSecret {
		t.Fatalf("rotated secret %q", s)
	}
}

func TestCatalog_FiltersSearchAndPages(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	tag := "tag" + strings.ToLower(testenv.UniqueEmail("t")[:8])
	for i, name := range []string{"Alpha Zebra Tool", "Beta Zebra Tool", "Gamma Other"} {
		c.RegisterApp(vendor, map[string]any{"name": name, "category": "Cat" + tag, "tags": []string{tag}, "subtitle": []string{"", "", "zebra inside"}[i]})
	}
	byCat := c.Get("/apps?category=cat"+tag, nil).Expect(t, 200, "").Body["apps"].([]any)
	byTag := c.Get("/apps?tag="+tag, nil).Expect(t, 200, "").Body["apps"].([]any)
	if len(byCat) != 3 || len(byTag) != 3 {
		t.Fatalf("category %d, tag %d; want 3 and 3", len(byCat), len(byTag))
	}
	search := c.Get("/apps?tag="+tag+"&q=ZEBRA", nil).Expect(t, 200, "").Body["apps"].([]any)
	if len(search) != 3 { // two by name, one by subtitle
		t.Fatalf("search found %d", len(search))
	}
	page := c.Get("/apps?tag="+tag+"&limit=2", nil).Expect(t, 200, "")
	next := page.Object("pagination")["next_cursor"].(string)
	rest := c.Get("/apps?tag="+tag+"&limit=2&cursor="+next, nil).Expect(t, 200, "").Body["apps"].([]any)
	if len(page.Body["apps"].([]any)) != 2 || len(rest) != 1 {
		t.Fatalf("pages of %d and %d", len(page.Body["apps"].([]any)), len(rest))
	}
	c.Get("/apps?q="+strings.Repeat("q", 101), nil).Expect(t, 400, "INVALID_REQUEST")
	c.Get("/apps/no-such-app", nil).Expect(t, 404, "APP_NOT_FOUND")
}

// TestRegisterApp_DeletedAppsCountTowardTheVendorLimit: deleting an app
// frees no room, so a vendor can't churn through apps (each one a wallet, a
// slug and a webhook secret).
func TestRegisterApp_DeletedAppsCountTowardTheVendorLimit(t *testing.T) {
	c := env.Client(t)
	vendor := c.NewUser()
	var first testenv.App
	for i := 0; i < apps.MaxAppsPerVendor; i++ {
		a := c.RegisterApp(vendor, map[string]any{})
		if i == 0 {
			first = a
		}
	}
	c.Do(http.MethodDelete, "/users/me/apps/"+first.ID, nil, vendor.Headers()).Expect(t, 200, "")
	r := c.Post("/register-app", map[string]any{"name": "One Too Many"}, vendor.Headers()).Expect(t, 400, "INVALID_REQUEST")
	if !strings.Contains(string(r.Raw), "deleted ones included") {
		t.Fatalf("the refusal does not say why: %s", r.Raw)
	}
	var n int
	if err := env.Pool.QueryRow(t.Context(), `SELECT count(*) FROM apps WHERE owner_user_id = $1`, vendor.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != apps.MaxAppsPerVendor {
		t.Fatalf("%d apps registered, want %d", n, apps.MaxAppsPerVendor)
	}
}
