package chat

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/officex/officex/internal/apps"
)

// appSkill is what the agent knows of one installed app.
type appSkill struct {
	AppID         uuid.UUID
	Slug          string
	Name          string
	ContextPrompt string
	Documentation string
	Origins       []string          // scheme://host:port of app_url, iframe_url, webhook_url
	Context       map[string]string // agent_context; values never reach the model
}

// keyNames are the app's agent_context keys, sorted.
func (a appSkill) keyNames() []string {
	keys := make([]string, 0, len(a.Context))
	for k := range a.Context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// skillIndex is every active install of a user, by app id and slug.
type skillIndex struct {
	all []appSkill
}

func (a *Agent) loadSkills(ctx context.Context, user uuid.UUID) (*skillIndex, error) {
	installs, err := a.apps.ListUserInstalls(ctx, user)
	if err != nil {
		return nil, err
	}
	idx := &skillIndex{}
	for _, in := range installs {
		if in.Status != "active" {
			continue
		}
		app, err := a.apps.Get(ctx, in.AppID.String())
		if err != nil || app.Status != apps.StatusActive {
			continue // suspended or deleted meanwhile: the agent does not use it
		}
		p := app.Profile
		s := appSkill{AppID: app.ID, Slug: app.Slug, Name: p.Name, Context: in.AgentContext,
			ContextPrompt: deref(p.ContextPrompt), Documentation: deref(p.Documentation)}
		for _, u := range []*string{p.AppURL, p.IframeURL, p.WebhookURL} {
			if o, ok := originOf(deref(u)); ok {
				s.Origins = append(s.Origins, o)
			}
		}
		idx.all = append(idx.all, s)
	}
	return idx, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// find is the installed app with id or slug ref.
func (x *skillIndex) find(ref string) (appSkill, bool) {
	for _, s := range x.all {
		if s.AppID.String() == strings.ToLower(ref) || s.Slug == ref {
			return s, true
		}
	}
	return appSkill{}, false
}

// include picks the turn's apps: refs in order, or every install when empty.
func (x *skillIndex) include(refs []string) ([]appSkill, error) {
	if len(refs) == 0 {
		return x.all, nil
	}
	if len(refs) > MaxIncludeApps {
		return nil, invalidf("include_apps: at most %d apps", MaxIncludeApps)
	}
	var out []appSkill
	seen := map[uuid.UUID]bool{}
	for _, ref := range refs {
		s, ok := x.find(ref)
		if !ok {
			return nil, invalidf("include_apps: %q is not an app you have installed", truncate(ref, 100))
		}
		if !seen[s.AppID] {
			seen[s.AppID] = true
			out = append(out, s)
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// originOf is the origin (scheme://host:port, default ports spelled out) of
// an absolute http(s) URL.
func originOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return fmt.Sprintf("%s://%s:%s", u.Scheme, strings.ToLower(u.Hostname()), port), true
}
