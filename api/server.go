// Package api is OfficeX's HTTP surface: the router (router.go is the table of
// contents), middleware, strict decoding, the error format of the reference,
// and thin handlers that call the domain packages. It holds no business rules.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/internal/chargebacks"
	"github.com/officex/officex/internal/chat"
	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/console"
	"github.com/officex/officex/internal/metrics"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/prompts"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/refs"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/uploads"
	"github.com/officex/officex/internal/vouchers"
)

// Server holds what the handlers need.
type Server struct {
	cfg       config.Config
	pool      *pgxpool.Pool
	temporal  client.Client
	accounts  *accounts.Service
	purchases *purchases.Service
	vouchers  *vouchers.Service
	apps      *apps.Service
	billing   *billing.Service
	payouts   *payouts.Service
	chats     *chat.Service
	agent     *chat.Agent // nil: no model configured, the chat listener answers 503
	prompts   *prompts.Service
	refs      *refs.Service
	schedules *schedules.Service
	// chatKeepAlive is the stream's keep-alive interval (0: DefaultChatKeepAlive).
	chatKeepAlive time.Duration
	uploads       uploads.Store
	// localUploads is uploads when it is the local store, whose signed URLs
	// this API serves; nil with S3.
	localUploads *uploads.Local
	// payoutPoll is the bank/Solana check interval of batches started here (0: default).
	payoutPoll time.Duration
	metrics    *metrics.Metrics // nil: nothing recorded
	log        *slog.Logger

	// chargebacks takes back refunded or disputed purchases and keeps payment holds.
	chargebacks *chargebacks.Service

	// The finance console's session signer and sign-in limit; nil when no
	// admin secret is configured (the console does not exist then).
	consoleSessions *console.Sessions
	consoleGuard    *console.Guard
}

// Deps are the Server's collaborators, built by cmd/officex or the tests.
type Deps struct {
	Config    config.Config
	Pool      *pgxpool.Pool
	Temporal  client.Client
	Accounts  *accounts.Service
	Purchases *purchases.Service
	Vouchers  *vouchers.Service
	Apps      *apps.Service
	Billing   *billing.Service
	Payouts   *payouts.Service
	Chats     *chat.Service
	Agent     *chat.Agent // nil when OPENAI_API_KEY is not set
	Prompts   *prompts.Service
	Refs      *refs.Service
	Schedules *schedules.Service
	// ChatKeepAlive overrides DefaultChatKeepAlive (tests).
	ChatKeepAlive time.Duration
	Uploads       uploads.Store // nil: upload routes answer 404
	// PayoutPoll overrides workflows.DefaultPayoutPoll for batches (tests).
	PayoutPoll time.Duration
	// Metrics records requests and billing outcomes; nil records nothing.
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// NewServer returns the API as an http.Handler.
func NewServer(d Deps) http.Handler { return newServer(d).routes() }

func newServer(d Deps) *Server {
	s := &Server{cfg: d.Config, pool: d.Pool, temporal: d.Temporal, accounts: d.Accounts,
		purchases: d.Purchases, vouchers: d.Vouchers, apps: d.Apps, billing: d.Billing, payouts: d.Payouts,
		chats: d.Chats, agent: d.Agent, prompts: d.Prompts, refs: d.Refs, schedules: d.Schedules,
		chatKeepAlive: d.ChatKeepAlive, uploads: d.Uploads, payoutPoll: d.PayoutPoll, metrics: d.Metrics, log: d.Log}
	s.localUploads, _ = d.Uploads.(*uploads.Local)
	s.chargebacks = chargebacks.New(d.Pool)
	if d.Config.AdminSecret != "" {
		s.consoleSessions = console.NewSessions(d.Config.EncryptionKey, d.Config.AdminSecret)
		s.consoleGuard = console.NewGuard(d.Pool)
	}
	return s
}

// handlerFunc is a handler that returns its error instead of writing it, so
// every error goes through one mapping (errors.go).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h handlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, r, err)
	}
}
