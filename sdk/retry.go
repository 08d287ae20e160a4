package officex

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// route is a method and a path pattern of api/openapi.yaml ({x} matches one segment).
type route struct{ method, pattern string }

// keyedRoutes take an idempotency_key in their JSON body: the SDK fills one
// in when the caller did not, so its retries of the same call replay the
// first answer instead of paying twice. sdk's tests check this list against
// the spec.
var keyedRoutes = []route{
	{http.MethodPost, "/v1/purchase-credits"},
	{http.MethodPost, "/v1/payout"},
	{http.MethodPost, "/v1/admin/wallets/{id}/adjust"},
}

// dedupedRoutes are POSTs the server deduplicates by a business id, or that
// find their object closed the second time, so sending one twice never moves
// money twice: a reservation is keyed by its job_id, an inbox message by its
// id, and a cancel or a final settle of a closed reservation is refused.
var dedupedRoutes = []route{
	{http.MethodPost, "/v1/reserve"},
	{http.MethodPost, "/v1/reservations/{id}/cancel"},
	{http.MethodPost, "/v1/installs/{install_id}/inbox"},
}

// settleRoutes are replay-safe only when final: a sip sent twice is two sips.
var settleRoutes = []route{
	{http.MethodPost, "/v1/settle"},
	{http.MethodPost, "/v1/reservations/{id}/settle"},
}

// matches compares the pattern with the last segments of path, so a base URL
// with a path prefix still matches.
func (r route) matches(method, path string) bool {
	if method != r.method {
		return false
	}
	want, got := strings.Split(strings.TrimPrefix(r.pattern, "/"), "/"), strings.Split(path, "/")
	if len(got) < len(want) {
		return false
	}
	got = got[len(got)-len(want):]
	for i, w := range want {
		if got[i] != w && !(strings.HasPrefix(w, "{") && got[i] != "") {
			return false
		}
	}
	return true
}

func anyMatches(routes []route, req *http.Request) bool {
	for _, r := range routes {
		if r.matches(req.Method, req.URL.Path) {
			return true
		}
	}
	return false
}

// retrier is the generated client's HTTP doer: it adds idempotency keys and
// tries a request again after a network error or a 5xx answer, never after
// a 4xx. A request that could move money twice (a sip, a creation without a
// key) is tried again only when it provably never left: the connection was
// refused.
type retrier struct {
	hc        *http.Client
	retries   int
	base, max time.Duration
}

// Do sends req, retrying as the policy allows; every attempt sends the same
// body (the same idempotency key included).
func (r *retrier) Do(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	if anyMatches(keyedRoutes, req) {
		body = withIdempotencyKey(body)
	}
	safe := replaySafe(req, body)
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		countAttempt(ctx)
		try := req.Clone(ctx)
		try.Body, try.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		try.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		resp, err := r.hc.Do(try)
		if attempt >= r.retries || ctx.Err() != nil || !retryable(resp, err, safe) {
			return resp, err
		}
		wait := r.delay(attempt, resp)
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// withIdempotencyKey adds a random idempotency_key to a JSON object body
// that has none; anything else is sent as it is (the API answers it).
func withIdempotencyKey(body []byte) []byte {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields == nil {
		return body
	}
	if k, ok := fields["idempotency_key"]; ok && string(k) != "null" {
		return body
	}
	fields["idempotency_key"], _ = json.Marshal("sdk-" + rand.Text())
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
}

// replaySafe says whether sending req twice has the effect of sending it once.
func replaySafe(req *http.Request, body []byte) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	if anyMatches(keyedRoutes, req) || anyMatches(dedupedRoutes, req) {
		return true
	}
	if anyMatches(settleRoutes, req) {
		var b struct {
			Final bool `json:"final"`
		}
		return json.Unmarshal(body, &b) == nil && b.Final
	}
	return false
}

func retryable(resp *http.Response, err error, safe bool) bool {
	if err != nil {
		return safe || neverSent(err)
	}
	return safe && resp.StatusCode >= 500
}

// neverSent: the connection could not be made, so the server saw nothing.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// delay is exponential backoff with jitter, or the answer's Retry-After
// (seconds) when longer, capped at max.
func (r *retrier) delay(attempt int, resp *http.Response) time.Duration {
	d := r.base << min(attempt, 20)
	if d <= 0 || d > r.max {
		d = r.max
	}
	d = d/2 + mathrand.N(d/2+1)
	if resp != nil {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && time.Duration(s)*time.Second > d {
			d = time.Duration(s) * time.Second
		}
	}
	return min(d, r.max)
}

// attemptsKey carries a counter of the attempts a call made, so the billing
// methods know when an answer may be about an earlier attempt of theirs.
type attemptsKey struct{}

func withAttempts(ctx context.Context) (context.Context, *int) {
	n := new(int)
	return context.WithValue(ctx, attemptsKey{}, n), n
}

func countAttempt(ctx context.Context) {
	if n, ok := ctx.Value(attemptsKey{}).(*int); ok {
		*n++
	}
}
