package stripesim

import (
	"fmt"
	"time"
)

// charge is the part of a Charge that refund and dispute events carry.
type charge struct {
	ID                   string               `json:"id"`
	Object               string               `json:"object"`
	Amount               int64                `json:"amount"`
	AmountCaptured       int64                `json:"amount_captured"`
	AmountRefunded       int64                `json:"amount_refunded"`
	Captured             bool                 `json:"captured"`
	Created              int64                `json:"created"`
	Currency             string               `json:"currency"`
	Disputed             bool                 `json:"disputed"`
	Livemode             bool                 `json:"livemode"`
	Metadata             map[string]string    `json:"metadata"`
	Paid                 bool                 `json:"paid"`
	PaymentIntent        string               `json:"payment_intent"`
	PaymentMethod        *string              `json:"payment_method"`
	PaymentMethodDetails *chargeMethodDetails `json:"payment_method_details"`
	Refunded             bool                 `json:"refunded"`
	Status               string               `json:"status"`
}

type chargeMethodDetails struct {
	Type string      `json:"type"`
	Card cardDetails `json:"card"`
}

// dispute is a Dispute as charge.dispute.created carries it.
type dispute struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Amount        int64             `json:"amount"`
	Charge        string            `json:"charge"`
	Created       int64             `json:"created"`
	Currency      string            `json:"currency"`
	Livemode      bool              `json:"livemode"`
	Metadata      map[string]string `json:"metadata"`
	PaymentIntent string            `json:"payment_intent"`
	Reason        string            `json:"reason"`
	Status        string            `json:"status"`
}

// chargeOf returns the charge of a succeeded PaymentIntent, as Stripe shows
// it now. Caller holds s.mu.
func (s *Server) chargeOf(piID string) (*charge, string, error) {
	pi, account, found := findAnyAccount[paymentIntent](s, piID)
	if !found {
		return nil, "", fmt.Errorf("stripesim: no payment intent %q", piID)
	}
	if pi.Status != statusSucceeded || pi.LatestCharge == nil {
		return nil, "", fmt.Errorf("stripesim: payment intent %s is %s, not charged", piID, pi.Status)
	}
	ch := &charge{ID: *pi.LatestCharge, Object: "charge", Amount: pi.Amount, AmountCaptured: pi.Amount, Captured: true,
		Created: pi.Created, Currency: pi.Currency, Metadata: pi.Metadata, Paid: true, PaymentIntent: pi.ID,
		PaymentMethod: pi.PaymentMethod, Status: "succeeded", AmountRefunded: s.refunded[pi.ID]}
	if pm := pi.paymentMethod; pm != nil {
		ch.PaymentMethodDetails = &chargeMethodDetails{Type: "card", Card: pm.Card}
	}
	ch.Refunded = ch.AmountRefunded == ch.Amount
	return ch, account, nil
}

// Refund refunds cents more of a succeeded PaymentIntent's charge (as a
// refund from the Stripe dashboard does) and returns the charge.refunded
// event Stripe sends: its charge carries the cumulative amount_refunded.
func (s *Server) Refund(piID string, cents int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, account, err := s.chargeOf(piID)
	if err != nil {
		return nil, err
	}
	if cents <= 0 || ch.AmountRefunded+cents > ch.Amount {
		return nil, fmt.Errorf("stripesim: refund of %d cents exceeds what is left of %d", cents, ch.Amount-ch.AmountRefunded)
	}
	if s.refunded == nil {
		s.refunded = map[string]int64{}
	}
	s.refunded[piID] += cents
	ch.AmountRefunded = s.refunded[piID]
	ch.Refunded = ch.AmountRefunded == ch.Amount
	return newEvent("charge.refunded", ch, account), nil
}

// Dispute opens a dispute of cents on a succeeded PaymentIntent's charge (the
// cardholder's bank does this) and returns the charge.dispute.created event.
func (s *Server) Dispute(piID string, cents int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, account, err := s.chargeOf(piID)
	if err != nil {
		return nil, err
	}
	d := &dispute{ID: newID("dp"), Object: "dispute", Amount: cents, Charge: ch.ID, Created: time.Now().Unix(),
		Currency: ch.Currency, Metadata: map[string]string{}, PaymentIntent: piID, Reason: "fraudulent", Status: "needs_response"}
	return newEvent("charge.dispute.created", d, account), nil
}
