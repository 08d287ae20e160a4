package apps

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/secretbox"
)

// Errors of app operations.
var (
	ErrAppNotFound   = errors.New("app not found")
	ErrNotOwner      = errors.New("this app belongs to another user")
	ErrAppSuspended  = errors.New("this app is suspended")
	ErrAppsPerVendor = fmt.Errorf("a vendor registers at most %d apps, deleted ones included", MaxAppsPerVendor)
)

// Statuses of an app.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusDeleted   = "deleted"
)

// MaxAppsPerVendor bounds how many apps one user ever registers: deleted
// apps count too, so deleting frees no room.
const MaxAppsPerVendor = 100

// Options tune the service; tests shorten the waits.
type Options struct {
	AllowPrivateURLs bool
	TaskQueue        string
	// InstallWebhookWait bounds how long POST /install waits for the first
	// INSTALL delivery attempt, to return its agent_context.
	InstallWebhookWait time.Duration
	// WebhookRetryInitial is the first retry interval of a failed delivery.
	WebhookRetryInitial time.Duration
}

// DefaultOptions are production's.
var DefaultOptions = Options{InstallWebhookWait: 5 * time.Second, WebhookRetryInitial: 5 * time.Second}

// Service runs app, install, webhook and inbox operations.
type Service struct {
	pool     *pgxpool.Pool
	temporal client.Client
	box      *secretbox.Box
	opt      Options
	billing  Billing
}

// Billing is what an uninstall needs of internal/billing (which imports
// this package): cancelling the install's open reservations, refunding what
// they still hold, inside the uninstall's transaction.
type Billing interface {
	CancelOpenForInstall(ctx context.Context, tx pgx.Tx, installID uuid.UUID) error
}

// New makes a Service. billing is required: an uninstall without it would
// leave the install's reservations holding the user's credits.
func New(pool *pgxpool.Pool, tc client.Client, box *secretbox.Box, billing Billing, opt Options) *Service {
	if billing == nil {
		panic("apps.New: billing is required (uninstalls cancel open reservations through it)")
	}
	return &Service{pool: pool, temporal: tc, box: box, opt: opt, billing: billing}
}

// App is an app as stored.
type App struct {
	ID        uuid.UUID
	OwnerID   uuid.UUID
	WalletID  uuid.UUID
	Slug      string
	Status    string
	Profile   Profile
	CreatedAt time.Time
	UpdatedAt time.Time
}

func appFrom(a dbgen.App) (App, error) {
	out := App{ID: a.ID, OwnerID: a.OwnerUserID, WalletID: a.WalletID, Slug: a.Slug, Status: a.Status,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if err := json.Unmarshal(a.Profile, &out.Profile); err != nil {
		return App{}, fmt.Errorf("app %s profile: %w", a.ID, err)
	}
	return out, nil
}

// NewWebhookSecret makes a Standard Webhooks signing secret: "whsec_" and
// base64 of 24 random bytes.
func NewWebhookSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func webhookSecretContext(appID uuid.UUID) string { return "app:" + appID.String() + ":webhook_secret" }

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugBase makes a URL-safe slug from a name ("Lead Enrichment Pro" -> "lead-enrichment-pro").
func slugBase(name string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	if s == "" {
		s = "app"
	}
	return s
}

// Registered is what registering an app answers; WebhookSecret is shown once.
type Registered struct {
	App           App
	WebhookSecret string
}

// Register publishes a new app with its own empty wallet, a unique slug and a
// webhook signing secret.
func (s *Service) Register(ctx context.Context, owner uuid.UUID, p Profile) (Registered, error) {
	if err := p.Validate(s.opt.AllowPrivateURLs); err != nil {
		return Registered{}, err
	}
	profile, err := json.Marshal(p)
	if err != nil {
		return Registered{}, err
	}
	id, secret := uuid.New(), NewWebhookSecret()
	var out Registered
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		if err := q.LockAppsOfOwner(ctx, owner.String()); err != nil {
			return err
		}
		if n, err := q.CountAppsEverOfOwner(ctx, owner); err != nil {
			return err
		} else if n >= MaxAppsPerVendor {
			return ErrAppsPerVendor
		}
		slug, err := uniqueSlug(ctx, q, slugBase(p.Name))
		if err != nil {
			return err
		}
		wallet, err := q.InsertAppWallet(ctx, owner)
		if err != nil {
			return fmt.Errorf("insert app wallet: %w", err)
		}
		row, err := q.InsertApp(ctx, dbgen.InsertAppParams{ID: id, OwnerUserID: owner, WalletID: wallet.ID, Slug: slug,
			Profile: profile, WebhookSecretEnc: s.box.Seal([]byte(secret), webhookSecretContext(id))})
		if err != nil {
			return fmt.Errorf("insert app: %w", err)
		}
		out.App, err = appFrom(row)
		return err
	})
	out.WebhookSecret = secret
	return out, err
}

// uniqueSlug finds a free slug; the UNIQUE constraint still decides a race.
func uniqueSlug(ctx context.Context, q *dbgen.Queries, base string) (string, error) {
	for i := 0; i < 20; i++ {
		slug := base
		if i > 0 {
			b := make([]byte, 3)
			_, _ = rand.Read(b)
			slug = fmt.Sprintf("%s-%x", base, b)
		}
		taken, err := q.SlugTaken(ctx, slug)
		if err != nil {
			return "", err
		}
		if !taken {
			return slug, nil
		}
	}
	return "", errors.New("no free slug found")
}

// Get reads an app by id, or by slug when ref is not a UUID.
func (s *Service) Get(ctx context.Context, ref string) (App, error) {
	q := dbgen.New(s.pool)
	var row dbgen.App
	var err error
	if id, perr := uuid.Parse(ref); perr == nil {
		row, err = q.GetApp(ctx, id)
	} else {
		row, err = q.GetAppBySlug(ctx, strings.ToLower(ref))
	}
	if db.IsNotFound(err) {
		return App{}, ErrAppNotFound
	}
	if err != nil {
		return App{}, fmt.Errorf("get app %q: %w", ref, err)
	}
	return appFrom(row)
}

// GetOwned reads an app the user owns; another user's app is ErrNotOwner and
// a deleted one is not found.
func (s *Service) GetOwned(ctx context.Context, owner uuid.UUID, ref string) (App, error) {
	a, err := s.Get(ctx, ref)
	if err != nil {
		return App{}, err
	}
	if a.OwnerID != owner {
		return App{}, ErrNotOwner
	}
	if a.Status == StatusDeleted {
		return App{}, ErrAppNotFound
	}
	return a, nil
}

// ListOwned lists a vendor's live apps.
func (s *Service) ListOwned(ctx context.Context, owner uuid.UUID) ([]App, error) {
	rows, err := dbgen.New(s.pool).ListAppsOfOwner(ctx, dbgen.ListAppsOfOwnerParams{OwnerUserID: owner, RowLimit: MaxAppsPerVendor})
	if err != nil {
		return nil, err
	}
	return appsFrom(rows)
}

func appsFrom(rows []dbgen.App) ([]App, error) {
	out := make([]App, 0, len(rows))
	for _, r := range rows {
		a, err := appFrom(r)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Update applies a PATCH (null clears a field) to the vendor's app.
func (s *Service) Update(ctx context.Context, owner uuid.UUID, ref string, patch map[string]json.RawMessage) (App, error) {
	a, err := s.GetOwned(ctx, owner, ref)
	if err != nil {
		return App{}, err
	}
	p, err := a.Profile.ApplyPatch(patch)
	if err != nil {
		return App{}, err
	}
	if err := p.Validate(s.opt.AllowPrivateURLs); err != nil {
		return App{}, err
	}
	raw, _ := json.Marshal(p)
	row, err := dbgen.New(s.pool).UpdateAppProfile(ctx, dbgen.UpdateAppProfileParams{ID: a.ID, Profile: raw})
	if err != nil {
		return App{}, fmt.Errorf("update app: %w", err)
	}
	return appFrom(row)
}

// RotateWebhookSecret replaces the app's signing secret and returns the new
// one (shown once); deliveries from now on are signed with it.
func (s *Service) RotateWebhookSecret(ctx context.Context, owner uuid.UUID, ref string) (string, error) {
	a, err := s.GetOwned(ctx, owner, ref)
	if err != nil {
		return "", err
	}
	secret := NewWebhookSecret()
	err = dbgen.New(s.pool).UpdateAppWebhookSecret(ctx, dbgen.UpdateAppWebhookSecretParams{
		ID: a.ID, WebhookSecretEnc: s.box.Seal([]byte(secret), webhookSecretContext(a.ID))})
	return secret, err
}

// WebhookSecret decrypts an app's signing secret (for the delivery activity).
func (s *Service) WebhookSecret(row dbgen.App) (string, error) {
	b, err := s.box.Open(row.WebhookSecretEnc, webhookSecretContext(row.ID))
	return string(b), err
}

// Delete hides the vendor's app from the catalog and uninstalls it
// everywhere; its wallet and history stay.
func (s *Service) Delete(ctx context.Context, owner uuid.UUID, ref string) error {
	a, err := s.GetOwned(ctx, owner, ref)
	if err != nil {
		return err
	}
	return s.setStatus(ctx, "user:"+owner.String(), a.ID, StatusDeleted, "")
}

// setStatus changes an app's status; deleting uninstalls every install (no
// UNINSTALL webhooks: the vendor removed the app). Audited.
func (s *Service) setStatus(ctx context.Context, actor string, id uuid.UUID, status, reason string) error {
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbgen.New(tx)
		if _, err := q.UpdateAppStatus(ctx, dbgen.UpdateAppStatusParams{ID: id, Status: status}); err != nil {
			if db.IsNotFound(err) {
				return ErrAppNotFound
			}
			return err
		}
		if status == StatusDeleted {
			ids, err := q.ListActiveInstallIDsOfApp(ctx, id)
			if err != nil {
				return err
			}
			for _, installID := range ids {
				// Open reservations first: billing locks a reservation before its install.
				if err := s.billing.CancelOpenForInstall(ctx, tx, installID); err != nil {
					return err
				}
				if _, err := q.UninstallInstall(ctx, installID); err != nil {
					return err
				}
			}
		}
		details, _ := json.Marshal(map[string]string{"status": status, "reason": reason})
		return q.InsertAudit(ctx, dbgen.InsertAuditParams{Actor: actor, Action: "app.set_status", TargetType: "app",
			TargetID: id.String(), Details: details})
	})
}

// CatalogFilter selects public apps.
type CatalogFilter struct {
	Category, Tag, Search string
	AfterCreated          *time.Time
	AfterID               uuid.UUID
	Limit                 int
}

// MaxSearchLen bounds catalog filters.
const MaxSearchLen = 100

// Catalog lists active apps, newest first.
func (s *Service) Catalog(ctx context.Context, f CatalogFilter) ([]App, error) {
	p := dbgen.ListCatalogAppsParams{RowLimit: int32(f.Limit), AfterCreated: f.AfterCreated,
		AfterID: uuid.NullUUID{UUID: f.AfterID, Valid: f.AfterCreated != nil}}
	for _, v := range []struct {
		in  string
		out **string
	}{{f.Category, &p.Category}, {f.Tag, &p.Tag}, {f.Search, &p.Search}} {
		if len(v.in) > MaxSearchLen {
			return nil, invalidf("filters must be at most %d characters", MaxSearchLen)
		}
		if v.in != "" {
			val := v.in
			if v.out == &p.Search { // LIKE wildcards are matched literally
				val = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(val)
			}
			*v.out = &val
		}
	}
	rows, err := dbgen.New(s.pool).ListCatalogApps(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return appsFrom(rows)
}

// AdminList lists every app, newest first, optionally by status.
func (s *Service) AdminList(ctx context.Context, status string, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]App, error) {
	p := dbgen.ListAllAppsParams{RowLimit: int32(limit), AfterCreated: afterCreated,
		AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}}
	if status != "" {
		if status != StatusActive && status != StatusSuspended && status != StatusDeleted {
			return nil, invalidf("status must be active, suspended or deleted")
		}
		p.Status = &status
	}
	rows, err := dbgen.New(s.pool).ListAllApps(ctx, p)
	if err != nil {
		return nil, err
	}
	return appsFrom(rows)
}

// AdminSetStatus suspends, reactivates or deletes an app.
func (s *Service) AdminSetStatus(ctx context.Context, id uuid.UUID, status, reason string) (App, error) {
	if status != StatusActive && status != StatusSuspended && status != StatusDeleted {
		return App{}, invalidf("status must be active, suspended or deleted")
	}
	if err := s.setStatus(ctx, "admin", id, status, reason); err != nil {
		return App{}, err
	}
	return s.Get(ctx, id.String())
}
