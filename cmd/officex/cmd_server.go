package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/officex/officex/internal/config"
)

func serveCmd() *cobra.Command {
	return serverCommand(&cobra.Command{Use: "serve", Short: "Serve the REST API on OFFICEX_HTTP_ADDR and the chat stream on OFFICEX_CHAT_ADDR",
		Long: `Serve the REST API (paths under /v1; /healthz and /readyz at the root) on
OFFICEX_HTTP_ADDR and the chat stream on OFFICEX_CHAT_ADDR until SIGTERM, which
drains in-flight requests. Stateless: run as many as needed. Logs JSON.`},
		true, func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			return runProcesses(ctx, cfg, log, false, true, false)
		})
}

func workerCmd() *cobra.Command {
	return serverCommand(&cobra.Command{Use: "worker", Short: "Run the Temporal worker on OFFICEX_TASK_QUEUE",
		Long: `Run the Temporal worker on OFFICEX_TASK_QUEUE: every workflow and activity, the
reservation outbox relay and the schedule reconciler; it creates the Temporal
Schedules. SIGTERM stops it cleanly. Logs JSON.`},
		true, func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			return runProcesses(ctx, cfg, log, false, false, true)
		})
}

func devCmd() *cobra.Command {
	return serverCommand(&cobra.Command{Use: "dev", Short: "Create and migrate the database, then serve and work in one process (make dev)",
		Long: `Create the database if missing, migrate it, then run serve and worker in one
process (what make dev runs, with a generated encryption key and testing mode).
Logs JSON.`},
		true, func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			return runProcesses(ctx, cfg, log, true, true, true)
		})
}

func migrateCmd() *cobra.Command {
	return serverCommand(&cobra.Command{Use: "migrate", Short: "Create the database if missing and apply its migrations",
		Long: `Create the database at DATABASE_URL if missing and apply the migrations
(goose; safe to run from several processes at once).`},
		false, func(ctx context.Context, cfg config.Config, _ *slog.Logger) error { return migrate(ctx, cfg) })
}

// ---------------------------------------------------------------- version

// buildInfo is what officex version prints.
type buildInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	Go         string `json:"go"`
}

// readBuildInfo takes the version from -ldflags, else the module version
// (a go install of a tag), and the commit from the build's VCS stamp.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "unknown"
		}
		return b
	}
	if b.Version == "" {
		b.Version = info.Main.Version // "(devel)" for a local build
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func versionString() string {
	b := readBuildInfo()
	s := b.Version
	if b.Commit != "" {
		short := b.Commit
		if len(short) > 12 {
			short = short[:12]
		}
		s += " (commit " + short
		if b.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + b.Go
}

func versionCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "version", Short: "Print the version, commit and Go version of this binary",
		Long: `Print the version (set at build time with -ldflags "-X main.version=...", as
make build does; else the module version), the commit it was built from, and
the Go version. Needs no configuration.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !asJSON {
				fmt.Fprintln(cmd.OutOrStdout(), "officex", versionString())
				return nil
			}
			raw, err := json.MarshalIndent(readBuildInfo(), "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(raw))
			return nil
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "print the build information as JSON")
	return c
}
