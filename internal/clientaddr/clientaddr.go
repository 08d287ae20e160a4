// Package clientaddr says which client a request comes from, for the
// sign-in limits that count per client. The socket's address is used unless
// the operator names one trusted proxy header (OFFICEX_TRUSTED_PROXY_HEADER):
// a header anyone can send, X-Forwarded-For included, is never believed
// otherwise. It stores nothing.
package clientaddr

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// IPv6Prefix groups IPv6 clients by their /64: one host usually holds a whole
// /64, so counting single addresses would give it 2^64 budgets.
const IPv6Prefix = 64

// FromRequest is the client address of r: the last value of header when
// header is set and that value is an IP address (the one the trusted proxy
// wrote or appended), otherwise the socket's peer address.
func FromRequest(r *http.Request, header string) string {
	if header != "" {
		if vals := r.Header.Values(header); len(vals) > 0 {
			parts := strings.Split(vals[len(vals)-1], ",")
			if a, ok := normalize(strings.TrimSpace(parts[len(parts)-1])); ok {
				return a
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, ok := normalize(host); ok {
		return a
	}
	return host
}

func normalize(raw string) (string, bool) {
	ip, err := netip.ParseAddr(raw)
	if err != nil {
		return "", false
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(IPv6Prefix)
		return p.String(), true
	}
	return ip.String(), true
}

type ctxKey struct{}

// NewContext returns ctx carrying the client address addr.
func NewContext(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, ctxKey{}, addr)
}

// FromContext is the client address NewContext stored, or "" (a call that
// did not come through the API).
func FromContext(ctx context.Context) string {
	a, _ := ctx.Value(ctxKey{}).(string)
	return a
}

// Middleware stores each request's client address in its context.
func Middleware(header string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), FromRequest(r, header))))
	})
}
