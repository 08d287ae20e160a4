// Package temporalclient is the one place that builds OfficeX's Temporal
// client options: address, namespace, logger and the payload codec. The API,
// the worker (which inherits the client's converter), the CLI commands and
// the test harness all dial through it, so no process writes plain payloads
// by accident.
package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/payloadcodec"
)

// ErrCodecKeyRequired: outside testing mode, payloads must be encrypted.
var ErrCodecKeyRequired = errors.New("OFFICEX_TEMPORAL_CODEC_KEY is required unless OFFICEX_TESTING_MODE=true: " +
	"Temporal histories (readable in the Temporal UI) must not hold plain payloads; set it to base64 of 32 random bytes")

// Codec is the payload codec of cfg, or nil when OFFICEX_TEMPORAL_CODEC_KEY
// is unset (allowed in testing mode only).
func Codec(cfg config.Config) (*payloadcodec.Codec, error) {
	if cfg.TemporalCodecKey == nil {
		if !cfg.TestingMode {
			return nil, ErrCodecKeyRequired
		}
		return nil, nil
	}
	return payloadcodec.New(cfg.TemporalCodecKey, cfg.TemporalCodecOldKeys...)
}

// Options are the client options of every officex process. Without a codec
// key (testing mode) it logs that payloads go unencrypted.
func Options(cfg config.Config, log *slog.Logger) (client.Options, error) {
	codec, err := Codec(cfg)
	if err != nil {
		return client.Options{}, err
	}
	opts := client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(log.With("component", "temporal"))}
	if codec == nil {
		log.Warn("OFFICEX_TEMPORAL_CODEC_KEY is not set: Temporal payloads are stored unencrypted (allowed in testing mode only)")
		return opts, nil
	}
	// Failures (error messages, stack traces) stay plain so operators see
	// why a workflow is stuck without the codec server; no secret goes into
	// an error message.
	opts.DataConverter = codec.DataConverter()
	log.Info("Temporal payloads are encrypted", "encoding", payloadcodec.Encoding, "key_id", codec.KeyID())
	return opts, nil
}

// Dial connects to Temporal with Options.
func Dial(ctx context.Context, cfg config.Config, log *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	opts, err := Options(cfg, log)
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = metrics // nil: the SDK's no-op handler
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	return tc, nil
}
