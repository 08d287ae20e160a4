package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/auth"
)

// Errors of installs.
var (
	ErrInstallNotFound  = errors.New("install not found")
	ErrNotYourInstall   = errors.New("this install belongs to another user")
	ErrAlreadyInstalled = errors.New("this app is already installed; rotate its secret or uninstall it first")
	ErrInvalidSecret    = errors.New("install secret does not match")
	ErrUninstalled      = errors.New("this install was uninstalled")
	ErrUserSuspended    = errors.New("the account of this install's user is suspended: it can't be billed")
	ErrVendorSuspended  = errors.New("the account of this app's vendor is suspended: its apps can't bill")
)

// Install defaults and limits (the reference's).
const (
	InstallSecretPrefix   = "ofx_is_"
	DefaultMaxPerHour     = 100
	DefaultMaxPerDay      = 300
	DefaultMaxPerMonth    = 1000
	DefaultAllowedFor     = 30 * 24 * time.Hour
	NeverExpires          = -1
	Unlimited             = -1
	MaxAgentContextKeys   = 50
	MaxAgentContextKeyLen = 200
	MaxAgentContextValLen = 1000
)

// Install is an installation of an app by a user.
type Install struct {
	ID                 uuid.UUID
	AppID              uuid.UUID
	UserID             uuid.UUID
	Status             string
	MaxPerHour         int
	MaxPerDay          int
	MaxPerMonth        int
	AllowedUntil       int64 // unix seconds, -1 never
	LifetimeSpendLimit int64 // micro-credits, -1 unlimited
	LifetimeSpent      int64 // micro-credits
	AgentContext       map[string]string
	InstalledAt        time.Time
	UninstalledAt      *time.Time
}

func installSecretContext(id uuid.UUID) string { return "install:" + id.String() + ":secret" }
func agentContextContext(id uuid.UUID) string  { return "install:" + id.String() + ":agent_context" }

func (s *Service) installFrom(r dbgen.Install) (Install, error) {
	in := Install{ID: r.ID, AppID: r.AppID, UserID: r.UserID, Status: r.Status, MaxPerHour: int(r.MaxPerHour),
		MaxPerDay: int(r.MaxPerDay), MaxPerMonth: int(r.MaxPerMonth), AllowedUntil: r.AllowedUntil,
		LifetimeSpendLimit: r.LifetimeSpendLimit, LifetimeSpent: r.LifetimeSpent, InstalledAt: r.InstalledAt,
		UninstalledAt: r.UninstalledAt, AgentContext: map[string]string{}}
	if r.AgentContextEnc != nil {
		raw, err := s.box.Open(r.AgentContextEnc, agentContextContext(r.ID))
		if err != nil {
			return Install{}, fmt.Errorf("agent context of %s: %w", r.ID, err)
		}
		if err := json.Unmarshal(raw, &in.AgentContext); err != nil {
			return Install{}, err
		}
	}
	return in, nil
}

// Limits are the install's billing limits; nil fields take defaults (on
// install) or stay (on update).
type Limits struct {
	MaxPerHour         *int
	MaxPerDay          *int
	MaxPerMonth        *int
	AllowedUntil       *int64
	LifetimeSpendLimit *int64 // micro-credits, -1 unlimited
}

func pick(v *int, suggested *int, def int) int {
	switch {
	case v != nil:
		return *v
	case suggested != nil:
		return *suggested
	}
	return def
}

// checkLimits enforces positivity and the app's minimum limits.
func checkLimits(hour, day, month int, allowedUntil int64, min *RateLimits) error {
	for name, v := range map[string]int{"max_per_hour": hour, "max_per_day": day, "max_per_month": month} {
		if v < 1 || v > MaxRateLimit {
			return invalidf("%s must be 1-%d", name, MaxRateLimit)
		}
	}
	if allowedUntil != NeverExpires && allowedUntil <= time.Now().Unix() {
		return invalidf("allowed_until must be a future unix timestamp or -1")
	}
	if min == nil {
		return nil
	}
	for _, c := range []struct {
		name string
		v    int
		min  *int
	}{{"max_per_hour", hour, min.MaxPerHour}, {"max_per_day", day, min.MaxPerDay}, {"max_per_month", month, min.MaxPerMonth}} {
		if c.min != nil && c.v < *c.min {
			return invalidf("%s is below the app's minimum of %d", c.name, *c.min)
		}
	}
	return nil
}

// Installed is the answer to an install; Secret is shown here and by launch.
type Installed struct {
	Install Install
	Secret  string
}

// Install installs an app (by id or slug) for a user, records the INSTALL
// webhook and waits (bounded) for its first attempt so the app's
// agent_context can be returned. A slow or failing webhook never fails it.
func (s *Service) Install(ctx context.Context, user uuid.UUID, email, appRef string, l Limits) (Installed, error) {
	a, err := s.Get(ctx, appRef)
	if err != nil {
		return Installed{}, err
	}
	if a.Status == StatusDeleted {
		return Installed{}, ErrAppNotFound
	}
	if a.Status == StatusSuspended {
		return Installed{}, ErrAppSuspended
	}
	sug := a.Profile.SuggestedRateLimits
	if sug == nil {
		sug = &RateLimits{}
	}
	hour, day, month := pick(l.MaxPerHour, sug.MaxPerHour, DefaultMaxPerHour), pick(l.MaxPerDay, sug.MaxPerDay, DefaultMaxPerDay),
		pick(l.MaxPerMonth, sug.MaxPerMonth, DefaultMaxPerMonth)
	until := time.Now().Add(DefaultAllowedFor).Unix()
	if l.AllowedUntil != nil {
		until = *l.AllowedUntil
	}
	if err := checkLimits(hour, day, month, until, a.Profile.MinimumRateLimits); err != nil {
		return Installed{}, err
	}
	id, secret := uuid.New(), auth.NewSecret(InstallSecretPrefix)
	var delivery uuid.UUID
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		row, err := q.InsertInstall(ctx, dbgen.InsertInstallParams{ID: id, AppID: a.ID, UserID: user,
			SecretHash: auth.Hash(secret), SecretEnc: s.box.Seal([]byte(secret), installSecretContext(id)),
			MaxPerHour: int32(hour), MaxPerDay: int32(day), MaxPerMonth: int32(month), AllowedUntil: until})
		if db.IsUniqueViolation(err, "installs_one_active") {
			return ErrAlreadyInstalled
		}
		if err != nil {
			return fmt.Errorf("insert install: %w", err)
		}
		delivery, err = s.enqueueWebhook(ctx, tx, a, row.ID, EventInstall, map[string]any{
			"install_id": row.ID, "user_id": user, "app_id": a.ID, "email": email, "timestamp": nowRFC3339()})
		return err
	})
	if err != nil {
		return Installed{}, err
	}
	if delivery != uuid.Nil {
		s.awaitFirstAttempt(ctx, delivery)
	}
	in, err := s.getInstall(ctx, id)
	return Installed{Install: in, Secret: secret}, err
}

func nowRFC3339() string { return time.Now().UTC().Format(time.RFC3339) }

// awaitFirstAttempt polls the delivery until its first attempt is recorded or
// InstallWebhookWait passes; either way the install goes on.
func (s *Service) awaitFirstAttempt(ctx context.Context, delivery uuid.UUID) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.InstallWebhookWait)
	defer cancel()
	q := dbgen.New(s.pool)
	for delay := 10 * time.Millisecond; ; delay = min(delay*2, 100*time.Millisecond) {
		d, err := q.GetWebhookDelivery(ctx, delivery)
		if err == nil && (d.Attempts > 0 || d.Status != "pending") {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (s *Service) getInstall(ctx context.Context, id uuid.UUID) (Install, error) {
	r, err := dbgen.New(s.pool).GetInstall(ctx, id)
	if db.IsNotFound(err) {
		return Install{}, ErrInstallNotFound
	}
	if err != nil {
		return Install{}, fmt.Errorf("get install %s: %w", id, err)
	}
	return s.installFrom(r)
}

// GetOwnInstall reads one of the user's installs.
func (s *Service) GetOwnInstall(ctx context.Context, user, id uuid.UUID) (Install, error) {
	in, err := s.getInstall(ctx, id)
	if err != nil {
		return Install{}, err
	}
	if in.UserID != user {
		return Install{}, ErrNotYourInstall
	}
	return in, nil
}

// InstallWithApp is an install with its app's name, for lists.
type InstallWithApp struct {
	Install
	AppSlug, AppName string
}

// MaxInstallsListed bounds a user's install list.
const MaxInstallsListed = 500

// ListUserInstalls lists a user's active installs, newest first.
func (s *Service) ListUserInstalls(ctx context.Context, user uuid.UUID) ([]InstallWithApp, error) {
	rows, err := dbgen.New(s.pool).ListInstallsOfUser(ctx, dbgen.ListInstallsOfUserParams{UserID: user, RowLimit: MaxInstallsListed})
	if err != nil {
		return nil, err
	}
	out := make([]InstallWithApp, 0, len(rows))
	for _, r := range rows {
		in, err := s.installFrom(dbgen.Install{ID: r.ID, AppID: r.AppID, UserID: r.UserID, Status: r.Status,
			MaxPerHour: r.MaxPerHour, MaxPerDay: r.MaxPerDay, MaxPerMonth: r.MaxPerMonth, AllowedUntil: r.AllowedUntil,
			LifetimeSpendLimit: r.LifetimeSpendLimit, LifetimeSpent: r.LifetimeSpent, AgentContextEnc: r.AgentContextEnc,
			InstalledAt: r.InstalledAt, UninstalledAt: r.UninstalledAt})
		if err != nil {
			return nil, err
		}
		out = append(out, InstallWithApp{Install: in, AppSlug: r.Slug, AppName: r.AppName})
	}
	return out, nil
}

// ListAppInstalls is the vendor's view of an app's installs, newest first.
func (s *Service) ListAppInstalls(ctx context.Context, owner uuid.UUID, appRef string, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Install, error) {
	a, err := s.GetOwned(ctx, owner, appRef)
	if err != nil {
		return nil, err
	}
	rows, err := dbgen.New(s.pool).ListInstallsOfApp(ctx, dbgen.ListInstallsOfAppParams{AppID: a.ID, RowLimit: int32(limit),
		AfterCreated: afterCreated, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}})
	if err != nil {
		return nil, err
	}
	out := make([]Install, 0, len(rows))
	for _, r := range rows {
		in, err := s.installFrom(r)
		if err != nil {
			return nil, err
		}
		in.AgentContext = nil // the vendor sees usage, not the user's credentials
		out = append(out, in)
	}
	return out, nil
}

// Uninstall ends an install and records the UNINSTALL webhook.
func (s *Service) Uninstall(ctx context.Context, user, id uuid.UUID) error {
	in, err := s.GetOwnInstall(ctx, user, id)
	if err != nil {
		return err
	}
	a, err := s.Get(ctx, in.AppID.String())
	if err != nil {
		return err
	}
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		// Open reservations first: billing locks a reservation before its install.
		if err := s.billing.CancelOpenForInstall(ctx, tx, id); err != nil {
			return err
		}
		if _, err := q.UninstallInstall(ctx, id); err != nil {
			if db.IsNotFound(err) {
				return ErrUninstalled
			}
			return err
		}
		_, err := s.enqueueWebhook(ctx, tx, a, id, EventUninstall, map[string]any{
			"install_id": id, "user_id": in.UserID, "app_id": a.ID, "timestamp": nowRFC3339()})
		return err
	})
}

// UpdateLimits changes an install's limits and records RATE_LIMIT_CHANGE when
// a rate limit or allowed_until changed.
func (s *Service) UpdateLimits(ctx context.Context, user, id uuid.UUID, l Limits) (Install, error) {
	in, err := s.GetOwnInstall(ctx, user, id)
	if err != nil {
		return Install{}, err
	}
	if in.Status != "active" {
		return Install{}, ErrUninstalled
	}
	a, err := s.Get(ctx, in.AppID.String())
	if err != nil {
		return Install{}, err
	}
	hour, day, month := pick(l.MaxPerHour, &in.MaxPerHour, 0), pick(l.MaxPerDay, &in.MaxPerDay, 0), pick(l.MaxPerMonth, &in.MaxPerMonth, 0)
	until, spend := in.AllowedUntil, in.LifetimeSpendLimit
	if l.AllowedUntil != nil {
		until = *l.AllowedUntil
	}
	if l.LifetimeSpendLimit != nil {
		if *l.LifetimeSpendLimit < Unlimited {
			return Install{}, invalidf("lifetime_spend_limit must be a non-negative amount or -1")
		}
		spend = *l.LifetimeSpendLimit
	}
	if err := checkLimits(hour, day, month, until, a.Profile.MinimumRateLimits); err != nil {
		return Install{}, err
	}
	changed := hour != in.MaxPerHour || day != in.MaxPerDay || month != in.MaxPerMonth || until != in.AllowedUntil
	var out dbgen.Install
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		var err error
		out, err = q.UpdateInstallLimits(ctx, dbgen.UpdateInstallLimitsParams{ID: id, MaxPerHour: int32(hour), MaxPerDay: int32(day),
			MaxPerMonth: int32(month), AllowedUntil: until, LifetimeSpendLimit: spend})
		if err != nil || !changed {
			return err
		}
		_, err = s.enqueueWebhook(ctx, tx, a, id, EventRateLimitChange, map[string]any{
			"install_id": id, "user_id": in.UserID, "app_id": a.ID, "max_per_hour": hour, "max_per_day": day,
			"max_per_month": month, "allowed_until": until, "timestamp": nowRFC3339()})
		return err
	})
	if err != nil {
		return Install{}, err
	}
	return s.installFrom(out)
}

// RotateSecret gives an install a new secret; the old one stops working at once.
func (s *Service) RotateSecret(ctx context.Context, user, id uuid.UUID) (string, error) {
	in, err := s.GetOwnInstall(ctx, user, id)
	if err != nil {
		return "", err
	}
	if in.Status != "active" {
		return "", ErrUninstalled
	}
	secret := auth.NewSecret(InstallSecretPrefix)
	n, err := dbgen.New(s.pool).UpdateInstallSecret(ctx, dbgen.UpdateInstallSecretParams{ID: id,
		SecretHash: auth.Hash(secret), SecretEnc: s.box.Seal([]byte(secret), installSecretContext(id))})
	if err != nil {
		return "", err
	}
	if n == 0 { // uninstalled meanwhile
		return "", ErrUninstalled
	}
	return secret, nil
}

// Launch returns the app's iframe URL with the reference's query parameters,
// install secret included (decrypted for this purpose only).
func (s *Service) Launch(ctx context.Context, user, id uuid.UUID) (string, error) {
	r, err := dbgen.New(s.pool).GetInstall(ctx, id)
	if db.IsNotFound(err) {
		return "", ErrInstallNotFound
	}
	if err != nil {
		return "", err
	}
	if r.UserID != user {
		return "", ErrNotYourInstall
	}
	if r.Status != "active" {
		return "", ErrUninstalled
	}
	a, err := s.Get(ctx, r.AppID.String())
	if err != nil {
		return "", err
	}
	if a.Profile.IframeURL == nil {
		return "", invalidf("this app has no iframe_url")
	}
	secret, err := s.box.Open(r.SecretEnc, installSecretContext(id))
	if err != nil {
		return "", err
	}
	u, err := url.Parse(*a.Profile.IframeURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("officex_customer_id", user.String())
	q.Set("officex_install_id", id.String())
	q.Set("officex_install_secret", string(secret))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ValidateAgentContext checks the reference's limits on a full context.
func ValidateAgentContext(ctx map[string]string) error {
	if len(ctx) > MaxAgentContextKeys {
		return invalidf("agent_context: at most %d keys", MaxAgentContextKeys)
	}
	for k, v := range ctx {
		if n := utf8.RuneCountInString(k); n == 0 || n > MaxAgentContextKeyLen {
			return invalidf("agent_context: keys must be 1-%d characters", MaxAgentContextKeyLen)
		}
		if utf8.RuneCountInString(v) > MaxAgentContextValLen {
			return invalidf("agent_context: values must be at most %d characters", MaxAgentContextValLen)
		}
	}
	return nil
}

// MergeAgentContext merges patch into the install's agent_context (null
// deletes a key) and returns the result.
func (s *Service) MergeAgentContext(ctx context.Context, id uuid.UUID, patch map[string]*string) (map[string]string, error) {
	var merged map[string]string
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		r, err := q.GetInstallForUpdate(ctx, id)
		if db.IsNotFound(err) {
			return ErrInstallNotFound
		}
		if err != nil {
			return err
		}
		if r.Status != "active" {
			return ErrUninstalled
		}
		in, err := s.installFrom(r)
		if err != nil {
			return err
		}
		merged = in.AgentContext
		for k, v := range patch {
			if v == nil {
				delete(merged, k)
			} else {
				merged[k] = *v
			}
		}
		if err := ValidateAgentContext(merged); err != nil {
			return err
		}
		return s.storeAgentContext(ctx, q, id, merged)
	})
	return merged, err
}

// storeAgentContext replaces an active install's agent_context; an install
// that is no longer active keeps none (ErrUninstalled). The status check is
// part of the UPDATE, so an uninstall committing at the same moment wins.
func (s *Service) storeAgentContext(ctx context.Context, q *dbgen.Queries, id uuid.UUID, c map[string]string) error {
	raw, _ := json.Marshal(c)
	n, err := q.UpdateInstallAgentContext(ctx, dbgen.UpdateInstallAgentContextParams{ID: id,
		AgentContextEnc: s.box.Seal(raw, agentContextContext(id))})
	if err == nil && n == 0 {
		return ErrUninstalled
	}
	return err
}

// CheckAccountStatuses refuses install-secret calls for a suspended user (no
// longer billed) or a suspended vendor (its apps no longer bill).
func CheckAccountStatuses(userStatus, vendorStatus string) error {
	switch {
	case userStatus != "active":
		return ErrUserSuspended
	case vendorStatus != "active":
		return ErrVendorSuspended
	}
	return nil
}
