package api

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/apps"
)

// publicAppBody is what the catalog shows: no owner, wallet, webhook,
// iframe or agent instructions.
func publicAppBody(a apps.App) map[string]any {
	p := a.Profile
	return map[string]any{
		"app_id": a.ID, "slug": a.Slug, "name": p.Name, "description": p.Description, "subtitle": p.Subtitle,
		"category": p.Category, "tags": p.Tags, "price_type": p.PriceType, "developer": p.Developer, "icon": p.Icon,
		"icon_url": p.IconURL, "previews": p.Previews, "preview_images": p.PreviewImages, "youtube_url": p.YoutubeURL,
		"pricing_lines": p.PricingLines, "app_url": p.AppURL, "support_url": p.SupportURL, "contact_email": p.ContactEmail,
		"suggested_rate_limits": p.SuggestedRateLimits, "minimum_rate_limits": p.MinimumRateLimits,
		"inAppPurchases": p.InAppPurchases, "created_at": a.CreatedAt,
	}
}

// vendorAppBody is everything, for the app's owner and admins.
func vendorAppBody(a apps.App) map[string]any {
	body := map[string]any{}
	raw, _ := json.Marshal(a.Profile)
	_ = json.Unmarshal(raw, &body)
	body["app_id"], body["slug"], body["status"], body["destination_wallet_id"] = a.ID, a.Slug, a.Status, a.WalletID
	body["owner_user_id"], body["created_at"], body["updated_at"] = a.OwnerID, a.CreatedAt, a.UpdatedAt
	return body
}

func (s *Server) registerApp(w http.ResponseWriter, r *http.Request) error {
	var p apps.Profile
	if err := decode(r, &p); err != nil {
		return err
	}
	reg, err := s.apps.Register(r.Context(), currentUser(r).ID, p)
	if err != nil {
		return err
	}
	okStatus(w, http.StatusCreated, map[string]any{"app_id": reg.App.ID, "destination_wallet_id": reg.App.WalletID,
		"slug": reg.App.Slug, "webhook_secret": reg.WebhookSecret,
		"message": "App registered. Store webhook_secret now: it is shown once and verifies our webhook signatures."})
	return nil
}

func (s *Server) myApps(w http.ResponseWriter, r *http.Request) error {
	list, err := s.apps.ListOwned(r.Context(), currentUser(r).ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(list))
	for i, a := range list {
		out[i] = vendorAppBody(a)
	}
	ok(w, map[string]any{"apps": out})
	return nil
}

func (s *Server) myApp(w http.ResponseWriter, r *http.Request) error {
	a, err := s.apps.GetOwned(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"app": vendorAppBody(a)})
	return nil
}

// patchMyApp merges the body into the app: a field set to null is cleared.
func (s *Server) patchMyApp(w http.ResponseWriter, r *http.Request) error {
	var patch map[string]json.RawMessage
	if err := decode(r, &patch); err != nil {
		return err
	}
	if patch == nil {
		return invalid("request body must be a JSON object")
	}
	a, err := s.apps.Update(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"], patch)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"app": vendorAppBody(a)})
	return nil
}

func (s *Server) deleteMyApp(w http.ResponseWriter, r *http.Request) error {
	if err := s.apps.Delete(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"]); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	secret, err := s.apps.RotateWebhookSecret(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"webhook_secret": secret})
	return nil
}

// myAppInstalls is the vendor's view of an app's installs, with usage.
func (s *Server) myAppInstalls(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.apps.ListAppInstalls(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"], limit+1, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "installs", list, limit, func(in apps.Install) (map[string]any, error) {
		body, err := s.installBody(r, in)
		delete(body, "agent_context") // the user's credentials, not the vendor's
		return body, err
	}, func(in apps.Install) keysetCursor { return keysetCursor{Created: in.InstalledAt, ID: in.ID} })
}

func (s *Server) myAppWebhooks(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.apps.ListDeliveries(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"], limit+1, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "webhooks", list, limit, noErr(func(d apps.Delivery) map[string]any {
		return map[string]any{"delivery_id": d.ID, "webhook_id": d.ID, "install_id": d.InstallID, "event": d.Event,
			"payload": d.Payload, "status": d.Status, "attempts": d.Attempts, "last_status_code": d.LastStatus,
			"last_error": d.LastError, "created_at": d.CreatedAt, "delivered_at": d.DeliveredAt, "attempt_log": d.Tries}
	}), func(d apps.Delivery) keysetCursor { return keysetCursor{Created: d.CreatedAt, ID: d.ID} })
}

func (s *Server) redeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "delivery_id", apps.ErrDeliveryNotFound)
	if err != nil {
		return err
	}
	if err := s.apps.Redeliver(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"], id); err != nil {
		return err
	}
	okStatus(w, http.StatusAccepted, map[string]any{"delivery_id": id, "status": "pending"})
	return nil
}

// catalog lists public apps: ?category=&tag=&q=&limit=&cursor=.
func (s *Server) catalog(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := apps.CatalogFilter{Category: q.Get("category"), Tag: q.Get("tag"), Search: q.Get("q"), Limit: limit + 1}
	f.AfterCreated, f.AfterID = cursorParts(cursor)
	list, err := s.apps.Catalog(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, "apps", list, limit, noErr(publicAppBody), func(a apps.App) keysetCursor { return keysetCursor{Created: a.CreatedAt, ID: a.ID} })
}

func (s *Server) catalogApp(w http.ResponseWriter, r *http.Request) error {
	a, err := s.apps.Get(r.Context(), mux.Vars(r)["app_id"])
	if err != nil {
		return err
	}
	if a.Status != apps.StatusActive {
		return apps.ErrAppNotFound
	}
	ok(w, map[string]any{"app": publicAppBody(a)})
	return nil
}

func (s *Server) adminListApps(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.apps.AdminList(r.Context(), r.URL.Query().Get("status"), limit+1, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "apps", list, limit, noErr(vendorAppBody), func(a apps.App) keysetCursor { return keysetCursor{Created: a.CreatedAt, ID: a.ID} })
}

func (s *Server) adminGetApp(w http.ResponseWriter, r *http.Request) error {
	a, err := s.apps.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"app": vendorAppBody(a)})
	return nil
}

// adminPatchApp suspends or reactivates an app: {status, reason?}.
func (s *Server) adminPatchApp(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", apps.ErrAppNotFound)
	if err != nil {
		return err
	}
	body, err := decodeStatusChange(r)
	if err != nil {
		return err
	}
	a, err := s.apps.AdminSetStatus(r.Context(), id, body.Status, body.Reason)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"app": vendorAppBody(a)})
	return nil
}

func (s *Server) adminDeleteApp(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", apps.ErrAppNotFound)
	if err != nil {
		return err
	}
	if _, err := s.apps.AdminSetStatus(r.Context(), id, apps.StatusDeleted, "deleted by admin"); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}
