// Package config reads OfficeX's configuration from the environment (DESIGN.md
// section 8) and validates it once at start, so a bad value stops the process
// with a message naming the variable instead of failing later on a request.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Config is the validated configuration of every officex subcommand.
type Config struct {
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	HTTPAddr          string
	ChatAddr          string
	MetricsAddr       string   // Prometheus /metrics, its own listener
	AdminSecret       string   // empty: admin routes are off
	EncryptionKey     []byte   // 32 bytes: seals new secrets
	EncryptionOldKeys [][]byte // OFFICEX_ENCRYPTION_KEYS: open what earlier keys sealed
	TestingMode       bool
	AllowPrivateURLs  bool
	// TrustedProxyHeader names the one header that carries the client address
	// behind a proxy; "": the socket address (X-Forwarded-For is not believed).
	TrustedProxyHeader string

	StripeSecretKey     string
	StripeAPIBase       string
	StripeWebhookSecret string

	SolanaRPCURL       string
	SolanaPayerKeypair string
	USDCMint           string

	OpenAIAPIKey  string
	OpenAIBaseURL string
	OpenAIModel   string
	// ChatDailyTokens is the model tokens one user may spend a UTC day.
	ChatDailyTokens int64

	SMTPURL  string
	MailFrom string

	PublicURL      string // "": the scheme and host of each request; never ends in "/"
	UploadDir      string
	UploadMaxBytes int64
	S3Bucket       string // set: uploads go to S3 instead of UploadDir
	S3Endpoint     string
	S3Region       string

	// TemporalCodecKey encrypts every Temporal payload; nil: payloads are
	// plain (refused outside testing mode where a Temporal client is built).
	TemporalCodecKey     []byte
	TemporalCodecOldKeys [][]byte // OFFICEX_TEMPORAL_CODEC_KEYS: decode payloads of earlier keys
	CodecAddr            string   // officex codec-server listens here
	CodecCORSOrigins     []string // origins of the Temporal UI allowed to call the codec server

	// TemporalTLS is TLS to Temporal (Temporal Cloud, or a cluster behind
	// TLS): TEMPORAL_TLS, on by default when any of the settings below is set.
	// The names are the Temporal CLI's, so one environment serves both.
	TemporalTLS           bool
	TemporalTLSCert       string // TEMPORAL_TLS_CERT: client certificate file (PEM), for mTLS
	TemporalTLSKey        string // TEMPORAL_TLS_KEY: its private key file (PEM)
	TemporalTLSCA         string // TEMPORAL_TLS_CA: CA file (PEM) the server's certificate must chain to; "": the system's roots
	TemporalTLSServerName string // TEMPORAL_TLS_SERVER_NAME: the name the server's certificate must carry; "": TEMPORAL_ADDRESS's host
	TemporalAPIKey        string // TEMPORAL_API_KEY: sent as a bearer token on every call (Temporal Cloud API keys)
}

// DefaultUploadMaxBytes is the default of OFFICEX_UPLOAD_MAX_BYTES (25 MiB).
const DefaultUploadMaxBytes = 25 << 20

// StripeLiveKeyPrefix starts a Stripe secret key that moves real money.
const StripeLiveKeyPrefix = "sk_live_"

// MinAdminSecretLength keeps a guessable superadmin secret out of production.
const MinAdminSecretLength = 16

// headerName is the form of an HTTP header name (RFC 9110 token).
var headerName = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,64}$`)

// Load reads the environment through getenv (os.Getenv in production) and
// returns every problem found, joined, so an operator fixes them in one go.
func Load(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	boolean := func(name string, def bool) bool {
		raw := get(name, strconv.FormatBool(def))
		v, err := strconv.ParseBool(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, raw))
		}
		return v
	}

	c := Config{
		DatabaseURL:         get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/officex?sslmode=disable"),
		TemporalAddress:     get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace:   get("TEMPORAL_NAMESPACE", "default"),
		TaskQueue:           get("OFFICEX_TASK_QUEUE", "officex"),
		HTTPAddr:            get("OFFICEX_HTTP_ADDR", ":8080"),
		ChatAddr:            get("OFFICEX_CHAT_ADDR", ":8081"),
		MetricsAddr:         get("OFFICEX_METRICS_ADDR", "127.0.0.1:9090"),
		AdminSecret:         getenv("OFFICEX_ADMIN_SECRET"),
		TestingMode:         boolean("OFFICEX_TESTING_MODE", false),
		AllowPrivateURLs:    boolean("OFFICEX_ALLOW_PRIVATE_URLS", false),
		TrustedProxyHeader:  get("OFFICEX_TRUSTED_PROXY_HEADER", ""),
		StripeSecretKey:     get("STRIPE_SECRET_KEY", ""),
		StripeAPIBase:       get("STRIPE_API_BASE", ""),
		StripeWebhookSecret: get("STRIPE_WEBHOOK_SECRET", ""),
		SolanaRPCURL:        get("SOLANA_RPC_URL", ""),
		SolanaPayerKeypair:  get("SOLANA_PAYER_KEYPAIR", ""),
		USDCMint:            get("USDC_MINT", ""),
		OpenAIAPIKey:        get("OPENAI_API_KEY", ""),
		OpenAIBaseURL:       get("OPENAI_BASE_URL", ""),
		OpenAIModel:         get("OPENAI_MODEL", "gpt-4o-mini"),
		SMTPURL:             get("SMTP_URL", ""),
		MailFrom:            get("MAIL_FROM", "OfficeX <no-reply@officex.local>"),
		PublicURL:           strings.TrimRight(get("OFFICEX_PUBLIC_URL", ""), "/"),
		UploadDir:           get("OFFICEX_UPLOAD_DIR", ".data/uploads"),
		S3Bucket:            get("S3_BUCKET", ""),
		S3Endpoint:          get("S3_ENDPOINT", ""),
		S3Region:            get("S3_REGION", ""),
	}

	c.ChatDailyTokens = 2_000_000
	if raw := get("OFFICEX_CHAT_DAILY_TOKENS", ""); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("OFFICEX_CHAT_DAILY_TOKENS=%q: want a positive integer", raw))
		}
		c.ChatDailyTokens = n
	}
	errs = append(errs, c.loadTemporalTLS(get, boolean)...)
	if h := c.TrustedProxyHeader; h != "" && !headerName.MatchString(h) {
		errs = append(errs, fmt.Errorf("OFFICEX_TRUSTED_PROXY_HEADER=%q: want a header name such as X-Forwarded-For", h))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, fmt.Errorf("DATABASE_URL: want a postgres:// URL"))
	}
	for name, addr := range map[string]string{"OFFICEX_HTTP_ADDR": c.HTTPAddr, "OFFICEX_CHAT_ADDR": c.ChatAddr,
		"OFFICEX_METRICS_ADDR": c.MetricsAddr, "TEMPORAL_ADDRESS": c.TemporalAddress} {
		if !strings.Contains(addr, ":") {
			errs = append(errs, fmt.Errorf("%s=%q: want host:port", name, addr))
		}
	}
	if samePort(c.MetricsAddr, c.HTTPAddr) || samePort(c.MetricsAddr, c.ChatAddr) {
		errs = append(errs, fmt.Errorf("OFFICEX_METRICS_ADDR=%q: must be its own port, not the API's or the chat stream's", c.MetricsAddr))
	}
	if c.AdminSecret != "" && len(c.AdminSecret) < MinAdminSecretLength {
		errs = append(errs, fmt.Errorf("OFFICEX_ADMIN_SECRET: want at least %d characters", MinAdminSecretLength))
	}
	if raw := get("OFFICEX_ENCRYPTION_KEY", ""); raw == "" {
		errs = append(errs, errors.New("OFFICEX_ENCRYPTION_KEY is required (base64 of 32 random bytes; make dev generates one into .data/)"))
	} else if key, err := base64.StdEncoding.DecodeString(raw); err != nil || len(key) != 32 {
		errs = append(errs, errors.New("OFFICEX_ENCRYPTION_KEY: want base64 of exactly 32 bytes"))
	} else {
		c.EncryptionKey = key
	}
	var err error
	if c.EncryptionOldKeys, err = keyList("OFFICEX_ENCRYPTION_KEYS", get("OFFICEX_ENCRYPTION_KEYS", "")); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.loadCodec(get)...)
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			errs = append(errs, fmt.Errorf("SMTP_URL: want smtp://[user:pass@]host:port or smtps://..."))
		}
	} else if !c.TestingMode {
		errs = append(errs, errors.New("SMTP_URL is required unless OFFICEX_TESTING_MODE=true (one-time codes go out by email)"))
	}
	if c.TestingMode && strings.HasPrefix(c.StripeSecretKey, StripeLiveKeyPrefix) {
		errs = append(errs, fmt.Errorf("OFFICEX_TESTING_MODE=true with a live STRIPE_SECRET_KEY (%s...): testing mode "+
			"accepts the one-time code 0000 for every account, so it must never charge real cards; use an sk_test_ key or turn testing mode off", StripeLiveKeyPrefix))
	}
	if c.StripeAPIBase != "" {
		if u, err := url.Parse(c.StripeAPIBase); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("STRIPE_API_BASE=%q: want an http(s) URL", c.StripeAPIBase))
		}
	}
	if c.PublicURL != "" && !isHTTPURL(c.PublicURL) {
		errs = append(errs, fmt.Errorf("OFFICEX_PUBLIC_URL=%q: want an absolute http(s) URL without query or fragment, e.g. https://api.example.com", c.PublicURL))
	}
	raw := get("OFFICEX_UPLOAD_MAX_BYTES", strconv.Itoa(DefaultUploadMaxBytes))
	if n, err := strconv.ParseInt(raw, 10, 64); err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("OFFICEX_UPLOAD_MAX_BYTES=%q: want a positive whole number of bytes", raw))
	} else {
		c.UploadMaxBytes = n
	}
	if c.S3Endpoint != "" && !isHTTPURL(c.S3Endpoint) {
		errs = append(errs, fmt.Errorf("S3_ENDPOINT=%q: want an absolute http(s) URL", c.S3Endpoint))
	}
	if c.S3Endpoint != "" && c.S3Bucket == "" {
		errs = append(errs, errors.New("S3_ENDPOINT is set but S3_BUCKET is not: uploads would silently stay on local disk"))
	}
	return c, errors.Join(errs...)
}

// loadTemporalTLS decides TEMPORAL_TLS and checks the TLS settings hang
// together; the files themselves are read when the client is built
// (internal/temporalclient), at the start of every command that dials.
func (c *Config) loadTemporalTLS(get func(name, def string) string, boolean func(name string, def bool) bool) []error {
	var errs []error
	c.TemporalTLSCert, c.TemporalTLSKey = get("TEMPORAL_TLS_CERT", ""), get("TEMPORAL_TLS_KEY", "")
	c.TemporalTLSCA, c.TemporalTLSServerName = get("TEMPORAL_TLS_CA", ""), get("TEMPORAL_TLS_SERVER_NAME", "")
	c.TemporalAPIKey = get("TEMPORAL_API_KEY", "")
	var set []string
	for name, v := range map[string]string{"TEMPORAL_TLS_CERT": c.TemporalTLSCert, "TEMPORAL_TLS_KEY": c.TemporalTLSKey,
		"TEMPORAL_TLS_CA": c.TemporalTLSCA, "TEMPORAL_TLS_SERVER_NAME": c.TemporalTLSServerName, "TEMPORAL_API_KEY": c.TemporalAPIKey} {
		if v != "" {
			set = append(set, name)
		}
	}
	slices.Sort(set)
	c.TemporalTLS = boolean("TEMPORAL_TLS", len(set) > 0)
	if !c.TemporalTLS && len(set) > 0 {
		errs = append(errs, fmt.Errorf("TEMPORAL_TLS=false with %s set: a client certificate or an API key must not "+
			"travel in plain text; unset them or TEMPORAL_TLS", strings.Join(set, ", ")))
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		errs = append(errs, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both (the client certificate and its key, PEM files) or neither"))
	}
	return errs
}

// LoadCodec reads only the codec variables: officex codec-server runs on an
// operator's machine with the codec key and nothing else.
func LoadCodec(getenv func(string) string) (Config, error) {
	var c Config
	return c, errors.Join(c.loadCodec(func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	})...)
}

// loadCodec reads the Temporal codec keys and the codec server's settings.
func (c *Config) loadCodec(get func(name, def string) string) []error {
	var errs []error
	c.CodecAddr = get("OFFICEX_CODEC_ADDR", DefaultCodecAddr)
	c.CodecCORSOrigins = strings.Fields(strings.ReplaceAll(get("OFFICEX_CODEC_CORS_ORIGINS", DefaultCodecCORSOrigin), ",", " "))
	if raw := get("OFFICEX_TEMPORAL_CODEC_KEY", ""); raw != "" {
		if keys, err := keyList("OFFICEX_TEMPORAL_CODEC_KEY", raw); err != nil || len(keys) != 1 {
			errs = append(errs, errors.New("OFFICEX_TEMPORAL_CODEC_KEY: want base64 of exactly 32 bytes"))
		} else {
			c.TemporalCodecKey = keys[0]
		}
	}
	var err error
	if c.TemporalCodecOldKeys, err = keyList("OFFICEX_TEMPORAL_CODEC_KEYS", get("OFFICEX_TEMPORAL_CODEC_KEYS", "")); err != nil {
		errs = append(errs, err)
	}
	if c.TemporalCodecOldKeys != nil && c.TemporalCodecKey == nil {
		errs = append(errs, errors.New("OFFICEX_TEMPORAL_CODEC_KEYS is set without OFFICEX_TEMPORAL_CODEC_KEY: old keys need a current one"))
	}
	for _, origin := range c.CodecCORSOrigins {
		if !isHTTPURL(origin) || strings.Count(origin, "/") != 2 {
			errs = append(errs, fmt.Errorf("OFFICEX_CODEC_CORS_ORIGINS: %q is not an origin (scheme://host[:port])", origin))
		}
	}
	return errs
}

// DefaultCodecAddr keeps the codec server on loopback: whoever reaches it can
// decrypt payloads, so it runs beside the operator's browser.
const DefaultCodecAddr = "127.0.0.1:8089"

// DefaultCodecCORSOrigin is the Temporal UI of the dev server (make dev).
const DefaultCodecCORSOrigin = "http://localhost:8233"

// keyList parses comma-separated base64 keys of 32 bytes each.
func keyList(name, raw string) ([][]byte, error) {
	var keys [][]byte
	for i, part := range strings.Split(raw, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(part)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s: key %d: want base64 of exactly 32 bytes, comma-separated", name, i+1)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// isHTTPURL reports whether raw is an absolute http(s) URL with a host and
// no query or fragment (it is a base other URLs are built on).
func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.RawQuery == "" && u.Fragment == "" && u.User == nil && !strings.HasSuffix(raw, "?") && !strings.HasSuffix(raw, "#")
}

// FromEnv loads the process environment.
func FromEnv() (Config, error) { return Load(os.Getenv) }

// samePort reports two listen addresses on one port (":8080" and
// "0.0.0.0:8080" collide; either would expose /metrics publicly or fail).
func samePort(a, b string) bool {
	_, pa, errA := net.SplitHostPort(a)
	_, pb, errB := net.SplitHostPort(b)
	return errA == nil && errB == nil && pa == pb
}
