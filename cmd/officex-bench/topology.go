package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/officex/officex/internal/app"
	"github.com/officex/officex/internal/config"
)

// startTopology measures OfficeX as it already runs elsewhere (the
// processes of scripts/topology.sh behind its proxy): requests go to api,
// and the fixtures are written to the database the API uses, configured
// from the environment exactly as `officex serve` is, so install secrets are
// sealed with the same key. Nothing is torn down afterwards. The processes'
// CPU time is read through pidDir (cpu.go).
func startTopology(ctx context.Context, api, pidDir string, log *slog.Logger) (*stack, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("topology configuration: %w", err)
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	st := &stack{apps: a.Apps(), pool: a.Pool, baseURL: api, teardown: a.Close}
	if _, err := os.Stat(pidDir); err == nil {
		st.cpu = &cpuSampler{pidDir: pidDir, pool: a.Pool}
	} else {
		log.Warn("no CPU figures: the topology's pid files are not there", "dir", pidDir)
	}
	return st, nil
}
