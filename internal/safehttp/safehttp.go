// Package safehttp owns the one HTTP client OfficeX uses for every outgoing
// request to a URL that a user or vendor controls: app webhooks, the AI agent
// calling app APIs, anything whose destination OfficeX did not pick itself.
//
// It defends against server-side request forgery (SSRF). The destination is
// checked at dial time, after DNS resolution, on the exact IP address the
// socket is about to connect to (net.Dialer.Control runs before connect), so
// DNS rebinding, hostnames that resolve to internal addresses, redirects and
// odd IP spellings cannot reach loopback, private networks, link-local
// addresses (including the cloud metadata service at 169.254.169.254 and
// fd00:ec2::254) or any other non-public range. CheckURL validates a URL once,
// when it is registered, so obviously bad URLs are refused early with a clear
// message; the dial-time check is the one that actually holds.
//
// What this package must not do:
//   - use a proxy (from the environment or otherwise): the proxy would make the
//     connection, and the dial check would only see the proxy's address;
//   - follow redirects unless the caller opts in with Options.MaxRedirects;
//   - dial anything other than TCP, or bypass the Control hook with a custom
//     DialTLS/DialContext that skips it;
//   - read unbounded response bodies: callers read bodies with ReadLimited.
//
// Options.AllowPrivate turns the address checks off. It exists for local
// development and tests (httptest servers on 127.0.0.1) and must never be set
// from user- or vendor-controlled input.
package safehttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Limits. Every number the client uses is named here.
const (
	// DefaultTimeout bounds a whole request (dial, TLS, headers, body) when
	// Options.Timeout is zero or negative.
	DefaultTimeout = 30 * time.Second
	// DialTimeout bounds establishing one TCP connection.
	DialTimeout = 10 * time.Second
	// KeepAlive is the TCP keep-alive period of established connections.
	KeepAlive = 30 * time.Second
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout = 10 * time.Second
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request has been written.
	ResponseHeaderTimeout = 15 * time.Second
	// ExpectContinueTimeout bounds the wait for "100 Continue".
	ExpectContinueTimeout = 1 * time.Second
	// IdleConnTimeout closes idle keep-alive connections after this long.
	IdleConnTimeout = 90 * time.Second
	// MaxIdleConns caps idle keep-alive connections across all hosts.
	MaxIdleConns = 100
	// MaxIdleConnsPerHost caps idle keep-alive connections per host.
	MaxIdleConnsPerHost = 4
	// MaxConnsPerHost caps all (dialing, active, idle) connections per host, so
	// one slow vendor cannot exhaust our file descriptors.
	MaxConnsPerHost = 32
	// MaxResponseHeaderBytes caps the size of response headers.
	MaxResponseHeaderBytes = 64 << 10
	// MaxRedirectsLimit caps Options.MaxRedirects.
	MaxRedirectsLimit = 10
	// MaxURLLength is the longest URL CheckURL accepts, in bytes.
	MaxURLLength = 2048
	// DefaultMaxBodyBytes is a sensible ReadLimited cap for webhook and API
	// responses when the caller has no better number.
	DefaultMaxBodyBytes = 1 << 20
)

var (
	// ErrForbiddenAddress is wrapped by the error returned when a connection
	// to a non-public address is refused. errors.Is sees it through
	// *url.Error and *net.OpError.
	ErrForbiddenAddress = errors.New("safehttp: forbidden destination address")
	// ErrInvalidURL is wrapped by every error CheckURL returns.
	ErrInvalidURL = errors.New("safehttp: invalid URL")
	// ErrBodyTooLarge is wrapped by the error ReadLimited returns when the
	// body is longer than allowed.
	ErrBodyTooLarge = errors.New("safehttp: body too large")
)

// Options configures New. The zero value is the safe default: public
// addresses only, DefaultTimeout, redirects not followed.
type Options struct {
	// AllowPrivate disables the address checks (local development and tests
	// only; never derived from user or vendor input).
	AllowPrivate bool
	// Timeout bounds a whole request; zero or negative means DefaultTimeout.
	Timeout time.Duration
	// MaxRedirects is how many redirects to follow; 0 means never follow (the
	// 3xx response is returned as is). Values above MaxRedirectsLimit are
	// capped. When the limit is reached the last 3xx response is returned.
	// Redirect targets go through the same dial check, and without
	// AllowPrivate a redirect to a non-https URL is refused.
	MaxRedirects int
}

// New returns a client for requests to user- or vendor-controlled URLs. Each
// call builds its own Transport; callers should keep and reuse the client.
func New(opts Options) *http.Client {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{
		Timeout:   DialTimeout,
		KeepAlive: KeepAlive,
	}
	if !opts.AllowPrivate {
		dialer.Control = dialControl
	}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would make the connection and bypass the dial check
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    TLSHandshakeTimeout,
		ResponseHeaderTimeout:  ResponseHeaderTimeout,
		ExpectContinueTimeout:  ExpectContinueTimeout,
		IdleConnTimeout:        IdleConnTimeout,
		MaxIdleConns:           MaxIdleConns,
		MaxIdleConnsPerHost:    MaxIdleConnsPerHost,
		MaxConnsPerHost:        MaxConnsPerHost,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: checkRedirect(opts),
	}
}

func checkRedirect(opts Options) func(*http.Request, []*http.Request) error {
	limit := opts.MaxRedirects
	if limit > MaxRedirectsLimit {
		limit = MaxRedirectsLimit
	}
	return func(req *http.Request, via []*http.Request) error {
		if limit <= 0 || len(via) > limit {
			return http.ErrUseLastResponse
		}
		return CheckURL(req.URL.String(), opts.AllowPrivate)
	}
}

// dialControl runs after the socket is created and before connect, on the
// resolved address actually being dialed.
func dialControl(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %q not allowed", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", ErrForbiddenAddress, address)
	}
	if reason, bad := forbiddenIP(ap.Addr()); bad {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ap.Addr(), reason)
	}
	return nil
}

type ipRange struct {
	prefix netip.Prefix
	reason string
}

func mustRanges(pairs ...string) []ipRange {
	out := make([]ipRange, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, ipRange{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// Refused IPv4 ranges (IANA special-purpose registry, plus multicast and
// reserved space).
var refusedV4 = mustRanges(
	"0.0.0.0/8", "unspecified/this-network",
	"10.0.0.0/8", "private",
	"100.64.0.0/10", "carrier-grade NAT",
	"127.0.0.0/8", "loopback",
	"169.254.0.0/16", "link-local (cloud metadata)",
	"172.16.0.0/12", "private",
	"192.0.0.0/24", "IETF protocol assignments",
	"192.0.2.0/24", "documentation",
	"192.88.99.0/24", "6to4 relay anycast",
	"192.168.0.0/16", "private",
	"198.18.0.0/15", "benchmarking",
	"198.51.100.0/24", "documentation",
	"203.0.113.0/24", "documentation",
	"224.0.0.0/4", "multicast",
	"240.0.0.0/4", "reserved/broadcast",
)

// Only global unicast IPv6 (2000::/3) is allowed, minus these ranges. NAT64
// (64:ff9b::/96) and 6to4 (2002::/16) are judged by the IPv4 address they
// embed; IPv4-mapped addresses are unmapped first.
var (
	globalV6  = netip.MustParsePrefix("2000::/3")
	nat64V6   = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	refusedV6 = mustRanges(
		"2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHID)",
		"2001:db8::/32", "documentation",
		"3fff::/20", "documentation",
		"3ffe::/16", "former 6bone",
	)
)

// forbiddenIP reports whether a connection to ip must be refused, and why.
func forbiddenIP(ip netip.Addr) (reason string, forbidden bool) {
	if !ip.IsValid() {
		return "invalid", true
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		for _, r := range refusedV4 {
			if r.prefix.Contains(ip) {
				return r.reason, true
			}
		}
		return "", false
	}
	if nat64V6.Contains(ip) {
		b := ip.As16()
		return embeddedV4(netip.AddrFrom4([4]byte(b[12:16])), "NAT64")
	}
	if sixToFour.Contains(ip) {
		b := ip.As16()
		return embeddedV4(netip.AddrFrom4([4]byte(b[2:6])), "6to4")
	}
	switch {
	case ip.IsUnspecified():
		return "unspecified", true
	case ip.IsLoopback():
		return "loopback", true
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local", true
	case ip.IsPrivate():
		return "unique local (private; includes fd00:ec2::254 metadata)", true
	case ip.IsMulticast():
		return "multicast", true
	case !globalV6.Contains(ip):
		return "not global unicast", true
	}
	for _, r := range refusedV6 {
		if r.prefix.Contains(ip) {
			return r.reason, true
		}
	}
	return "", false
}

func embeddedV4(v4 netip.Addr, kind string) (string, bool) {
	if reason, bad := forbiddenIP(v4); bad {
		return kind + " embedding " + v4.String() + " (" + reason + ")", true
	}
	return "", false
}

// CheckURL validates a URL when it is registered (webhook, app API base). It
// requires https (http only with allowPrivate), a host, no userinfo, a valid
// port if any, and at most MaxURLLength bytes. An IP-literal host must be
// public unless allowPrivate; "localhost" names and numeric hosts that are
// not canonical IP addresses (e.g. "2130706433", "0x7f.1") are refused too.
// Passing CheckURL does not make a URL safe to fetch: the client from New
// still checks the resolved address on every dial.
func CheckURL(raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLength {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidURL, MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowPrivate {
			return fmt.Errorf("%w: scheme must be https", ErrInvalidURL)
		}
	case "":
		return fmt.Errorf("%w: absolute URL required", ErrInvalidURL)
	default:
		return fmt.Errorf("%w: scheme %q not allowed", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" {
		return fmt.Errorf("%w: opaque URL not allowed", ErrInvalidURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: userinfo not allowed", ErrInvalidURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: host required", ErrInvalidURL)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > math.MaxUint16 {
			return fmt.Errorf("%w: invalid port %q", ErrInvalidURL, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%w: empty port", ErrInvalidURL)
	}
	if allowPrivate {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if reason, bad := forbiddenIP(ip); bad {
			return fmt.Errorf("%w: host %s is %s: %w", ErrInvalidURL, ip, reason, ErrForbiddenAddress)
		}
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return fmt.Errorf("%w: host %q is loopback: %w", ErrInvalidURL, host, ErrForbiddenAddress)
	}
	if looksNumeric(name) {
		return fmt.Errorf("%w: numeric host %q is not a canonical IP address", ErrInvalidURL, host)
	}
	return nil
}

// looksNumeric reports whether the last label of a hostname is a number
// (decimal, or hex "0x..."): no real TLD is, but some resolvers read such
// names as IPv4 addresses in shorthand ("127.1", "2130706433", "0x7f.1").
func looksNumeric(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		last = rest
		for _, c := range last {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ReadLimited reads all of r, up to max bytes. If r holds more than max
// bytes it returns nil and an error wrapping ErrBodyTooLarge (reading at most
// max+1 bytes). A negative max is treated as 0.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	if max < 0 {
		max = 0
	}
	limit := max
	if limit < math.MaxInt64 {
		limit++
	}
	data, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, max)
	}
	return data, nil
}

// Describe says why a request failed in words safe to show a vendor or a
// model: never the internal address that was refused, nor the resolver's.
func Describe(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrForbiddenAddress):
		return "destination not allowed"
	case errors.As(err, &dnsErr):
		return "could not resolve host"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	case strings.Contains(err.Error(), "tls:"), strings.Contains(err.Error(), "x509:"):
		return "TLS handshake failed"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "request failed"
}
