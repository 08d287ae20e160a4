package testenv

import (
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one message an SMTPServer received.
type Mail struct {
	From string
	To   []string
	Msg  *mail.Message
	Body string
}

// SMTPServer is a real SMTP server on loopback that keeps what it receives.
// Tests can make it refuse or delay messages to one recipient.
type SMTPServer struct {
	URL string // smtp://127.0.0.1:port

	mu     sync.Mutex
	inbox  []Mail
	refuse map[string]int           // recipient -> messages still to refuse (4xx)
	delay  map[string]time.Duration // recipient -> time taken to accept each message
}

// StartSMTP runs an SMTP server for the test.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	box, stop, err := startSMTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return box
}

func startSMTP() (*SMTPServer, func(), error) {
	box := &SMTPServer{refuse: map[string]int{}, delay: map[string]time.Duration{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: box}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = srv.Serve(l) }()
	box.URL = "smtp://" + l.Addr().String()
	return box, func() { _ = srv.Close() }, nil
}

// Refuse makes the server refuse the next n messages to recipient with a
// temporary error (a mail server that is down for a while).
func (s *SMTPServer) Refuse(recipient string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[recipient] = n
}

// Delay makes the server take d to accept each message to recipient (a slow
// mail server).
func (s *SMTPServer) Delay(recipient string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[recipient] = d
}

// To returns what has arrived so far for recipient.
func (s *SMTPServer) To(recipient string) []Mail {
	var out []Mail
	for _, m := range s.Messages() {
		if len(m.To) == 1 && m.To[0] == recipient {
			out = append(out, m)
		}
	}
	return out
}

// Messages returns what has arrived so far.
func (s *SMTPServer) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.inbox...)
}

type smtpSession struct {
	box  *SMTPServer
	from string
	to   []string
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *smtpSession) Reset()                                      { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error                               { return nil }

func (s *smtpSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	var wait time.Duration
	for _, to := range s.to {
		if s.box.refuse[to] > 0 {
			s.box.refuse[to]--
			s.box.mu.Unlock()
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		wait = max(wait, s.box.delay[to])
	}
	s.box.mu.Unlock()
	time.Sleep(wait) // the slow server of Delay
	s.box.mu.Lock()
	s.box.inbox = append(s.box.inbox, Mail{From: s.from, To: s.to, Msg: msg, Body: string(body)})
	s.box.mu.Unlock()
	return nil
}
