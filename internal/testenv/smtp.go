package testenv

import (
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"

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
type SMTPServer struct {
	URL string // smtp://127.0.0.1:port

	mu    sync.Mutex
	inbox []Mail
}

// StartSMTP runs an SMTP server for the test.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	box := &SMTPServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: box}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	box.URL = "smtp://" + l.Addr().String()
	return box
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
	s.box.inbox = append(s.box.inbox, Mail{From: s.from, To: s.to, Msg: msg, Body: string(body)})
	s.box.mu.Unlock()
	return nil
}
