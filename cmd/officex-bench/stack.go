package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/testenv"
	"github.com/officex/officex/ledger"
)

// stack is the in-process OfficeX (the test harness's: a throwaway database,
// worker and relay on a task queue of their own) served on a real listener.
type stack struct {
	apps     *apps.Service
	teardown func()
	pool     *pgxpool.Pool
	srv      *http.Server // nil against a running topology (startTopology)
	baseURL  string
	cpu      *cpuSampler // against a running topology: its processes' CPU time
}

// cpuSample is a sample of the topology's processes, or nothing in process.
func (s *stack) cpuSample(ctx context.Context) cpuSample {
	if s.cpu == nil {
		return cpuSample{}
	}
	return s.cpu.take(ctx)
}

func startStack(ctx context.Context, log *slog.Logger) (*stack, error) {
	env, teardown, err := testenv.Start()
	if err != nil {
		return nil, fmt.Errorf("start stack (is the Temporal dev server running? make bench starts it): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		teardown()
		return nil, err
	}
	srv := &http.Server{Handler: env.App.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return &stack{apps: env.Apps(), teardown: teardown, pool: env.Pool, srv: srv, baseURL: "http://" + l.Addr().String() + "/v1"}, nil
}

func (s *stack) close() {
	if s.srv != nil {
		s.srv.Close()
	}
	s.teardown()
}

// installRef is one user's install of one app, as the load needs it.
type installRef struct {
	InstallID, Secret string
	UserWallet        uuid.UUID
	AppWallet         uuid.UUID
}

// fundPerUser covers every cycle a user can run in the benchmark.
const fundPerUser = 1_000_000 * ledger.Scale

// fixture makes users installs of apps (users spread over apps), funded.
func (s *stack) fixture(ctx context.Context, users, appCount int) ([]installRef, error) {
	svc := s.apps
	var appIDs []apps.App
	vendor, _, err := s.newUser(ctx)
	if err != nil {
		return nil, err
	}
	for i := 0; i < appCount; i++ {
		reg, err := svc.Register(ctx, vendor, apps.Profile{Name: fmt.Sprintf("Bench App %d %s", i, uuid.NewString()[:6])})
		if err != nil {
			return nil, err
		}
		appIDs = append(appIDs, reg.App)
	}
	high := apps.MaxRateLimit
	var out []installRef
	for i := 0; i < users; i++ {
		user, wallet, err := s.newUser(ctx)
		if err != nil {
			return nil, err
		}
		a := appIDs[i%len(appIDs)]
		in, err := svc.Install(ctx, user, "bench@example.com", a.ID.String(), apps.Limits{MaxPerHour: &high, MaxPerDay: &high, MaxPerMonth: &high})
		if err != nil {
			return nil, err
		}
		out = append(out, installRef{InstallID: in.Install.ID.String(), Secret: in.Secret, UserWallet: wallet, AppWallet: a.WalletID})
	}
	return out, nil
}

func (s *stack) newUser(ctx context.Context) (uuid.UUID, uuid.UUID, error) {
	var user, wallet uuid.UUID
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "INSERT INTO users (email) VALUES ($1) RETURNING id", uuid.NewString()+"@bench.example.com").Scan(&user); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "INSERT INTO wallets (kind, owner_user_id) VALUES ('user', $1) RETURNING id", user).Scan(&wallet); err != nil {
			return err
		}
		_, err := ledger.Adjust(ctx, tx, wallet, fundPerUser, "bench-fund-"+wallet.String(), "admin", "benchmark funding")
		return err
	})
	return user, wallet, err
}

func (s *stack) checkInvariants(ctx context.Context) error {
	rep, err := ledger.CheckInvariants(ctx, s.pool)
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("ledger invariants broken: %+v", rep.Violations)
	}
	return nil
}
