package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/officex/officex/internal/config"
)

// Commands around the keys: the Temporal UI's codec endpoint and the
// re-encryption of stored secrets after an OFFICEX_ENCRYPTION_KEY rotation.

func codecServerCmd() *cobra.Command {
	c := &cobra.Command{Use: "codec-server", GroupID: groupServer,
		Short: "Serve the Temporal UI's codec endpoint on OFFICEX_CODEC_ADDR (decrypts payloads)",
		Long: `Serve the endpoint the Temporal UI calls to show encrypted workflow payloads to an
operator holding the codec key (README, "Encrypted Temporal payloads"). Logs JSON.

Reads only OFFICEX_TEMPORAL_CODEC_KEY (required), OFFICEX_TEMPORAL_CODEC_KEYS,
OFFICEX_CODEC_ADDR (default 127.0.0.1:8089) and OFFICEX_CODEC_CORS_ORIGINS.`,
		Args: args()}
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := config.LoadCodec(os.Getenv)
		if err != nil {
			indented := "  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")
			return configError{fmt.Errorf("officex codec-server: configuration:\n%s", indented)}
		}
		log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
		if err := codecServer(cmd.Context(), cfg, log); err != nil {
			log.Error("officex failed", "command", c.Name(), "error", err.Error())
			return errReported
		}
		return nil
	}
	return c
}

func rotateEncryptionKeyCmd() *cobra.Command {
	var batch []string
	c := serverCommand(&cobra.Command{Use: "rotate-encryption-key [--batch N]",
		Short: "Re-encrypt every stored secret under OFFICEX_ENCRYPTION_KEY (safe to re-run)",
		Long: `Re-seal every stored secret under the current OFFICEX_ENCRYPTION_KEY, opening old
values with the keys of OFFICEX_ENCRYPTION_KEYS, N rows a transaction (default 500),
and print a JSON report per column; exit 1 if a value opens under no key
(README, "Rotating the encryption key").`,
		DisableFlagParsing: true, Args: cobra.ArbitraryArgs},
		false, func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			return rotateEncryptionKey(ctx, cfg, log, batch)
		})
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, a []string) error {
		batch = a // parsed by rotateEncryptionKey (--batch N)
		return run(cmd, a)
	}
	return c
}
