package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/ledger"
)

type ctxBillingKey struct{}

// billingAuth is installSecret for the hot billing routes: one database read.
func (s *Server) billingAuth(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		installID, userID, appID, secret, err := installCredentials(r)
		if err != nil {
			return err
		}
		c, err := s.billing.Authenticate(r.Context(), installID, userID, appID, secret)
		if err != nil {
			return err
		}
		return next(w, r.WithContext(context.WithValue(r.Context(), ctxBillingKey{}, c)))
	}
}

func billingCaller(r *http.Request) billing.Caller {
	c, _ := r.Context().Value(ctxBillingKey{}).(billing.Caller)
	return c
}

// reserve: {amount, job_id, metadata?, timeout_seconds?}.
func (s *Server) reserve(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Amount         *ledger.Credits `json:"amount"`
		JobID          string          `json:"job_id"`
		Metadata       json.RawMessage `json:"metadata"`
		TimeoutSeconds *int            `json:"timeout_seconds"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Amount == nil {
		return invalid("amount is required")
	}
	req := billing.ReserveRequest{Amount: *body.Amount, JobID: body.JobID, Metadata: body.Metadata}
	if string(body.Metadata) == "null" {
		req.Metadata = nil
	}
	if body.TimeoutSeconds != nil {
		if *body.TimeoutSeconds < 1 {
			return invalid("timeout_seconds must be at least 1")
		}
		req.Timeout = time.Duration(*body.TimeoutSeconds) * time.Second
	}
	res, err := s.billing.Reserve(r.Context(), billingCaller(r), req)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"reservation_id": res.PublicID(), "amount_reserved": res.Amount, "expires_at": res.ExpiresAt})
	return nil
}

type settleBody struct {
	ReservationID *string         `json:"reservation_id"`
	Amount        *ledger.Credits `json:"amount"`
	Final         bool            `json:"final"`
}

func (s *Server) settle(w http.ResponseWriter, r *http.Request, reservationID string, body settleBody) error {
	if body.Amount == nil {
		return invalid("amount is required")
	}
	res, err := s.billing.Settle(r.Context(), billingCaller(r), reservationID, *body.Amount, body.Final)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"reservation_id": res.PublicID(), "settled_amount": res.Settled,
		"remaining_reserved": res.Remaining(), "refunded_amount": res.Refunded, "status": res.Status})
	return nil
}

// settleByBody is POST /settle {reservation_id, amount, final?}.
func (s *Server) settleByBody(w http.ResponseWriter, r *http.Request) error {
	var body settleBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.ReservationID == nil {
		return invalid("reservation_id is required")
	}
	return s.settle(w, r, *body.ReservationID, body)
}

// settleByPath is POST /reservations/{id}/settle {amount, final?}.
func (s *Server) settleByPath(w http.ResponseWriter, r *http.Request) error {
	var body settleBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.ReservationID != nil {
		return invalid("reservation_id belongs in the path")
	}
	return s.settle(w, r, mux.Vars(r)["id"], body)
}

func (s *Server) cancelReservation(w http.ResponseWriter, r *http.Request) error {
	res, refunded, err := s.billing.Cancel(r.Context(), billingCaller(r), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"reservation_id": res.PublicID(), "refunded_amount": refunded, "status": res.Status})
	return nil
}

func reservationBody(res billing.Reservation, events []billing.Event) map[string]any {
	body := map[string]any{"reservation_id": res.PublicID(), "id": res.ID, "job_id": res.JobID, "install_id": res.InstallID,
		"app_id": res.AppID, "user_id": res.UserID, "amount": res.Amount, "settled": res.Settled, "refunded": res.Refunded,
		"remaining": res.Remaining(), "status": res.Status, "metadata": res.Metadata, "created_at": res.CreatedAt,
		"expires_at": res.ExpiresAt, "closed_at": res.ClosedAt}
	if events != nil {
		hist := make([]map[string]any, len(events))
		for i, e := range events {
			hist[i] = map[string]any{"log_id": e.LogID, "kind": e.Kind, "amount": e.Amount, "created_at": e.CreatedAt}
		}
		body["events"] = hist
	}
	return body
}

func (s *Server) getReservation(w http.ResponseWriter, r *http.Request) error {
	res, events, err := s.billing.Get(r.Context(), billingCaller(r), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"reservation": reservationBody(res, events)})
	return nil
}

// walletReservations: ?direction=outgoing (a user wallet) | incoming (an app wallet).
func (s *Server) walletReservations(w http.ResponseWriter, r *http.Request) error {
	wl, err := s.ownWallet(r)
	if err != nil {
		return err
	}
	dir := r.URL.Query().Get("direction")
	if dir == "" {
		dir = map[string]string{"app": "incoming"}[wl.Kind]
		if dir == "" {
			dir = "outgoing"
		}
	}
	if dir != "outgoing" && dir != "incoming" {
		return invalid("direction must be outgoing or incoming")
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.billing.WalletReservations(r.Context(), wl.ID, dir == "incoming", limit+1, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "reservations", list, limit,
		noErr(func(res billing.Reservation) map[string]any { return reservationBody(res, nil) }),
		func(res billing.Reservation) keysetCursor { return keysetCursor{Created: res.CreatedAt, ID: res.ID} })
}

func (s *Server) walletReservation(w http.ResponseWriter, r *http.Request) error {
	wl, err := s.ownWallet(r)
	if err != nil {
		return err
	}
	id, err := pathUUID(r, "resv_id", billing.ErrReservationNotFound)
	if err != nil {
		return err
	}
	res, events, err := s.billing.GetByID(r.Context(), id)
	if err != nil {
		return err
	}
	if res.UserWallet != wl.ID && res.AppWallet != wl.ID {
		return billing.ErrReservationNotFound
	}
	ok(w, map[string]any{"reservation": reservationBody(res, events)})
	return nil
}

// appInbox is the vendor's log of reservation events: ?unacknowledged=true&limit=&cursor=.
func (s *Server) appInbox(w http.ResponseWriter, r *http.Request) error {
	a, err := s.apps.GetOwned(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"])
	if err != nil {
		return err
	}
	limit := DefaultPageSize
	if raw := r.URL.Query().Get("limit"); raw != "" {
		if limit, err = strconv.Atoi(raw); err != nil || limit < 1 || limit > MaxPageSize {
			return invalid("limit must be an integer from 1 to %d", MaxPageSize)
		}
	}
	var before int64
	if raw := r.URL.Query().Get("cursor"); raw != "" {
		if before, err = strconv.ParseInt(raw, 10, 64); err != nil || before < 1 {
			return invalid("cursor is not valid; use the next_cursor of a previous page")
		}
	}
	unacked := r.URL.Query().Get("unacknowledged") == "true"
	events, err := s.billing.AppInbox(r.Context(), a.ID, unacked, limit+1, before)
	if err != nil {
		return err
	}
	more := len(events) > limit
	events = events[:min(len(events), limit)]
	out := make([]map[string]any, len(events))
	for i, e := range events {
		out[i] = map[string]any{"log_id": e.LogID, "event": e.Kind, "amount": e.Amount, "created_at": e.CreatedAt,
			"acknowledged": e.Acked, "reservation_id": e.Reservation.PublicID(), "install_id": e.Reservation.InstallID,
			"user_id": e.Reservation.UserID, "reservation_status": e.Reservation.Status}
	}
	page := map[string]any{"next_cursor": nil, "has_more": more}
	if more {
		page["next_cursor"] = strconv.FormatInt(events[len(events)-1].LogID, 10)
	}
	ok(w, map[string]any{"reservations": out, "pagination": page})
	return nil
}

func (s *Server) ackAppInbox(w http.ResponseWriter, r *http.Request) error {
	a, err := s.apps.GetOwned(r.Context(), currentUser(r).ID, mux.Vars(r)["app_id"])
	if err != nil {
		return err
	}
	logID, err := strconv.ParseInt(mux.Vars(r)["log_id"], 10, 64)
	if err != nil {
		return billing.ErrEventNotFound
	}
	if err := s.billing.Ack(r.Context(), a.ID, logID); err != nil {
		return err
	}
	ok(w, nil)
	return nil
}
