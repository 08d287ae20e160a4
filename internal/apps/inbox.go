package apps

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/officex/officex/db"
	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/auth"
)

// InstallCaller is an app acting for one install, authenticated by its secret.
type InstallCaller struct {
	Install Install
	App     App
}

// AuthenticateInstall checks an install secret. appID and userID are the
// alternative lookup of the reference (x-officex-user-id + x-officex-app-id);
// installID is used when given.
func (s *Service) AuthenticateInstall(ctx context.Context, installID, userID, appID uuid.UUID, secret string) (InstallCaller, error) {
	q := dbgen.New(s.pool)
	var r dbgen.Install
	var err error
	if installID != uuid.Nil {
		r, err = q.GetInstall(ctx, installID)
	} else {
		r, err = q.GetActiveInstallOfUserApp(ctx, dbgen.GetActiveInstallOfUserAppParams{UserID: userID, AppID: appID})
	}
	if db.IsNotFound(err) && installID == uuid.Nil {
		return InstallCaller{}, ErrInvalidSecret // as a wrong secret: no probing who installed what
	}
	if db.IsNotFound(err) {
		return InstallCaller{}, ErrInstallNotFound
	}
	if err != nil {
		return InstallCaller{}, fmt.Errorf("get install: %w", err)
	}
	if len(secret) > auth.MaxSecretLength || subtle.ConstantTimeCompare(auth.Hash(secret), r.SecretHash) != 1 {
		return InstallCaller{}, ErrInvalidSecret
	}
	if r.Status != "active" {
		return InstallCaller{}, ErrUninstalled
	}
	in, err := s.installFrom(r)
	if err != nil {
		return InstallCaller{}, err
	}
	a, err := s.Get(ctx, r.AppID.String())
	if err != nil {
		return InstallCaller{}, err
	}
	if a.Status != StatusActive {
		return InstallCaller{}, ErrAppSuspended
	}
	st, err := q.GetInstallAccountStatuses(ctx, r.ID)
	if err != nil {
		return InstallCaller{}, fmt.Errorf("account statuses of install %s: %w", r.ID, err)
	}
	if err := CheckAccountStatuses(st.UserStatus, st.VendorStatus); err != nil {
		return InstallCaller{}, err
	}
	return InstallCaller{Install: in, App: a}, nil
}

// Inbox limits (the reference's title and text; ids and links ours).
const (
	MaxInboxIDLen    = 200
	MaxInboxTitleLen = 200
	MaxInboxTextLen  = 2000
)

// ErrMessageNotFound is an unknown inbox message of the user.
var ErrMessageNotFound = errors.New("message not found")

// Message is an inbox message to a user, from an app or, with AppID nil,
// from OfficeX itself (a scheduled run's answer).
type Message struct {
	ID, ExternalID, Title, Text string
	URL, Icon                   *string
	AppID                       *uuid.UUID
	AppName                     string
	Read                        bool
	CreatedAt                   time.Time
}

// SendMessage posts to the install's user inbox, once per app, user and id:
// a repeat answers the first message's id with deduplicated true.
func (s *Service) SendMessage(ctx context.Context, c InstallCaller, m Message) (uuid.UUID, bool, error) {
	switch {
	case m.ExternalID == "" || utf8.RuneCountInString(m.ExternalID) > MaxInboxIDLen:
		return uuid.Nil, false, invalidf("id must be 1-%d characters", MaxInboxIDLen)
	case m.Title == "" || utf8.RuneCountInString(m.Title) > MaxInboxTitleLen:
		return uuid.Nil, false, invalidf("title must be 1-%d characters", MaxInboxTitleLen)
	case m.Text == "" || utf8.RuneCountInString(m.Text) > MaxInboxTextLen:
		return uuid.Nil, false, invalidf("text must be 1-%d characters", MaxInboxTextLen)
	}
	if err := checkURL("url", m.URL, s.opt.AllowPrivateURLs); err != nil {
		return uuid.Nil, false, err
	}
	if err := checkURL("icon", m.Icon, s.opt.AllowPrivateURLs); err != nil {
		return uuid.Nil, false, err
	}
	q := dbgen.New(s.pool)
	id, err := q.InsertInboxMessage(ctx, dbgen.InsertInboxMessageParams{UserID: c.Install.UserID, AppID: c.App.ID,
		InstallID: uuid.NullUUID{UUID: c.Install.ID, Valid: true}, ExternalID: m.ExternalID, Title: m.Title, Body: m.Text, Url: m.URL, Icon: m.Icon})
	if db.IsNotFound(err) { // ON CONFLICT DO NOTHING: sent before
		id, err = q.GetInboxMessageByExternalID(ctx, dbgen.GetInboxMessageByExternalIDParams{AppID: c.App.ID,
			UserID: c.Install.UserID, ExternalID: m.ExternalID})
		return id, true, err
	}
	return id, false, err
}

// ListMessages lists a user's inbox, newest first.
func (s *Service) ListMessages(ctx context.Context, user uuid.UUID, unreadOnly bool, limit int, afterCreated *time.Time, afterID uuid.UUID) ([]Message, error) {
	rows, err := dbgen.New(s.pool).ListInboxMessages(ctx, dbgen.ListInboxMessagesParams{UserID: user, UnreadOnly: unreadOnly,
		RowLimit: int32(limit), AfterCreated: afterCreated, AfterID: uuid.NullUUID{UUID: afterID, Valid: afterCreated != nil}})
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = Message{ID: r.ID.String(), ExternalID: r.ExternalID, Title: r.Title, Text: r.Body, URL: r.Url, Icon: r.Icon,
			AppName: r.AppName, Read: r.ReadAt != nil, CreatedAt: r.CreatedAt}
		if r.AppID.Valid {
			out[i].AppID = &r.AppID.UUID
		}
	}
	return out, nil
}

// ErrNotYourMessage is another user's inbox message.
var ErrNotYourMessage = errors.New("this message belongs to another user")

// MarkRead marks one of the user's messages read.
func (s *Service) MarkRead(ctx context.Context, user, id uuid.UUID) error {
	q := dbgen.New(s.pool)
	owner, err := q.GetInboxMessageOwner(ctx, id)
	if db.IsNotFound(err) {
		return ErrMessageNotFound
	}
	if err != nil {
		return err
	}
	if owner != user {
		return ErrNotYourMessage
	}
	_, err = q.MarkInboxMessageRead(ctx, dbgen.MarkInboxMessageReadParams{ID: id, UserID: user})
	return err
}
