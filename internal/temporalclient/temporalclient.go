// Package temporalclient is the one place that builds OfficeX's Temporal
// client options: address, namespace, logger, the payload codec, and TLS
// with a client certificate or an API key (Temporal Cloud). The API,
// the worker (which inherits the client's converter), the CLI commands and
// the test harness all dial through it, so no process writes plain payloads
// by accident.
package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

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
	if opts.ConnectionOptions.TLS, err = TLSConfig(cfg, log); err != nil {
		return client.Options{}, err
	}
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
		// Temporal Cloud's regional API-key endpoints route each call by this
		// header, which SDK v1.51 does not set itself (sdk-go issue 1458).
		opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions,
			grpc.WithChainUnaryInterceptor(namespaceHeader(cfg.TemporalNamespace)))
	}
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

// Lazy is Dial without connecting: the connection is made on the first
// call. officex serve uses it, so an API process started while Temporal is
// down comes up and bills (nothing that moves money waits on Temporal; its
// /readyz needs PostgreSQL only) instead of exiting until Temporal is back.
func Lazy(cfg config.Config, log *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	opts, err := Options(cfg, log)
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = metrics
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("Temporal client for %s: %w", cfg.TemporalAddress, err)
	}
	return tc, nil
}

// namespaceHeader adds the temporal-namespace header to every call.
func namespaceHeader(namespace string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get(namespaceHeaderKey)) == 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, namespaceHeaderKey, namespace)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

const namespaceHeaderKey = "temporal-namespace"

// TLSConfig is the TLS of the connection to Temporal, or nil (plain gRPC:
// the dev server, a cluster on a private network) unless TEMPORAL_TLS. The
// client certificate (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY) is loaded now,
// so a bad file stops the process at start, and read again at each TLS
// handshake once its files change, so a renewed certificate (a Kubernetes
// Secret updated in place) is used from the next reconnection on.
func TLSConfig(cfg config.Config, log *slog.Logger) (*tls.Config, error) {
	if !cfg.TemporalTLS {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TemporalTLSServerName}
	if cfg.TemporalTLSCA != "" {
		pem, err := os.ReadFile(cfg.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: no PEM certificate in %s", cfg.TemporalTLSCA)
		}
	}
	if cfg.TemporalTLSCert != "" {
		kp := &keyPair{certFile: cfg.TemporalTLSCert, keyFile: cfg.TemporalTLSKey, log: log}
		if err := kp.load(); err != nil {
			return nil, err
		}
		tc.GetClientCertificate = kp.get
	}
	return tc, nil
}

// keyPair is the client certificate, read again from its files when they
// change.
type keyPair struct {
	certFile, keyFile string
	log               *slog.Logger

	mu       sync.Mutex
	cert     *tls.Certificate
	modified [2]time.Time // of certFile and keyFile when cert was read
}

func (k *keyPair) mtimes() ([2]time.Time, error) {
	var m [2]time.Time
	for i, f := range []string{k.certFile, k.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return m, err
		}
		m[i] = st.ModTime()
	}
	return m, nil
}

// load reads the pair when its files changed since the last read.
func (k *keyPair) load() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	m, err := k.mtimes()
	if err != nil {
		return fmt.Errorf("TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY: %w", err)
	}
	if k.cert != nil && m == k.modified {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY (%s, %s): %w", k.certFile, k.keyFile, err)
	}
	k.cert, k.modified = &cert, m
	return nil
}

// get is tls.Config.GetClientCertificate: the pair as its files are now, or
// the last one read when they cannot be read (a renewal half written).
func (k *keyPair) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if err := k.load(); err != nil {
		k.log.Warn("Temporal client certificate not reloaded; using the one read before", "error", err.Error())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cert, nil
}
