package officex

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/officex/officex/sdk/openapi"
)

// Credentials headers of the reference.
const (
	headerUserID        = "x-officex-user-id"
	headerMasterKey     = "x-officex-master-key"
	headerInstallID     = "x-officex-install-id"
	headerInstallSecret = "x-officex-install-secret"
	headerAppID         = "x-officex-app-id"
	headerAdminSecret   = "x-officex-admin-secret"
)

// Client calls the OfficeX API. The embedded generated client gives a typed
// method for every route; the methods of this file's package add the
// hand-written layer. A Client is safe for concurrent use.
type Client struct {
	*openapi.ClientWithResponses
	retry *retrier
}

// Option configures a Client.
type Option func(*settings)

type settings struct {
	headers    http.Header
	httpClient *http.Client
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	userAgent  string
}

// WithMasterKey authenticates as a user (profile, installs, wallets, vendor
// apps, payouts): x-officex-user-id and x-officex-master-key.
func WithMasterKey(userID, masterKey string) Option {
	return func(s *settings) {
		s.headers.Set(headerUserID, userID)
		s.headers.Set(headerMasterKey, masterKey)
	}
}

// WithInstallSecret authenticates as an app acting for one install (reserve,
// settle, cancel, inbox): x-officex-install-id and x-officex-install-secret.
func WithInstallSecret(installID, installSecret string) Option {
	return func(s *settings) {
		s.headers.Set(headerInstallID, installID)
		s.headers.Set(headerInstallSecret, installSecret)
	}
}

// WithAppInstallSecret is the reference's other install-secret form, for an
// app that knows the user and its own id rather than the install id:
// x-officex-user-id, x-officex-app-id and x-officex-install-secret.
func WithAppInstallSecret(userID, appID, installSecret string) Option {
	return func(s *settings) {
		s.headers.Set(headerUserID, userID)
		s.headers.Set(headerAppID, appID)
		s.headers.Set(headerInstallSecret, installSecret)
	}
}

// WithAdminSecret authenticates as superadmin (the /admin routes).
func WithAdminSecret(secret string) Option {
	return func(s *settings) { s.headers.Set(headerAdminSecret, secret) }
}

// WithHTTPClient sends requests through hc (timeouts, proxies, TLS). The
// default has a 30-second timeout per attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) { s.httpClient = hc }
}

// WithRetries sets how many times a request is tried again after a network
// error or a 5xx answer (default 3; 0 turns retries off). 4xx answers are
// never retried. Backoff doubles from base up to max, with jitter, and a
// Retry-After header is honoured up to max.
func WithRetries(n int, base, max time.Duration) Option {
	return func(s *settings) { s.retries, s.backoff, s.maxBackoff = n, base, max }
}

// WithUserAgent names the app in the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(s *settings) { s.userAgent = ua }
}

// NewClient returns a client of the API at baseURL: the reference's API base
// ("https://cloud.officex.app/v1") or the server's origin; the /v1 of the
// routes is added once either way.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	s := settings{headers: http.Header{}, httpClient: &http.Client{Timeout: 30 * time.Second},
		retries: 3, backoff: 200 * time.Millisecond, maxBackoff: 5 * time.Second, userAgent: "officex-go"}
	for _, o := range opts {
		o(&s)
	}
	if s.httpClient == nil {
		s.httpClient = http.DefaultClient
	}
	r := &retrier{hc: s.httpClient, retries: s.retries, base: s.backoff, max: s.maxBackoff}
	headers := s.headers.Clone()
	headers.Set("User-Agent", s.userAgent)
	gen, err := openapi.NewClientWithResponses(serverURL(baseURL),
		openapi.WithHTTPClient(r),
		openapi.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			for k, v := range headers {
				req.Header[k] = append([]string(nil), v...)
			}
			return nil
		}))
	if err != nil {
		return nil, err
	}
	return &Client{ClientWithResponses: gen, retry: r}, nil
}

// serverURL is baseURL without a trailing /v1: the generated paths carry it.
func serverURL(baseURL string) string {
	u := strings.TrimRight(baseURL, "/")
	return strings.TrimSuffix(u, "/v1")
}
