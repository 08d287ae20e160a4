// Package apps owns vendor apps, their installs, lifecycle webhooks (recorded
// here, delivered by WebhookDeliveryWorkflow), agent context and inbox
// messages. It moves no money: app wallets are created empty and change only
// through the ledger.
package apps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"unicode/utf8"

	"github.com/officex/officex/internal/safehttp"
)

// ErrInvalid is a request that breaks the app schema of the reference.
var ErrInvalid = errors.New("invalid app")

// Limits of the app schema (the reference's where it gives one).
const (
	MinNameLen          = 3
	MaxNameLen          = 50
	MaxDescriptionLen   = 5000
	MaxSubtitleLen      = 200
	MaxCategoryLen      = 50
	MaxDeveloperLen     = 100
	MaxContextPromptLen = 5000
	MaxDocumentationLen = 50000
	MaxPricingLines     = 10
	MaxPricingLineLen   = 100
	MaxTags             = 10
	MaxTagLen           = 50
	MaxEmojiLen         = 16
	MaxPreviews         = 10
	MaxRateLimit        = 1_000_000
)

// RateLimits are suggested or minimum install limits.
type RateLimits struct {
	MaxPerHour  *int   `json:"max_per_hour,omitempty"`
	MaxPerDay   *int   `json:"max_per_day,omitempty"`
	MaxPerMonth *int   `json:"max_per_month,omitempty"`
	ExpiresAt   *int64 `json:"expires_at,omitempty"` // unix seconds, -1 = never
}

// Icon is an emoji or an image URL.
type Icon struct {
	Type    string `json:"type"`
	Content string `json:"content"`
}

// Profile is every vendor-editable field of an app, as the reference names them.
type Profile struct {
	Name                string      `json:"name"`
	Description         *string     `json:"description,omitempty"`
	PriceType           *string     `json:"price_type,omitempty"`
	WebhookURL          *string     `json:"webhook_url,omitempty"`
	SuggestedRateLimits *RateLimits `json:"suggested_rate_limits,omitempty"`
	MinimumRateLimits   *RateLimits `json:"minimum_rate_limits,omitempty"`
	Subtitle            *string     `json:"subtitle,omitempty"`
	Category            *string     `json:"category,omitempty"`
	Developer           *string     `json:"developer,omitempty"`
	AppURL              *string     `json:"app_url,omitempty"`
	IframeURL           *string     `json:"iframe_url,omitempty"`
	SupportURL          *string     `json:"support_url,omitempty"`
	ContactEmail        *string     `json:"contact_email,omitempty"`
	ContextPrompt       *string     `json:"context_prompt,omitempty"`
	Documentation       *string     `json:"documentation,omitempty"`
	PricingLines        []string    `json:"pricing_lines,omitempty"`
	Tags                []string    `json:"tags,omitempty"`
	Icon                *Icon       `json:"icon,omitempty"`
	IconURL             *string     `json:"icon_url,omitempty"`
	Previews            []string    `json:"previews,omitempty"`
	PreviewImages       []string    `json:"preview_images,omitempty"`
	YoutubeURL          *string     `json:"youtube_url,omitempty"`
	InAppPurchases      *bool       `json:"inAppPurchases,omitempty"`
}

var priceTypes = map[string]bool{"FREE": true, "PAY_PER_USE": true, "ONE_TIME": true, "SUBSCRIPTION": true, "MIXED": true}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func checkLen(field string, s *string, lo, hi int) error {
	if s == nil {
		return nil
	}
	if n := utf8.RuneCountInString(*s); n < lo || n > hi || !utf8.ValidString(*s) {
		return invalidf("%s must be %d-%d characters", field, lo, hi)
	}
	return nil
}

// Validate checks every field against the reference's limits; URLs must be
// https unless allowPrivate (then http and private hosts are fine too).
func (p *Profile) Validate(allowPrivate bool) error {
	name := p.Name
	checks := []error{
		checkLen("name", &name, MinNameLen, MaxNameLen),
		checkLen("description", p.Description, 0, MaxDescriptionLen),
		checkLen("subtitle", p.Subtitle, 0, MaxSubtitleLen),
		checkLen("category", p.Category, 1, MaxCategoryLen),
		checkLen("developer", p.Developer, 0, MaxDeveloperLen),
		checkLen("context_prompt", p.ContextPrompt, 0, MaxContextPromptLen),
		checkLen("documentation", p.Documentation, 0, MaxDocumentationLen),
		checkList("pricing_lines", p.PricingLines, MaxPricingLines, MaxPricingLineLen),
		checkList("tags", p.Tags, MaxTags, MaxTagLen),
		checkRateLimits("suggested_rate_limits", p.SuggestedRateLimits),
		checkRateLimits("minimum_rate_limits", p.MinimumRateLimits),
	}
	if p.PriceType != nil && !priceTypes[*p.PriceType] {
		checks = append(checks, invalidf("price_type must be FREE, PAY_PER_USE, ONE_TIME, SUBSCRIPTION or MIXED"))
	}
	for field, u := range map[string]*string{"webhook_url": p.WebhookURL, "app_url": p.AppURL, "iframe_url": p.IframeURL,
		"support_url": p.SupportURL, "icon_url": p.IconURL, "youtube_url": p.YoutubeURL} {
		checks = append(checks, checkURL(field, u, allowPrivate))
	}
	for _, list := range []struct {
		field string
		urls  []string
	}{{"previews", p.Previews}, {"preview_images", p.PreviewImages}} {
		if len(list.urls) > MaxPreviews {
			checks = append(checks, invalidf("%s: at most %d items", list.field, MaxPreviews))
		}
		for _, u := range list.urls {
			checks = append(checks, checkURL(list.field, &u, allowPrivate))
		}
	}
	if p.ContactEmail != nil {
		if a, err := mail.ParseAddress(*p.ContactEmail); err != nil || a.Address != *p.ContactEmail || len(*p.ContactEmail) > 254 {
			checks = append(checks, invalidf("contact_email is not a valid address"))
		}
	}
	checks = append(checks, checkIcon(p.Icon, allowPrivate))
	return firstErr(checks)
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func checkList(field string, items []string, maxItems, maxLen int) error {
	if len(items) > maxItems {
		return invalidf("%s: at most %d items", field, maxItems)
	}
	for _, it := range items {
		if n := utf8.RuneCountInString(it); n == 0 || n > maxLen {
			return invalidf("%s: each item must be 1-%d characters", field, maxLen)
		}
	}
	return nil
}

func checkRateLimits(field string, r *RateLimits) error {
	if r == nil {
		return nil
	}
	for name, v := range map[string]*int{"max_per_hour": r.MaxPerHour, "max_per_day": r.MaxPerDay, "max_per_month": r.MaxPerMonth} {
		if v != nil && (*v < 1 || *v > MaxRateLimit) {
			return invalidf("%s.%s must be 1-%d", field, name, MaxRateLimit)
		}
	}
	if r.ExpiresAt != nil && *r.ExpiresAt < -1 {
		return invalidf("%s.expires_at must be a unix timestamp or -1", field)
	}
	return nil
}

func checkURL(field string, u *string, allowPrivate bool) error {
	if u == nil {
		return nil
	}
	if err := safehttp.CheckURL(*u, allowPrivate); err != nil {
		return invalidf("%s: %v", field, err)
	}
	return nil
}

func checkIcon(icon *Icon, allowPrivate bool) error {
	if icon == nil {
		return nil
	}
	switch icon.Type {
	case "emoji":
		if n := utf8.RuneCountInString(icon.Content); n == 0 || n > MaxEmojiLen {
			return invalidf("icon.content must be 1-%d characters for an emoji", MaxEmojiLen)
		}
	case "image":
		return checkURL("icon.content", &icon.Content, allowPrivate)
	default:
		return invalidf(`icon.type must be "emoji" or "image"`)
	}
	return nil
}

// decodeStrict decodes one JSON object into dst, refusing unknown fields.
func decodeStrict(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return invalidf("%v", err)
	}
	return nil
}

// ApplyPatch returns p with patch merged in: a field set to null is cleared,
// an absent field is kept. name can't be cleared.
func (p Profile) ApplyPatch(patch map[string]json.RawMessage) (Profile, error) {
	current, err := json.Marshal(p)
	if err != nil {
		return Profile{}, err
	}
	merged := map[string]json.RawMessage{}
	if err := json.Unmarshal(current, &merged); err != nil {
		return Profile{}, err
	}
	for k, v := range patch {
		if string(bytes.TrimSpace(v)) == "null" {
			if k == "name" {
				return Profile{}, invalidf("name can't be cleared")
			}
			delete(merged, k)
			continue
		}
		merged[k] = v
	}
	raw, _ := json.Marshal(merged)
	var out Profile
	if err := decodeStrict(raw, &out); err != nil {
		return Profile{}, err
	}
	return out, nil
}
