// Package mail sends OfficeX's transactional email (one-time codes,
// notifications) over SMTP. It knows nothing of what the messages mean.
package mail

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Sender delivers one plain-text message.
type Sender interface {
	Send(ctx context.Context, to, subject, body string) error
}

// sendTimeout bounds one SMTP conversation.
const sendTimeout = 15 * time.Second

// SMTP sends through the server in an smtp:// or smtps:// URL.
type SMTP struct {
	from   string
	client *gomail.Client
}

// NewSMTP parses rawURL (smtp://user:pass@host:port) into a client.
// smtp:// uses STARTTLS when the server offers it; smtps:// is implicit TLS.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	port := 25
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("SMTP_URL port: %w", err)
		}
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(sendTimeout)}
	if u.Scheme == "smtps" {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	client, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP client: %w", err)
	}
	return &SMTP{from: from, client: client}, nil
}

// Send delivers one message and waits for the server to accept it.
func (s *SMTP) Send(ctx context.Context, to, subject, body string) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := msg.To(to); err != nil {
		return fmt.Errorf("mail to: %w", err)
	}
	msg.Subject(subject)
	msg.SetBodyString(gomail.TypeTextPlain, body)
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	return nil
}

// Disabled is the sender of testing mode: it records that a message was
// suppressed, never its body (which may hold a code).
type Disabled struct{ Log *slog.Logger }

// Send logs and drops the message.
func (d Disabled) Send(_ context.Context, to, subject, _ string) error {
	d.Log.Info("email sending disabled (testing mode)", "subject", subject)
	return nil
}
