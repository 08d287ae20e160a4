package api

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/officex/officex/internal/chargebacks"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/workflows"
)

// stripeWebhook receives Stripe's events, verifies their signature
// (STRIPE_WEBHOOK_SECRET) and forwards payment outcomes to the purchase
// workflow, or credits a purchase we failed that Stripe reports paid after
// all; a bank payout's payout.paid / payout.failed / payout.canceled is
// stored on the payout; refunds and disputes take the purchase's credits
// back. A 5xx makes Stripe deliver again, so nothing is lost.
func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.StripeWebhookSecret == "" {
		return &Error{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)"}
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	event, err := webhook.ConstructEventWithOptions(payload, r.Header.Get("Stripe-Signature"), s.cfg.StripeWebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "INVALID_SECRET", Message: "invalid Stripe signature"}
	}
	if status, isPayout := payoutEvents[string(event.Type)]; isPayout {
		return s.bankPayoutEvent(w, r, event, status)
	}
	var outcome workflows.PaymentOutcome
	switch event.Type {
	case "charge.refunded", "charge.dispute.created":
		return s.stripeReversal(w, r, event)
	case "payment_intent.succeeded":
		outcome.Succeeded = true
	case "payment_intent.payment_failed", "payment_intent.canceled":
		outcome.Code, outcome.Message = "payment_failed", "the payment was not completed"
	default:
		ok(w, map[string]any{"received": true, "handled": false})
		return nil
	}
	var pi stripe.PaymentIntent
	if err := json.Unmarshal(event.Data.Raw, &pi); err != nil || pi.ID == "" {
		return invalid("event data is not a PaymentIntent")
	}
	if pi.LastPaymentError != nil && pi.LastPaymentError.Msg != "" {
		outcome.Message = pi.LastPaymentError.Msg
	}
	handled, err := s.purchases.PaymentOutcome(r.Context(), purchases.PaymentEvent{PaymentIntentID: pi.ID,
		PurchaseID: pi.Metadata["purchase_id"], AmountCents: pi.Amount, Outcome: outcome})
	if err != nil {
		return err
	}
	ok(w, map[string]any{"received": true, "handled": handled})
	return nil
}

// payoutEvents are the Stripe events that decide a bank payout, with the
// status they report.
var payoutEvents = map[string]string{
	"payout.paid":     payouts.BankPaid,
	"payout.failed":   payouts.BankFailed,
	"payout.canceled": payouts.BankCanceled,
}

// bankPayoutEvent stores what Stripe reported first about a bank payout of
// a connected account (event.account); the payout's AwaitBankPayout acts on
// it. Events for payouts that are not ours are received and not handled.
func (s *Server) bankPayoutEvent(w http.ResponseWriter, r *http.Request, event stripe.Event, status string) error {
	var po stripe.Payout
	if err := json.Unmarshal(event.Data.Raw, &po); err != nil || po.ID == "" {
		return invalid("event data is not a Payout")
	}
	handled, err := s.payouts.RecordBankStatus(r.Context(), po.ID, event.Account, status)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"received": true, "handled": handled})
	return nil
}

// stripeReversal takes back the credits of a refunded or disputed charge
// (chargebacks.Service.Record stores the event before acting on it).
func (s *Server) stripeReversal(w http.ResponseWriter, r *http.Request, event stripe.Event) error {
	rev := chargebacks.Reversal{EventID: event.ID}
	if event.Type == "charge.refunded" {
		var ch stripe.Charge
		if err := json.Unmarshal(event.Data.Raw, &ch); err != nil || ch.ID == "" {
			return invalid("event data is not a Charge")
		}
		rev.Kind, rev.ChargeID, rev.AmountCents = chargebacks.KindRefund, ch.ID, ch.AmountRefunded
		if ch.PaymentIntent != nil {
			rev.PaymentIntentID = ch.PaymentIntent.ID
		}
	} else {
		var d stripe.Dispute
		if err := json.Unmarshal(event.Data.Raw, &d); err != nil || d.ID == "" || d.Charge == nil {
			return invalid("event data is not a Dispute")
		}
		rev.Kind, rev.ChargeID, rev.DisputeID, rev.AmountCents = chargebacks.KindDispute, d.Charge.ID, d.ID, d.Amount
		if d.PaymentIntent != nil {
			rev.PaymentIntentID = d.PaymentIntent.ID
		}
	}
	out, err := s.chargebacks.Record(r.Context(), rev)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"received": true, "handled": out.Handled})
	return nil
}
