package clientaddr

import (
	"net/http/httptest"
	"testing"
)

func TestFromRequest_TrustsOnlyTheConfiguredHeaderAndItsLastValue(t *testing.T) {
	cases := []struct {
		header, remote, value, want string
	}{
		{"", "192.0.2.1:5000", "203.0.113.9", "192.0.2.1"},                           // not configured: never believed
		{"X-Forwarded-For", "192.0.2.1:5000", "", "192.0.2.1"},                       // configured but absent
		{"X-Forwarded-For", "192.0.2.1:5000", "203.0.113.9", "203.0.113.9"},          // the proxy's value
		{"X-Forwarded-For", "192.0.2.1:5000", "6.6.6.6, 203.0.113.9", "203.0.113.9"}, // a prepended value is ignored
		{"X-Forwarded-For", "192.0.2.1:5000", "not-an-ip", "192.0.2.1"},              // garbage: the socket
		{"", "[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},                  // IPv6 counts per /64
		{"", "[::ffff:192.0.2.7]:443", "", "192.0.2.7"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.value != "" {
			r.Header.Set("X-Forwarded-For", c.value)
		}
		if got := FromRequest(r, c.header); got != c.want {
			t.Errorf("header %q remote %q value %q: got %q, want %q", c.header, c.remote, c.value, got, c.want)
		}
	}
}
