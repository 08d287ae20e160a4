package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/ledger"
)

// installBody is an install for its user (with agent_context) or its vendor.
func (s *Server) installBody(r *http.Request, in apps.Install) (map[string]any, error) {
	spendLimit := any(-1)
	if in.LifetimeSpendLimit >= 0 {
		spendLimit = ledger.Credits(in.LifetimeSpendLimit)
	}
	body := map[string]any{
		"install_id": in.ID, "app_id": in.AppID, "user_id": in.UserID, "status": in.Status,
		"installed_at": in.InstalledAt, "uninstalled_at": in.UninstalledAt,
		"max_per_hour": in.MaxPerHour, "max_per_day": in.MaxPerDay, "max_per_month": in.MaxPerMonth,
		"allowed_until": in.AllowedUntil, "lifetime_spend_limit": spendLimit,
		"lifetime_spend": ledger.Credits(in.LifetimeSpent), "agent_context": in.AgentContext,
	}
	hour, day, month, err := s.billing.Usage(r.Context(), in.ID)
	if err != nil {
		return nil, err
	}
	body["usage"] = map[string]any{"hour": hour, "day": day, "month": month, "lifetime_spend": ledger.Credits(in.LifetimeSpent)}
	return body, nil
}

// limitsBody is the limits part of install and PATCH bodies.
type limitsBody struct {
	MaxPerHour         *int                  `json:"max_per_hour"`
	MaxPerDay          *int                  `json:"max_per_day"`
	MaxPerMonth        *int                  `json:"max_per_month"`
	AllowedUntil       *int64                `json:"allowed_until"`
	LifetimeSpendLimit *ledger.SignedCredits `json:"lifetime_spend_limit"`
}

func (b limitsBody) limits() (apps.Limits, error) {
	l := apps.Limits{MaxPerHour: b.MaxPerHour, MaxPerDay: b.MaxPerDay, MaxPerMonth: b.MaxPerMonth, AllowedUntil: b.AllowedUntil}
	if b.LifetimeSpendLimit != nil {
		v := ledger.Credits(*b.LifetimeSpendLimit)
		switch {
		case v == -ledger.Scale:
			v = apps.Unlimited
		case v < 0:
			return apps.Limits{}, invalid("lifetime_spend_limit must be a non-negative amount or -1")
		}
		n := int64(v)
		l.LifetimeSpendLimit = &n
	}
	return l, nil
}

// install installs an app by id or slug: {max_per_hour?, max_per_day?, max_per_month?, allowed_until?}.
func (s *Server) install(w http.ResponseWriter, r *http.Request) error {
	var body limitsBody
	if err := decodeOptional(r, &body); err != nil {
		return err
	}
	if body.LifetimeSpendLimit != nil {
		return invalid("lifetime_spend_limit is set with PATCH /users/me/installs/{id}")
	}
	l, err := body.limits()
	if err != nil {
		return err
	}
	u := currentUser(r)
	res, err := s.apps.Install(r.Context(), u.ID, u.Email, mux.Vars(r)["app_id"], l)
	if err != nil {
		return err
	}
	out := map[string]any{"app_id": res.Install.AppID, "install_id": res.Install.ID, "install_secret": res.Secret}
	if len(res.Install.AgentContext) > 0 {
		out["agent_context"] = res.Install.AgentContext
	}
	okStatus(w, http.StatusCreated, out)
	return nil
}

func (s *Server) myInstalls(w http.ResponseWriter, r *http.Request) error {
	list, err := s.apps.ListUserInstalls(r.Context(), currentUser(r).ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(list))
	for i, in := range list {
		body, err := s.installBody(r, in.Install)
		if err != nil {
			return err
		}
		body["app_slug"], body["app_name"] = in.AppSlug, in.AppName
		out[i] = body
	}
	ok(w, map[string]any{"installs": out})
	return nil
}

func (s *Server) myInstall(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", apps.ErrInstallNotFound)
	if err != nil {
		return err
	}
	in, err := s.apps.GetOwnInstall(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	body, err := s.installBody(r, in)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"install": body})
	return nil
}

func (s *Server) uninstall(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", apps.ErrInstallNotFound)
	if err != nil {
		return err
	}
	if err := s.apps.Uninstall(r.Context(), currentUser(r).ID, id); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}

func (s *Server) patchInstall(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", apps.ErrInstallNotFound)
	if err != nil {
		return err
	}
	var body limitsBody
	if err := decode(r, &body); err != nil {
		return err
	}
	l, err := body.limits()
	if err != nil {
		return err
	}
	in, err := s.apps.UpdateLimits(r.Context(), currentUser(r).ID, id, l)
	if err != nil {
		return err
	}
	out, err := s.installBody(r, in)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"install": out})
	return nil
}

func (s *Server) rotateInstallSecret(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", apps.ErrInstallNotFound)
	if err != nil {
		return err
	}
	secret, err := s.apps.RotateSecret(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"install_secret": secret})
	return nil
}

func (s *Server) launchInstall(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", apps.ErrInstallNotFound)
	if err != nil {
		return err
	}
	u, err := s.apps.Launch(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"url": u})
	return nil
}

// myInstallContext merges agent context as the user: {key: value | null}.
func (s *Server) myInstallContext(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", apps.ErrInstallNotFound)
	if err != nil {
		return err
	}
	if _, err := s.apps.GetOwnInstall(r.Context(), currentUser(r).ID, id); err != nil {
		return err
	}
	return s.mergeContext(w, r, id)
}

func (s *Server) mergeContext(w http.ResponseWriter, r *http.Request, id uuid.UUID) error {
	var patch map[string]*string
	if err := decode(r, &patch); err != nil {
		return err
	}
	if len(patch) > apps.MaxAgentContextKeys {
		return invalid("agent_context: at most %d keys", apps.MaxAgentContextKeys)
	}
	merged, err := s.apps.MergeAgentContext(r.Context(), id, patch)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"agent_context": merged})
	return nil
}
