package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/internal/temporalclient"
)

// startTopology measures OfficeX as it already runs elsewhere (the
// processes of scripts/topology.sh behind its proxy): requests go to api,
// and the fixtures are written to the database the API uses, configured
// from the environment exactly as `officex serve` is, so install secrets are
// sealed with the same key. Nothing is torn down afterwards.
func startTopology(ctx context.Context, api string, log *slog.Logger) (*stack, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("topology configuration: %w", err)
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	tc, err := temporalclient.Dial(ctx, cfg, log, nil)
	if err != nil {
		pool.Close()
		return nil, err
	}
	box, err := secretbox.New(cfg.EncryptionKey, cfg.EncryptionOldKeys...)
	if err != nil {
		tc.Close()
		pool.Close()
		return nil, err
	}
	opt := apps.DefaultOptions
	opt.AllowPrivateURLs, opt.TaskQueue = cfg.AllowPrivateURLs, cfg.TaskQueue
	svc := apps.New(pool, tc, box, opt)
	svc.OnUninstall = billing.New(pool).CancelOpenForInstall
	return &stack{apps: svc, pool: pool, baseURL: api, teardown: func() {
		tc.Close()
		pool.Close()
	}}, nil
}
