package stripesim

import (
	"net/http"
	"time"
)

// savedResponse is the first response to an idempotency key, replayed to
// every later request with that key.
type savedResponse struct {
	endpoint string // "POST /v1/payment_intents"
	params   string // the canonical encoding of the request's parameters
	reply    reply
	savedAt  time.Time
}

// idempotent runs a POST at most once per key: a repeat with the same
// endpoint and parameters gets the saved response, a repeat with others an
// idempotency_error, as on Stripe. Caller holds s.mu, which also keeps two
// concurrent requests with one key from both running.
func (s *Server) idempotent(scope, key, endpoint, canonical string, run func() reply) reply {
	if len(key) > maxIdempotencyKeyLen {
		return failure(invalid("", "", "Idempotency-Key must be at most %d characters long.", maxIdempotencyKeyLen))
	}
	if saved, ok := s.idem[scope]; ok && s.now().Sub(saved.savedAt) > idempotencyKeyTTL {
		delete(s.idem, scope) // Stripe forgets keys after 24 hours
	}
	if saved, ok := s.idem[scope]; ok {
		return saved.replay(key, endpoint, canonical)
	}
	rep := run()
	if rep.requestID == "" {
		rep.requestID = newID("req") // saved, so a replay repeats it
	}
	if executed(rep.status) {
		s.idem[scope] = &savedResponse{endpoint, canonical, rep, s.now()}
	}
	return rep
}

func (saved *savedResponse) replay(key, endpoint, canonical string) reply {
	if saved.endpoint != endpoint {
		return failure(newError(http.StatusBadRequest, typeIdempotency, "", "",
			"Keys for idempotent requests can only be used for the same endpoint they were first used for ('%s' vs '%s'). Try using a key other than '%s' if you meant to execute a different request.",
			saved.endpoint, endpoint, key))
	}
	if saved.params != canonical {
		return failure(newError(http.StatusBadRequest, typeIdempotency, "", "",
			"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.",
			key))
	}
	rep := saved.reply
	rep.replayed = true
	return rep
}

// executed tells whether a response came from a request that began to act.
// Stripe saves only those: a request refused for bad parameters (400), a
// missing object (404) or a full store (503) may be retried with its key,
// while a card decline (402) is an outcome and is replayed.
func executed(status int) bool {
	return status < 300 || status == http.StatusPaymentRequired
}
