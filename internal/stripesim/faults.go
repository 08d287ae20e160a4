package stripesim

import (
	"net/http"
	"strings"
	"time"
)

// Fault makes the simulator fail matching requests the way a network or
// Stripe can, so tests can lose an answer or see a read refused.
type Fault struct {
	Method string // GET or POST
	Path   string // a path prefix: "/v1/transfers", "/v1/payouts/"
	// DropResponse runs the request (objects are created, an idempotent
	// response is saved) and then closes the connection without answering:
	// the caller never learns what happened.
	DropResponse bool
	// Status, when DropResponse is false, answers with a Stripe error of
	// that status without running the request: 400 and 404 as
	// resource_missing (invalid_request_error), anything else as api_error.
	Status int
	// Times is how many matching requests fail; 0 means until removed.
	Times int
}

// InjectedFault is a fault in place.
type InjectedFault struct {
	s       *Server
	f       Fault
	hits    int
	removed bool
}

// maxFaults bounds the faults in place at once.
const maxFaults = 100

// InjectFault puts a fault in place until it has hit Times requests or is
// removed. Faults are matched in the order they were injected.
func (s *Server) InjectFault(f Fault) *InjectedFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) >= maxFaults {
		panic("stripesim: too many faults in place")
	}
	in := &InjectedFault{s: s, f: f}
	s.faults = append(s.faults, in)
	return in
}

// Remove takes the fault out; requests then run normally.
func (in *InjectedFault) Remove() {
	in.s.mu.Lock()
	defer in.s.mu.Unlock()
	in.removed = true
	kept := in.s.faults[:0]
	for _, f := range in.s.faults {
		if f != in {
			kept = append(kept, f)
		}
	}
	in.s.faults = kept
}

// Hits is how many requests the fault has failed.
func (in *InjectedFault) Hits() int {
	in.s.mu.Lock()
	defer in.s.mu.Unlock()
	return in.hits
}

// fault returns the fault a request hits, counting the hit. Caller holds s.mu.
func (s *Server) fault(r *http.Request) *Fault {
	for _, in := range s.faults {
		if in.removed || in.f.Method != r.Method || !strings.HasPrefix(r.URL.Path, in.f.Path) {
			continue
		}
		if in.f.Times > 0 && in.hits >= in.f.Times {
			continue
		}
		in.hits++
		return &in.f
	}
	return nil
}

// faultReply is the error answer of a Status fault.
func faultReply(f *Fault, r *http.Request) reply {
	switch f.Status {
	case http.StatusBadRequest, http.StatusNotFound:
		return failure(newError(f.Status, typeInvalidRequest, "resource_missing", "id", "No such object: '%s' (stripesim fault)", r.URL.Path))
	}
	return failure(newError(f.Status, typeAPI, "", "", "stripesim fault: status %d", f.Status))
}

// Advance moves the simulator's clock forward: saved idempotency keys age
// (Stripe forgets them after 24 hours) and new objects carry the later time.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// now is the simulator's clock. Caller holds s.mu.
func (s *Server) now() time.Time { return time.Now().Add(s.offset) }
