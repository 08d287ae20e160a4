package stripesim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Limits: the simulator runs unattended under `officex dev`, so nothing grows
// without bound.
const (
	// MaxObjects is how many objects (payment methods, payment intents,
	// transfers, payouts, saved idempotent responses) a Server stores before
	// answering 503 to requests that could store more.
	MaxObjects = 100_000

	maxObjectsPerRequest = 3 // a cloned pm_card_*, the object, its idempotent response
	maxBodyBytes         = 64 << 10
	maxIdempotencyKeyLen = 255 // Stripe's limit
	idempotencyKeyTTL    = 24 * time.Hour
	maxRequestLog        = 10_000
)

// accountID is the shape of a Stripe account id.
var accountID = regexp.MustCompile(`^acct_[A-Za-z0-9]{16}$`)

// Server is the simulator. It is safe for concurrent use; requests are
// served one at a time, which is plenty for tests and a local dev stack.
type Server struct {
	mu         sync.Mutex
	maxObjects int // MaxObjects; lowered by tests
	objects    map[string]stored
	idem       map[string]*savedResponse
	requests   []Request
	counts     struct{ paymentIntents, charges, transfers, payouts int }
	transfers  []string         // transfer ids, oldest first, for listing
	payouts    []string         // payout ids, oldest first (PayoutIDs)
	faults     []*InjectedFault // see InjectFault
	offset     time.Duration    // see Advance
	refunded   map[string]int64 // cents refunded per PaymentIntent (see Refund)
}

// stored is an object and the account (Stripe-Account header, "" for the
// platform) it belongs to; another account cannot see it.
type stored struct {
	account string
	object  any
}

// Request is one request the simulator received, for tests to inspect.
type Request struct {
	Method, Path   string
	IdempotencyKey string
	Status         int  // 0: the answer was dropped (Fault.DropResponse)
	Replayed       bool // answered from a saved idempotent response
}

// New returns an empty simulator.
func New() *Server {
	return &Server{
		maxObjects: MaxObjects,
		objects:    map[string]stored{},
		idem:       map[string]*savedResponse{},
	}
}

// reply is a response before it is written.
type reply struct {
	status    int
	body      []byte
	requestID string
	replayed  bool
}

// call is what a handler needs of a request.
type call struct {
	params  params
	account string // Stripe-Account header
	id      string // the {id} of the path
}

type handler func(s *Server, c *call) reply

type route struct {
	method, pattern string
	handle          handler
}

var routes = []route{
	{http.MethodPost, "/v1/payment_methods", (*Server).createPaymentMethod},
	{http.MethodGet, "/v1/payment_methods/{id}", (*Server).getPaymentMethod},
	{http.MethodGet, "/v1/tokens/{id}", (*Server).getToken},
	{http.MethodPost, "/v1/payment_intents", (*Server).createPaymentIntent},
	{http.MethodGet, "/v1/payment_intents/{id}", (*Server).getPaymentIntent},
	{http.MethodPost, "/v1/payment_intents/{id}/confirm", (*Server).confirmPaymentIntent},
	{http.MethodPost, "/v1/payment_intents/{id}/cancel", (*Server).cancelPaymentIntent},
	{http.MethodPost, "/v1/transfers", (*Server).createTransfer},
	{http.MethodGet, "/v1/transfers", (*Server).listTransfers},
	{http.MethodGet, "/v1/transfers/{id}", (*Server).getTransfer},
	{http.MethodPost, "/v1/payouts", (*Server).createPayout},
	{http.MethodGet, "/v1/payouts/{id}", (*Server).getPayout},
	{http.MethodGet, "/v1/accounts/{id}", (*Server).getAccount},
}

// match finds the route of a request and the {id} in its path.
func match(method, path string) (handler, string) {
	got := strings.Split(path, "/")
	for _, r := range routes {
		want := strings.Split(r.pattern, "/")
		if r.method != method || len(want) != len(got) {
			continue
		}
		id, ok := "", true
		for i := range want {
			switch {
			case want[i] == "{id}" && got[i] != "":
				id = got[i]
			case want[i] != got[i]:
				ok = false
			}
		}
		if ok {
			return r.handle, id
		}
	}
	return nil, ""
}

// ServeHTTP answers one Stripe API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	s.mu.Lock()
	f := s.fault(r)
	s.mu.Unlock()
	var rep reply
	if f != nil && !f.DropResponse {
		rep = faultReply(f, r)
	} else {
		rep = s.serve(r, key)
	}
	if rep.requestID == "" {
		rep.requestID = newID("req")
	}
	if f != nil && f.DropResponse {
		s.logRequest(Request{r.Method, r.URL.Path, key, 0, rep.replayed})
		panic(http.ErrAbortHandler) // the connection closes unanswered
	}
	s.logRequest(Request{r.Method, r.URL.Path, key, rep.status, rep.replayed})

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", rep.requestID)
	h.Set("Stripe-Version", stripe.APIVersion)
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	if rep.replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	if rep.status == http.StatusServiceUnavailable {
		h.Set("Stripe-Should-Retry", "false") // a full store stays full
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// serve checks the key, parses parameters and runs the route, replaying a
// saved response for a repeated idempotency key.
func (s *Server) serve(r *http.Request, idemKey string) reply {
	apiKey, e := authenticate(r)
	if e != nil {
		return failure(e)
	}
	handle, id := match(r.Method, r.URL.Path)
	if handle == nil {
		return failure(newError(http.StatusNotFound, typeInvalidRequest, "", "",
			"Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
			r.Method, r.URL.Path))
	}
	p, e := readParams(r)
	if e != nil {
		return failure(e)
	}
	c := &call{params: p, account: r.Header.Get("Stripe-Account"), id: id}
	if c.account != "" && !accountID.MatchString(c.account) {
		return failure(newError(http.StatusForbidden, typeInvalidRequest, "account_invalid", "",
			"The provided key does not have access to account '%s' (or that account does not exist).", c.account))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	run := func() reply {
		if r.Method == http.MethodPost && s.storedCount()+maxObjectsPerRequest > s.maxObjects {
			return failure(newError(http.StatusServiceUnavailable, typeAPI, "", "",
				"stripesim stores at most %d objects and is full; start a new simulator.", s.maxObjects))
		}
		return handle(s, c)
	}
	if r.Method != http.MethodPost || idemKey == "" {
		return run() // Stripe ignores idempotency keys on GET
	}
	scope := strings.Join([]string{apiKey, c.account, idemKey}, "\x00")
	return s.idempotent(scope, idemKey, r.Method+" "+r.URL.Path, url.Values(p).Encode(), run)
}

// authenticate returns the secret key of a request, which must be a test
// key: the simulator stands in for test mode only.
func authenticate(r *http.Request) (string, *apiError) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		key, _, _ = r.BasicAuth()
	}
	key = strings.TrimSpace(key)
	switch {
	case key == "":
		return "", newError(http.StatusUnauthorized, typeInvalidRequest, "", "",
			"You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
	case !strings.HasPrefix(key, "sk_test_"):
		return "", newError(http.StatusUnauthorized, typeInvalidRequest, "", "",
			"Invalid API Key provided: %s (stripesim accepts only sk_test_ keys)", redact(key))
	}
	return key, nil
}

// redact shows a key as Stripe does in errors: its start and last four.
func redact(key string) string {
	if len(key) <= 12 {
		return strings.Repeat("*", len(key))
	}
	return key[:8] + strings.Repeat("*", len(key)-12) + key[len(key)-4:]
}

// readParams parses a POST's form body, or a GET's query, within limits.
func readParams(r *http.Request) (params, *apiError) {
	if r.Method != http.MethodPost {
		return params(r.URL.Query()), nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, invalid("", "", "Request body exceeds stripesim's limit of %d bytes.", maxBodyBytes)
	}
	if err != nil {
		return nil, invalid("", "", "Could not read the request body: %v", err)
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalid("", "", "Invalid form-encoded request body: %v", err)
	}
	return params(v), nil
}

// storedCount counts what the MaxObjects limit bounds. Caller holds s.mu.
func (s *Server) storedCount() int { return len(s.objects) + len(s.idem) }

// put stores a new object under its id. Caller holds s.mu.
func (s *Server) put(id, account string, object any) {
	s.objects[id] = stored{account, object}
}

// find returns the object of type T with id, if it belongs to account.
// Caller holds s.mu.
func find[T any](s *Server, id, account string) (*T, bool) {
	st, ok := s.objects[id]
	if !ok || st.account != account {
		return nil, false
	}
	obj, ok := st.object.(*T)
	return obj, ok
}

// findAnyAccount returns the object of type T with id, whatever its account:
// for the out-of-band methods (CompleteAction, SettlePayout) that stand for
// Stripe's side. Caller holds s.mu.
func findAnyAccount[T any](s *Server, id string) (*T, string, bool) {
	st, ok := s.objects[id]
	if !ok {
		return nil, "", false
	}
	obj, ok := st.object.(*T)
	return obj, st.account, ok
}

// ok answers 200 with an object as JSON.
func ok(v any) reply {
	return reply{status: http.StatusOK, body: mustJSON(v)}
}

// failure answers with Stripe's error body.
func failure(e *apiError) reply {
	return reply{status: e.status, body: mustJSON(map[string]*apiError{"error": e})}
}

// mustJSON marshals the simulator's own types, which cannot fail to encode.
func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("stripesim: encoding %T: %v", v, err))
	}
	return b
}

func (s *Server) logRequest(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) >= maxRequestLog {
		// Drop the older half at once, so trimming is rare and cheap.
		s.requests = append(s.requests[:0], s.requests[maxRequestLog/2:]...)
	}
	s.requests = append(s.requests, r)
}

// Requests returns the requests received so far, oldest first (the most
// recent 10,000 at least).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// PaymentIntentCount is how many PaymentIntents were created (declined ones
// included); idempotent replays create none.
func (s *Server) PaymentIntentCount() int { return s.count(&s.counts.paymentIntents) }

// ChargeCount is how many payments succeeded, each once: a charge.
func (s *Server) ChargeCount() int { return s.count(&s.counts.charges) }

// TransferCount is how many transfers were created.
func (s *Server) TransferCount() int { return s.count(&s.counts.transfers) }

// PayoutIDs are the ids of the payouts created, oldest first: what an
// operator finds in the Stripe dashboard.
func (s *Server) PayoutIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.payouts...)
}

// PayoutCount is how many payouts were created.
func (s *Server) PayoutCount() int { return s.count(&s.counts.payouts) }

func (s *Server) count(n *int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *n
}
