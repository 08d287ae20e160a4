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
	MetricsAddr       string // Prometheus /metrics, its own listener
	AdminSecret       string // empty: admin routes are off
	EncryptionKey     []byte // 32 bytes
	TestingMode       bool
	AllowPrivateURLs  bool

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
}

// DefaultUploadMaxBytes is the default of OFFICEX_UPLOAD_MAX_BYTES (25 MiB).
const DefaultUploadMaxBytes = 25 << 20

// StripeLiveKeyPrefix starts a Stripe secret key that moves real money.
const StripeLiveKeyPrefix = "sk_live_"

// MinAdminSecretLength keeps a guessable superadmin secret out of production.
const MinAdminSecretLength = 16

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
