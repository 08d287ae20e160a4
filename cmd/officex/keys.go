package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/officex/officex/db"
	"github.com/officex/officex/internal/app"
	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/payloadcodec"
	"github.com/officex/officex/internal/rekey"
	"github.com/officex/officex/internal/secretbox"
)

// codecServer is "officex codec-server": the endpoint the Temporal UI calls
// to show encrypted payloads to an operator holding OFFICEX_TEMPORAL_CODEC_KEY.
// It refuses to start without the key: it would have nothing to decode with.
func codecServer(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.TemporalCodecKey == nil {
		return errors.New("officex codec-server needs OFFICEX_TEMPORAL_CODEC_KEY (and OFFICEX_TEMPORAL_CODEC_KEYS for payloads of earlier keys)")
	}
	codec, err := payloadcodec.New(cfg.TemporalCodecKey, cfg.TemporalCodecOldKeys...)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: cfg.CodecAddr, Handler: payloadcodec.Handler(codec, cfg.CodecCORSOrigins),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	log.Info("serving the Temporal codec endpoint", "addr", cfg.CodecAddr, "cors_origins", cfg.CodecCORSOrigins, "key_id", codec.KeyID())
	return app.ServeAll(ctx, srv)
}

// rotateEncryptionKey is "officex rotate-encryption-key": it re-seals every
// stored secret under OFFICEX_ENCRYPTION_KEY, opening old values with the
// keys of OFFICEX_ENCRYPTION_KEYS, and prints the report.
func rotateEncryptionKey(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("rotate-encryption-key", flag.ContinueOnError)
	batch := fs.Int("batch", rekey.DefaultBatch, fmt.Sprintf("rows per transaction (1-%d)", rekey.MaxBatch))
	if err := fs.Parse(args); err != nil {
		return err
	}
	box, err := secretbox.New(cfg.EncryptionKey, cfg.EncryptionOldKeys...)
	if err != nil {
		return err
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	log.Info("re-encrypting stored secrets", "key_id", box.CurrentKeyID(), "old_keys", len(cfg.EncryptionOldKeys))
	rep, err := rekey.Run(ctx, pool, box, *batch)
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Fprintln(os.Stdout, string(out))
	return err
}
