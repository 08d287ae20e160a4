package api

import (
	"net/http"

	"github.com/officex/officex/internal/payouts"
)

// Bounds of a destination's fields (ids of Stripe and Solana are far shorter).
const maxDestinationField = 255

// destinationInput is a destination as the reference's payout body gives it.
type destinationInput struct {
	Type               string `json:"type"`
	AccountID          string `json:"account_id"`
	ConnectedAccountID string `json:"connected_account_id"`
}

func (d destinationInput) check() error {
	if d.Type == "" || d.AccountID == "" {
		return invalid("destination type and account_id are required")
	}
	if len(d.AccountID) > maxDestinationField || len(d.ConnectedAccountID) > maxDestinationField {
		return invalid("account_id and connected_account_id must be at most %d characters", maxDestinationField)
	}
	return nil
}

// registerPayoutDestination: {type, account_id, connected_account_id?}. A
// Stripe account is checked with Stripe and tied to the caller (another
// vendor's: 409). 201 when registered now, 200 when it already was.
func (s *Server) registerPayoutDestination(w http.ResponseWriter, r *http.Request) error {
	var body destinationInput
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := body.check(); err != nil {
		return err
	}
	d, created, err := s.payouts.RegisterDestination(r.Context(), currentUser(r).ID, body.Type, body.AccountID, body.ConnectedAccountID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	okStatus(w, status, map[string]any{"destination": destinationBody(d)})
	return nil
}

func destinationBody(d payouts.Destination) map[string]any {
	return map[string]any{"destination_id": d.ID, "type": d.Type, "account_id": d.Account,
		"connected_account_id": d.ConnectedAccount, "created_at": d.CreatedAt}
}

// myPayoutDestinations lists the caller's destinations, newest first.
func (s *Server) myPayoutDestinations(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.payouts.ListDestinations(r.Context(), currentUser(r).ID, limit+1, after, afterID)
	if err != nil {
		return err
	}
	return writePage(w, "destinations", list, limit, noErr(destinationBody),
		func(d payouts.Destination) keysetCursor { return keysetCursor{Created: d.CreatedAt, ID: d.ID} })
}
