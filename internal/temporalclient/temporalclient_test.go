package temporalclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/officex/officex/internal/config"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// pki is a test CA with a server certificate for 127.0.0.1 and the name
// temporal.test, and a client certificate, written as PEM files.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	ca                                                   *x509.Certificate
	caKey                                                *ecdsa.PrivateKey
	dir                                                  string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caKey = key
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	p.serverCert, p.serverKey = p.issue(t, "server", &x509.Certificate{Subject: pkix.Name{CommonName: "temporal.test"},
		DNSNames: []string{"temporal.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	p.clientCert, p.clientKey = p.issue(t, "client", &x509.Certificate{Subject: pkix.Name{CommonName: "officex-worker"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return p
}

// issue signs tmpl with the CA and writes NAME.pem and NAME-key.pem.
func (p *pki) issue(t *testing.T, name string, tmpl *x509.Certificate) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "EC PRIVATE KEY", keyDER)
}

func (p *pki) write(t *testing.T, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testConfig is a testing-mode configuration (no codec key needed) from env.
func testConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	env["OFFICEX_ENCRYPTION_KEY"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	env["OFFICEX_TESTING_MODE"] = "true"
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestOptions_PlainWithoutTLSSettings(t *testing.T) {
	opts, err := Options(testConfig(t, map[string]string{}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ConnectionOptions.TLS != nil || opts.Credentials != nil {
		t.Fatalf("TLS %v, credentials %v: want plain gRPC without credentials (the dev server)", opts.ConnectionOptions.TLS, opts.Credentials)
	}
}

func TestOptions_ClientCertificateCAAndServerName(t *testing.T) {
	p := newPKI(t)
	opts, err := Options(testConfig(t, map[string]string{"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233",
		"TEMPORAL_TLS_CERT": p.clientCert, "TEMPORAL_TLS_KEY": p.clientKey, "TEMPORAL_TLS_CA": p.caFile,
		"TEMPORAL_TLS_SERVER_NAME": "temporal.test"}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	tc := opts.ConnectionOptions.TLS
	if tc == nil || tc.ServerName != "temporal.test" || tc.MinVersion != tls.VersionTLS12 || tc.RootCAs == nil {
		t.Fatalf("TLS config %+v: want TLS 1.2+, server name temporal.test, the CA's pool", tc)
	}
	cert, err := tc.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		t.Fatalf("client certificate: %v, %v", cert, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil || leaf.Subject.CommonName != "officex-worker" {
		t.Fatalf("client certificate %v (%v), want CN officex-worker", leaf.Subject, err)
	}
	if opts.Credentials != nil {
		t.Error("API key credentials set without TEMPORAL_API_KEY")
	}
}

func TestOptions_APIKeyTurnsOnTLSWithSystemRoots(t *testing.T) {
	opts, err := Options(testConfig(t, map[string]string{"TEMPORAL_API_KEY": "key-1"}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Credentials == nil {
		t.Fatal("no credentials for TEMPORAL_API_KEY")
	}
	if tc := opts.ConnectionOptions.TLS; tc == nil || tc.RootCAs != nil || tc.GetClientCertificate != nil {
		t.Fatalf("TLS config %+v: want TLS with the system's roots and no client certificate", tc)
	}
}

func TestOptions_UnreadableCertificateNamesTheVariables(t *testing.T) {
	p := newPKI(t)
	for name, env := range map[string]map[string]string{
		"missing key file":           {"TEMPORAL_TLS_CERT": p.clientCert, "TEMPORAL_TLS_KEY": filepath.Join(p.dir, "nope.pem")},
		"key of another certificate": {"TEMPORAL_TLS_CERT": p.clientCert, "TEMPORAL_TLS_KEY": p.serverKey},
	} {
		_, err := Options(testConfig(t, env), quiet)
		if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY") {
			t.Errorf("%s: err = %v, want one naming TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY", name, err)
		}
	}
	_, err := Options(testConfig(t, map[string]string{"TEMPORAL_TLS_CA": p.clientKey}), quiet)
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CA") {
		t.Errorf("a key as the CA file: err = %v", err)
	}
}

// A renewed certificate written over the old files is presented from the
// next handshake on, without a restart.
func TestTLSConfig_ReloadsARenewedCertificate(t *testing.T) {
	p := newPKI(t)
	tc, err := TLSConfig(testConfig(t, map[string]string{"TEMPORAL_TLS_CERT": p.clientCert, "TEMPORAL_TLS_KEY": p.clientKey}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	renewedCert, renewedKey := p.issue(t, "renewed", &x509.Certificate{Subject: pkix.Name{CommonName: "officex-worker-renewed"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	later := time.Now().Add(time.Minute) // mtimes differ even on a coarse clock
	for from, to := range map[string]string{renewedCert: p.clientCert, renewedKey: p.clientKey} {
		raw, _ := os.ReadFile(from)
		if err := os.WriteFile(to, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(to, later, later)
	}
	cert, err := tc.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if leaf, _ := x509.ParseCertificate(cert.Certificate[0]); leaf == nil || leaf.Subject.CommonName != "officex-worker-renewed" {
		t.Fatalf("after renewal the client presents %v", leaf.Subject)
	}
}

// seen is what the test server saw of a call: the caller's certificate and
// its authorization header.
type seen struct {
	mu            sync.Mutex
	clientCN      string
	authorization string
	namespace     string
}

// TestDial_RealTLSListenerSeesCertificateAndAPIKey dials a gRPC server that
// requires a client certificate from the test CA (as Temporal Cloud does for
// mTLS namespaces) through the same Dial every process uses.
func TestDial_RealTLSListenerSeesCertificateAndAPIKey(t *testing.T) {
	p := newPKI(t)
	serverPair, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AddCert(p.ca)
	var s seen
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: clients,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			s.mu.Lock()
			if pr, ok := peer.FromContext(ctx); ok {
				if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
					s.clientCN = ti.State.PeerCertificates[0].Subject.CommonName
				}
			}
			md, _ := metadata.FromIncomingContext(ctx)
			s.authorization = strings.Join(md.Get("authorization"), ",")
			s.namespace = strings.Join(md.Get("temporal-namespace"), ",")
			s.mu.Unlock()
			return h(ctx, req)
		}))
	// Every method unimplemented: the SDK's first call (GetSystemInfo) still
	// crosses the TLS handshake and the interceptors.
	workflowservice.RegisterWorkflowServiceServer(srv, workflowservice.UnimplementedWorkflowServiceServer{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l) //nolint:errcheck // ends with Stop
	t.Cleanup(srv.Stop)

	env := map[string]string{"TEMPORAL_ADDRESS": l.Addr().String(), "TEMPORAL_NAMESPACE": "ns.acct",
		"TEMPORAL_TLS_CERT": p.clientCert, "TEMPORAL_TLS_KEY": p.clientKey, "TEMPORAL_TLS_CA": p.caFile,
		"TEMPORAL_TLS_SERVER_NAME": "temporal.test", "TEMPORAL_API_KEY": "cloud-key-1"}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, testConfig(t, env), quiet, nil)
	if err != nil {
		t.Fatalf("dial over mTLS: %v", err)
	}
	c.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clientCN != "officex-worker" || s.authorization != "Bearer cloud-key-1" || s.namespace != "ns.acct" {
		t.Fatalf("server saw client certificate %q, authorization %q, namespace %q", s.clientCN, s.authorization, s.namespace)
	}

	// Without the client certificate the server refuses the handshake.
	delete(env, "TEMPORAL_TLS_CERT")
	delete(env, "TEMPORAL_TLS_KEY")
	if c, err := Dial(ctx, testConfig(t, env), quiet, nil); err == nil {
		c.Close()
		t.Fatal("dial without a client certificate succeeded against a server requiring one")
	}
}
