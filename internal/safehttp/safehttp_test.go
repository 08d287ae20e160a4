package safehttp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// This machine has no network beyond loopback: nothing here may send traffic
// to a non-loopback address. Allowed public addresses are tested only through
// the classifier; refused ones are refused in Control, before connect.

func TestForbiddenIP(t *testing.T) {
	allowed := []string{
		"8.8.8.8", "1.1.1.1", "9.9.9.9", "93.184.216.34",
		"100.63.255.255", "100.128.0.0", // just outside CGNAT
		"172.15.255.255", "172.32.0.0", // just outside 172.16/12
		"169.253.255.255", "198.17.255.255", "198.20.0.0", "223.255.255.255",
		"2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:80b::200e",
		"::ffff:8.8.8.8",   // IPv4-mapped public
		"64:ff9b::808:808", // NAT64 of 8.8.8.8
		"2002:808:808::1",  // 6to4 of 8.8.8.8
	}
	refused := []string{
		// IPv4
		"0.0.0.0", "0.1.2.3",
		"127.0.0.1", "127.255.255.254",
		"10.0.0.1", "10.255.255.255",
		"172.16.0.1", "172.31.255.255",
		"192.168.0.1", "192.168.255.255",
		"169.254.0.1", "169.254.169.254",
		"100.64.0.1", "100.127.255.255",
		"192.0.0.1", "192.0.0.170",
		"198.18.0.1", "198.19.255.255",
		"192.0.2.1", "198.51.100.1", "203.0.113.1", // documentation
		"192.88.99.1",
		"224.0.0.1", "239.255.255.250", // multicast
		"240.0.0.1", "255.255.255.255", // reserved, broadcast
		// IPv6
		"::", "::1",
		"fc00::1", "fd12:3456::1", "fd00:ec2::254",
		"fe80::1", "fe80::1%eth0", "febf::1",
		"fec0::1",
		"ff02::1", "ff05::2", "ff0e::1",
		"2001:db8::1", "3fff::1", // documentation
		"2001::1", "2001:2::1", // Teredo, benchmarking
		"100::1",          // discard-only
		"::127.0.0.1",     // IPv4-compatible (deprecated)
		"::ffff:0:7f00:1", // SIIT
		// IPv4-mapped IPv6 of refused v4
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
		"::ffff:192.168.1.1", "::ffff:0.0.0.0", "::ffff:100.64.0.1",
		"::ffff:255.255.255.255", "::ffff:224.0.0.1",
		// NAT64 / 6to4 embedding refused v4
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1",
		"2002:7f00:1::1", "2002:a9fe:a9fe::", "2002:c0a8:101::1",
		"64:ff9b:1::1", // local-use NAT64
	}
	for _, s := range allowed {
		if reason, bad := forbiddenIP(netip.MustParseAddr(s)); bad {
			t.Errorf("%s refused (%s), want allowed", s, reason)
		}
	}
	for _, s := range refused {
		if _, bad := forbiddenIP(netip.MustParseAddr(s)); !bad {
			t.Errorf("%s allowed, want refused", s)
		}
	}
	if _, bad := forbiddenIP(netip.Addr{}); !bad {
		t.Error("zero Addr allowed")
	}
}

func TestDialControl(t *testing.T) {
	for _, tc := range []struct {
		network, addr string
		ok            bool
	}{
		{"tcp4", "8.8.8.8:443", true},
		{"tcp6", "[2606:4700:4700::1111]:443", true},
		{"tcp4", "127.0.0.1:80", false},
		{"tcp6", "[::1]:80", false},
		{"tcp6", "[::ffff:127.0.0.1]:80", false},
		{"tcp6", "[fe80::1%eth0]:80", false},
		{"udp4", "8.8.8.8:53", false},
		{"tcp4", "garbage", false},
	} {
		err := dialControl(tc.network, tc.addr, nil)
		if tc.ok && err != nil {
			t.Errorf("%s %s: %v", tc.network, tc.addr, err)
		}
		if !tc.ok && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s %s: err = %v, want ErrForbiddenAddress", tc.network, tc.addr, err)
		}
	}
}

func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "hello")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func assertForbidden(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("request succeeded, want ErrForbiddenAddress")
	}
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want it to wrap ErrForbiddenAddress", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("err = %T, want *url.Error", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want a *net.OpError inside", err)
	}
}

func TestLoopbackServer_RefusedUnlessAllowPrivate(t *testing.T) {
	srv, hits := countingServer(t, nil)

	_, err := New(Options{}).Get(srv.URL)
	assertForbidden(t, err)
	if hits.Load() != 0 {
		t.Fatal("refused request reached the server")
	}

	resp, err := New(Options{AllowPrivate: true}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := ReadLimited(resp.Body, DefaultMaxBodyBytes)
	if err != nil || string(body) != "hello" {
		t.Fatalf("body = %q, %v", body, err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits = %d, want 1", hits.Load())
	}
}

func TestHostnameResolvingToLoopback_RefusedAtDial(t *testing.T) {
	srv, hits := countingServer(t, nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	for _, u := range []string{
		"http://localhost:" + port + "/",          // resolves to 127.0.0.1 (and maybe ::1)
		"http://[::ffff:127.0.0.1]:" + port + "/", // IPv4-mapped literal
	} {
		_, err := New(Options{}).Get(u)
		assertForbidden(t, err)
	}
	if hits.Load() != 0 {
		t.Fatal("refused request reached the server")
	}
}

func TestMetadataAddress_RefusedBeforeConnect(t *testing.T) {
	// ErrForbiddenAddress can only come from the Control hook, which runs
	// after socket creation and before connect: no packet leaves.
	start := time.Now()
	_, err := New(Options{Timeout: 5 * time.Second}).Get("http://169.254.169.254/latest/meta-data/")
	assertForbidden(t, err)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("refusal took %v; looks like a connect was attempted", d)
	}
}

func TestRedirects(t *testing.T) {
	var final *httptest.Server
	final, _ = countingServer(t, nil)
	hop, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL+"/end", http.StatusFound)
	})
	start, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, hop.URL+"/hop", http.StatusFound)
	})

	// Default: not followed, the 302 is the response.
	resp, err := New(Options{AllowPrivate: true}).Get(start.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != hop.URL+"/hop" {
		t.Fatalf("status %d location %q, want 302 to hop", resp.StatusCode, resp.Header.Get("Location"))
	}

	// MaxRedirects 1: one hop followed, the second 302 returned.
	resp, err = New(Options{AllowPrivate: true, MaxRedirects: 1}).Get(start.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != final.URL+"/end" {
		t.Fatalf("status %d location %q, want 302 to final", resp.StatusCode, resp.Header.Get("Location"))
	}

	// MaxRedirects 2: lands on the final server.
	resp, err = New(Options{AllowPrivate: true, MaxRedirects: 2}).Get(start.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
}

func TestRedirectCheck_RefusesDowngradeAndPrivateTargets(t *testing.T) {
	cr := checkRedirect(Options{MaxRedirects: 5})
	via := []*http.Request{httptest.NewRequest("GET", "https://example.com/", nil)}
	for target, wantErr := range map[string]bool{
		"https://example.org/x":        false,
		"http://example.org/x":         true, // downgrade
		"https://169.254.169.254/":     true,
		"https://user:pw@example.org/": true,
	} {
		req := httptest.NewRequest("GET", target, nil)
		err := cr(req, via)
		if (err != nil) != wantErr || errors.Is(err, http.ErrUseLastResponse) {
			t.Errorf("redirect to %s: err = %v, wantErr %v", target, err, wantErr)
		}
	}
	if err := checkRedirect(Options{})(httptest.NewRequest("GET", "https://example.org/", nil), via); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("MaxRedirects 0: err = %v, want ErrUseLastResponse", err)
	}
}

func TestTransport_NoProxyAndLimits(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
	c := New(Options{})
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T", c.Transport)
	}
	if tr.Proxy != nil {
		t.Fatal("Proxy must be nil")
	}
	if tr.TLSHandshakeTimeout != TLSHandshakeTimeout || tr.ResponseHeaderTimeout != ResponseHeaderTimeout ||
		tr.MaxResponseHeaderBytes != MaxResponseHeaderBytes || tr.MaxIdleConnsPerHost != MaxIdleConnsPerHost ||
		tr.MaxIdleConns != MaxIdleConns || tr.IdleConnTimeout != IdleConnTimeout {
		t.Fatal("transport limits not set")
	}
	if c.Timeout != DefaultTimeout {
		t.Fatalf("timeout %v, want %v", c.Timeout, DefaultTimeout)
	}
	if New(Options{Timeout: time.Second}).Timeout != time.Second {
		t.Fatal("Options.Timeout ignored")
	}
}

func TestCheckURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxURLLength)
	for _, tc := range []struct {
		raw          string
		allowPrivate bool
		ok           bool
	}{
		{"https://example.com/hook", false, true},
		{"https://example.com:8443/hook?x=1", false, true},
		{"https://8.8.8.8/hook", false, true},
		{"https://[2606:4700:4700::1111]/hook", false, true},
		{"HTTPS://Example.COM/", false, true},
		{"http://example.com/hook", false, false},
		{"http://example.com/hook", true, true},
		{"http://127.0.0.1:8080/hook", true, true},
		{"https://user:pw@example.com/", false, false},
		{"https://user@example.com/", true, false},
		{"ftp://example.com/file", false, false},
		{"ftp://example.com/file", true, false},
		{"javascript:alert(1)", false, false},
		{"example.com/hook", false, false},
		{"https:///path", false, false},
		{"https://", false, false},
		{"https://example.com:0/", false, false},
		{"https://example.com:70000/", false, false},
		{"https://example.com:/", false, false},
		{"https://example.com:abc/", false, false},
		{long, false, false},
		{long, true, false},
		{"https://127.0.0.1/", false, false},
		{"https://10.1.2.3/", false, false},
		{"https://169.254.169.254/latest/meta-data/", false, false},
		{"https://[::1]/", false, false},
		{"https://[::ffff:127.0.0.1]/", false, false},
		{"https://[fd00:ec2::254]/", false, false},
		{"https://[fe80::1%25eth0]/", false, false},
		{"https://192.168.1.1/", true, true},
		{"https://localhost/", false, false},
		{"https://api.localhost./", false, false},
		{"https://2130706433/", false, false},
		{"https://0x7f.1/", false, false},
		{"https://127.1/", false, false},
		{"https://a.b.c.d/", false, true},
	} {
		err := CheckURL(tc.raw, tc.allowPrivate)
		name := tc.raw
		if len(name) > 60 {
			name = name[:60] + "..."
		}
		if tc.ok && err != nil {
			t.Errorf("CheckURL(%q, %v) = %v, want ok", name, tc.allowPrivate, err)
		}
		if !tc.ok && !errors.Is(err, ErrInvalidURL) {
			t.Errorf("CheckURL(%q, %v) = %v, want ErrInvalidURL", name, tc.allowPrivate, err)
		}
	}
	// Exactly at the limit is fine.
	atLimit := "https://example.com/" + strings.Repeat("a", MaxURLLength-len("https://example.com/"))
	if err := CheckURL(atLimit, false); err != nil {
		t.Errorf("URL of exactly %d bytes: %v", MaxURLLength, err)
	}
	if err := CheckURL("https://127.0.0.1/", false); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("private IP literal should also wrap ErrForbiddenAddress: %v", err)
	}
}

func TestReadLimited(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100)

	got, err := ReadLimited(bytes.NewReader(data), 100)
	if err != nil || len(got) != 100 {
		t.Fatalf("at limit: len %d, err %v", len(got), err)
	}
	got, err = ReadLimited(bytes.NewReader(data), 1000)
	if err != nil || len(got) != 100 {
		t.Fatalf("under limit: len %d, err %v", len(got), err)
	}
	if _, err := ReadLimited(bytes.NewReader(data), 99); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("over limit: err = %v, want ErrBodyTooLarge", err)
	}
	got, err = ReadLimited(strings.NewReader(""), 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty at 0: %q, %v", got, err)
	}
	if _, err := ReadLimited(strings.NewReader("a"), 0); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("1 byte over 0: err = %v", err)
	}
	// Reads at most max+1 bytes from an endless source.
	if _, err := ReadLimited(endless{}, 1<<10); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("endless: err = %v", err)
	}
	readErr := errors.New("boom")
	if _, err := ReadLimited(io.MultiReader(strings.NewReader("ab"), errReader{readErr}), 10); !errors.Is(err, readErr) {
		t.Fatalf("read error not passed through: %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestDescribe_NamesNoInternalAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	closed := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	closedURL := closed.URL
	closed.Close()
	for _, tc := range []struct {
		allowPrivate bool
		url, want    string
	}{
		{false, srv.URL, "destination not allowed"},
		{true, "http://officex-no-such-host.invalid/hook", "could not resolve host"},
		{true, closedURL, "connection refused"},
	} {
		_, err := New(Options{AllowPrivate: tc.allowPrivate, Timeout: 5 * time.Second}).Get(tc.url)
		if err == nil {
			t.Fatalf("%s: no error", tc.url)
		}
		got := Describe(err)
		if got != tc.want || strings.Contains(got, "127.0.0.1") {
			t.Errorf("%s: %q (from %v), want %q", tc.url, got, err, tc.want)
		}
	}
}
