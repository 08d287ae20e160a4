package api

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/apps"
)

// Install-secret headers of the reference, in its two forms.
const (
	hdrInstallID     = "X-Officex-Install-Id"
	hdrInstallSecret = "X-Officex-Install-Secret"
	hdrAppID         = "X-Officex-App-Id"
)

type ctxInstallKey struct{}

// installCredentials reads the install-secret headers in either form of the
// reference: x-officex-install-id + secret, or x-officex-user-id +
// x-officex-app-id + secret (installID is then uuid.Nil).
func installCredentials(r *http.Request) (installID, userID, appID uuid.UUID, secret string, err error) {
	secret = r.Header.Get(hdrInstallSecret)
	if secret == "" {
		return uuid.Nil, uuid.Nil, uuid.Nil, "", errUnauthorized
	}
	if raw := r.Header.Get(hdrInstallID); raw != "" {
		if installID, err = uuid.Parse(raw); err != nil {
			return uuid.Nil, uuid.Nil, uuid.Nil, "", apps.ErrInstallNotFound
		}
		return installID, uuid.Nil, uuid.Nil, secret, nil
	}
	if userID, err = uuid.Parse(r.Header.Get(hdrUserID)); err != nil {
		return uuid.Nil, uuid.Nil, uuid.Nil, "", errUnauthorized
	}
	if appID, err = uuid.Parse(r.Header.Get(hdrAppID)); err != nil {
		return uuid.Nil, uuid.Nil, uuid.Nil, "", errUnauthorized
	}
	return uuid.Nil, userID, appID, secret, nil
}

// installSecret authenticates an app acting for one install.
func (s *Server) installSecret(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		installID, userID, appID, secret, err := installCredentials(r)
		if err != nil {
			return err
		}
		caller, err := s.apps.AuthenticateInstall(r.Context(), installID, userID, appID, secret)
		if err != nil {
			return err
		}
		return next(w, r.WithContext(context.WithValue(r.Context(), ctxInstallKey{}, caller)))
	}
}

func currentInstall(r *http.Request) apps.InstallCaller {
	c, _ := r.Context().Value(ctxInstallKey{}).(apps.InstallCaller)
	return c
}

// pathInstallIsCaller checks that {install_id} in the path is the
// authenticated install: an app can't act on another install.
func pathInstallIsCaller(r *http.Request) error {
	if mux.Vars(r)["install_id"] != currentInstall(r).Install.ID.String() {
		return errForbidden
	}
	return nil
}

// installContext merges agent context as the app: {key: value | null}.
func (s *Server) installContext(w http.ResponseWriter, r *http.Request) error {
	if err := pathInstallIsCaller(r); err != nil {
		return err
	}
	return s.mergeContext(w, r, currentInstall(r).Install.ID)
}

// installInbox sends the install's user an inbox message: {id, title, text, url?, icon?}.
func (s *Server) installInbox(w http.ResponseWriter, r *http.Request) error {
	if err := pathInstallIsCaller(r); err != nil {
		return err
	}
	var body struct {
		ID    string  `json:"id"`
		Title string  `json:"title"`
		Text  string  `json:"text"`
		URL   *string `json:"url"`
		Icon  *string `json:"icon"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	id, dup, err := s.apps.SendMessage(r.Context(), currentInstall(r),
		apps.Message{ExternalID: body.ID, Title: body.Title, Text: body.Text, URL: body.URL, Icon: body.Icon})
	if err != nil {
		return err
	}
	if dup {
		ok(w, map[string]any{"message_id": id, "deduplicated": true})
		return nil
	}
	okStatus(w, http.StatusCreated, map[string]any{"message_id": id})
	return nil
}

// myInbox lists the user's messages, newest first: ?unread=true&limit=&cursor=.
func (s *Server) myInbox(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	unread := r.URL.Query().Get("unread")
	if unread != "" && unread != "true" && unread != "false" {
		return invalid("unread must be true or false")
	}
	after, afterID := cursorParts(cursor)
	list, err := s.apps.ListMessages(r.Context(), currentUser(r).ID, unread == "true", limit+1, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "messages", list, limit, noErr(func(m apps.Message) map[string]any {
		var app any // null: a message from OfficeX itself (a scheduled run)
		if m.AppID != nil {
			app = map[string]any{"app_id": *m.AppID, "name": m.AppName}
		}
		return map[string]any{"message_id": m.ID, "id": m.ExternalID, "title": m.Title, "text": m.Text, "url": m.URL,
			"icon": m.Icon, "app": app, "read": m.Read, "created_at": m.CreatedAt}
	}), func(m apps.Message) keysetCursor { return keysetCursor{Created: m.CreatedAt, ID: uuid.MustParse(m.ID)} })
}

func (s *Server) markInboxRead(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "message_id", apps.ErrMessageNotFound)
	if err != nil {
		return err
	}
	if err := s.apps.MarkRead(r.Context(), currentUser(r).ID, id); err != nil {
		return err
	}
	ok(w, map[string]any{"message_id": id, "read": true})
	return nil
}
