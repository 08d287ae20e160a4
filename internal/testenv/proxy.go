package testenv

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// maxProxiedBody bounds a request or answer the contract proxy holds in memory.
const maxProxiedBody = 32 << 20

// ContractProxy returns the URL of a proxy to the package's API that checks
// every exchange against api/openapi.yaml, as Client does, for clients a
// test runs but does not drive itself (the officex CLI as a subprocess). A
// mismatch fails t; the proxy closes when t ends.
func (e *Env) ContractProxy(t testing.TB) string {
	c := e.Client(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.forward(w, r, e.Server.URL)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// forward sends r on to target, checks the exchange and relays the answer.
func (c *Client) forward(w http.ResponseWriter, r *http.Request, target string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxiedBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req, err := http.NewRequest(r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxProxiedBody))
	c.checkContract(req, body, resp, raw)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(raw)
}
