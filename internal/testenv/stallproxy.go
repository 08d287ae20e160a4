package testenv

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// StallProxy is a TCP proxy to a real server (the Temporal dev server) that
// can stop forwarding: while stalled, connections stay open and bytes are
// accepted but not passed on, as a hung server behaves. Resume passes what
// was held and goes on.
type StallProxy struct {
	Addr string
	ln   net.Listener
	mu   sync.Mutex
	cond *sync.Cond
	// stalled says whether bytes are held; held counts bytes read while
	// stalled (a client has called into the stall).
	stalled bool
	held    int64
	conns   []net.Conn
}

// NewStallProxy listens on a loopback port and forwards to target; it closes
// at the test's end.
func NewStallProxy(t testing.TB, target string) *StallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &StallProxy{Addr: ln.Addr().String(), ln: ln}
	p.cond = sync.NewCond(&p.mu)
	go p.accept(target)
	t.Cleanup(p.close)
	return p
}

// Stall stops forwarding.
func (p *StallProxy) Stall() {
	p.mu.Lock()
	p.stalled, p.held = true, 0
	p.mu.Unlock()
}

// Resume forwards again, held bytes first.
func (p *StallProxy) Resume() {
	p.mu.Lock()
	p.stalled = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Held is how many bytes clients sent since Stall that were not forwarded.
func (p *StallProxy) Held() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// Stalled reports whether the proxy holds bytes back now.
func (p *StallProxy) Stalled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalled
}

func (p *StallProxy) close() {
	p.ln.Close()
	p.Resume()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

func (p *StallProxy) accept(target string) {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go p.pipe(out, in, true)
		go p.pipe(in, out, false)
	}
}

// pipe copies src to dst, holding each chunk while the proxy is stalled.
func (p *StallProxy) pipe(dst, src net.Conn, fromClient bool) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if p.stalled && fromClient {
				p.held += int64(n)
			}
			for p.stalled {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = src.Close()
			}
			return
		}
	}
}
