package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gagliardetto/solana-go"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/internal/config"
	"github.com/officex/officex/internal/stripesim"
	"github.com/officex/officex/internal/uploads"
	"github.com/officex/officex/internal/usdc"
)

// simulatorKey is the Stripe key of the simulator (it accepts any); one
// that looks valid to stripe-mock too, which tests pay through with the
// configuration's key.
const simulatorKey = "sk_test_officexsimulator"

// connectStripe makes the Stripe client. With no STRIPE_SECRET_KEY in testing
// mode (make dev, tests), it serves the Stripe test-mode simulator on loopback
// so purchases with Stripe's test tokens work locally.
func (a *App) connectStripe() error {
	if a.Config.StripeSecretKey == "" && !a.Config.TestingMode {
		a.Log.Warn("STRIPE_SECRET_KEY is not set: credit purchases answer 503 SERVICE_UNAVAILABLE")
	}
	if a.Config.StripeSecretKey == "" && a.Config.TestingMode {
		if err := a.serveStripeSimulator(); err != nil {
			return err
		}
	}
	a.Stripe = activities.NewStripeClient(a.Config.StripeSecretKey, a.Config.StripeAPIBase)
	a.StripeConfigured = a.Config.StripeSecretKey != ""
	return nil
}

// serveStripeSimulator runs the simulator until Close and points the
// configuration's Stripe key and URL at it.
func (a *App) serveStripeSimulator() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("stripe simulator: %w", err)
	}
	a.StripeSim = stripesim.New()
	srv := &http.Server{Handler: a.StripeSim, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	a.closers = append(a.closers, func() { srv.Close() })
	a.Config.StripeSecretKey, a.Config.StripeAPIBase = simulatorKey, "http://"+l.Addr().String()
	a.Log.Info("no STRIPE_SECRET_KEY: using the Stripe test-mode simulator (tok_visa succeeds, tok_chargeDeclined declines)",
		"url", a.Config.StripeAPIBase)
	return nil
}

// usdcClient is the Solana client when SOLANA_RPC_URL, SOLANA_PAYER_KEYPAIR
// and USDC_MINT are all set, and nil (USDC payouts refused) when none is.
func usdcClient(cfg config.Config) (*usdc.Client, error) {
	if cfg.SolanaRPCURL == "" && cfg.SolanaPayerKeypair == "" && cfg.USDCMint == "" {
		return nil, nil
	}
	payer, err := usdc.ParsePayerKeypair(cfg.SolanaPayerKeypair)
	if err != nil {
		return nil, fmt.Errorf("SOLANA_PAYER_KEYPAIR: %w", err)
	}
	mint, err := solana.PublicKeyFromBase58(cfg.USDCMint)
	if err != nil {
		return nil, fmt.Errorf("USDC_MINT: %w", err)
	}
	c := usdc.Config{RPCURL: cfg.SolanaRPCURL, Payer: payer, Mint: mint}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("USDC payouts: %w", err)
	}
	return usdc.New(c), nil
}

// uploadStore is S3 when S3_BUCKET is set, else the local store under
// OFFICEX_UPLOAD_DIR (created if missing) whose files this API serves.
func uploadStore(ctx context.Context, cfg config.Config) (uploads.Store, error) {
	if cfg.S3Bucket != "" {
		return uploads.NewS3(ctx, uploads.S3Options{Bucket: cfg.S3Bucket, Endpoint: cfg.S3Endpoint,
			Region: cfg.S3Region, MaxBytes: cfg.UploadMaxBytes})
	}
	return uploads.NewLocal(uploads.LocalOptions{Dir: cfg.UploadDir, MaxBytes: cfg.UploadMaxBytes,
		PublicURL: cfg.PublicURL, EncryptionKey: cfg.EncryptionKey})
}
