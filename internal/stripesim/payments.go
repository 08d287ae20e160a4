package stripesim

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// The parameters each endpoint simulates; anything else is refused.
var (
	paymentMethodParams = []string{"type", "card", "metadata"}
	paymentIntentParams = []string{"amount", "currency", "confirm", "payment_method", "payment_method_types",
		"metadata", "description", "receipt_email", "statement_descriptor", "statement_descriptor_suffix",
		"transfer_group", "automatic_payment_methods"}
	cancellationReasons = []string{"duplicate", "fraudulent", "requested_by_customer", "abandoned"}
)

// createPaymentMethod turns a test token (card[token]=tok_*) into a
// PaymentMethod that remembers its test card.
func (s *Server) createPaymentMethod(c *call) reply {
	p := c.params
	if e := firstError(p.rejectUnknown(paymentMethodParams...), p.onlySubkeys("card", "token")); e != nil {
		return failure(e)
	}
	typ, e := p.required("type")
	if e != nil {
		return failure(e)
	}
	if typ != "card" {
		return failure(invalid("parameter_invalid_string", "type", "stripesim simulates only type=card, not %q", typ))
	}
	token, e := p.required("card[token]")
	if e != nil {
		return failure(e)
	}
	card := cardForToken(token)
	if card == nil {
		return failure(errNoSuch(http.StatusBadRequest, "token", token, "card[token]"))
	}
	md, e := p.metadata()
	if e != nil {
		return failure(e)
	}
	return ok(s.newPaymentMethod(card, md, c.account))
}

func (s *Server) getPaymentMethod(c *call) reply {
	if e := c.params.rejectUnknown(); e != nil {
		return failure(e)
	}
	pm, found := find[paymentMethod](s, c.id, c.account)
	if !found {
		card := cardForTestPaymentMethod(c.id)
		if card == nil {
			return failure(errNoSuch(http.StatusNotFound, "PaymentMethod", c.id, "id"))
		}
		pm = s.testPaymentMethod(card, c.id) // Stripe's test pm_card_<name>, read without storing
	}
	return ok(pm)
}

// newPaymentMethod stores a card PaymentMethod for a test card.
func (s *Server) newPaymentMethod(card *testCard, md map[string]string, account string) *paymentMethod {
	pm := s.testPaymentMethod(card, newID("pm"))
	pm.Metadata = md
	s.put(pm.ID, account, pm)
	return pm
}

// testPaymentMethod is a card PaymentMethod of a test card, not stored.
func (s *Server) testPaymentMethod(card *testCard, id string) *paymentMethod {
	return &paymentMethod{
		ID: id, Object: "payment_method", Created: time.Now().Unix(), Type: "card", Metadata: map[string]string{},
		Card: cardDetails{
			Brand: card.brand, Checks: cardChecks{CVCCheck: "unchecked"}, Country: "US",
			ExpMonth: 12, ExpYear: time.Now().Year() + 3, Fingerprint: fingerprint(card),
			Funding: card.funding, Last4: card.last4,
			Networks:          cardNetworks{Available: []string{card.brand}},
			ThreeDSecureUsage: threeDSecureUs{Supported: true},
		},
		testCard: card,
	}
}

// paymentMethodRef is a payment_method parameter checked to exist, not yet
// materialized: a pm_card_* is cloned only once the request is known valid.
type paymentMethodRef struct {
	existing *paymentMethod
	testCard *testCard // for pm_card_<name>
}

func (s *Server) lookupPaymentMethod(id, account string) (*paymentMethodRef, *apiError) {
	if card := cardForTestPaymentMethod(id); card != nil {
		return &paymentMethodRef{testCard: card}, nil
	}
	if pm, found := find[paymentMethod](s, id, account); found {
		return &paymentMethodRef{existing: pm}, nil
	}
	return nil, errNoSuch(http.StatusBadRequest, "PaymentMethod", id, "payment_method")
}

// materialize returns the PaymentMethod, cloning a pm_card_* into a new one
// as Stripe does.
func (s *Server) materialize(ref *paymentMethodRef, account string) *paymentMethod {
	if ref.existing != nil {
		return ref.existing
	}
	return s.newPaymentMethod(ref.testCard, map[string]string{}, account)
}

func (s *Server) createPaymentIntent(c *call) reply {
	pi, e := newPaymentIntent(c.params)
	if e != nil {
		return failure(e)
	}
	confirm, e := c.params.boolean("confirm")
	if e != nil {
		return failure(e)
	}
	var ref *paymentMethodRef
	if id := c.params.get("payment_method"); id != "" {
		if ref, e = s.lookupPaymentMethod(id, c.account); e != nil {
			return failure(e)
		}
	} else if confirm {
		return failure(errMissingPaymentMethod())
	}

	s.put(pi.ID, c.account, pi)
	s.counts.paymentIntents++
	if ref == nil {
		return ok(pi)
	}
	s.attach(pi, s.materialize(ref, c.account))
	if !confirm {
		return ok(pi)
	}
	return s.confirm(pi)
}

// newPaymentIntent validates the creation parameters into an unsaved
// PaymentIntent with no payment method.
func newPaymentIntent(p params) (*paymentIntent, *apiError) {
	if e := p.rejectUnknown(paymentIntentParams...); e != nil {
		return nil, e
	}
	amount, cur, e := p.money(minCharge)
	if e != nil {
		return nil, e
	}
	md, e := p.metadata()
	if e != nil {
		return nil, e
	}
	types, auto, e := paymentMethodTypes(p)
	if e != nil {
		return nil, e
	}
	id := newID("pi")
	return &paymentIntent{
		ID: id, Object: "payment_intent", Amount: amount, Currency: cur, Metadata: md,
		AutomaticPaymentMethods: auto, CaptureMethod: "automatic", ConfirmationMethod: "automatic",
		ClientSecret: id + "_secret_" + randomString(25), Created: time.Now().Unix(),
		Description: p.optionalString("description"), ReceiptEmail: p.optionalString("receipt_email"),
		StatementDescriptor:       p.optionalString("statement_descriptor"),
		StatementDescriptorSuffix: p.optionalString("statement_descriptor_suffix"),
		TransferGroup:             p.optionalString("transfer_group"),
		PaymentMethodTypes:        types, Status: statusRequiresPaymentMethod,
	}, nil
}

// paymentMethodTypes reads payment_method_types[] or
// automatic_payment_methods[enabled]; with neither, Stripe (since API
// 2023-08-16) enables automatic payment methods.
func paymentMethodTypes(p params) ([]string, *automaticPaymentMethods, *apiError) {
	if e := p.onlySubkeys("automatic_payment_methods", "enabled"); e != nil {
		return nil, nil, e
	}
	types := p.list("payment_method_types")
	enabled, e := p.boolean("automatic_payment_methods[enabled]")
	if e != nil {
		return nil, nil, e
	}
	if len(types) > 0 && enabled {
		return nil, nil, invalid("parameters_exclusive", "automatic_payment_methods",
			"You may only specify one of these parameters: automatic_payment_methods, payment_method_types.")
	}
	for _, t := range types {
		if t != "card" {
			return nil, nil, invalid("", "payment_method_types", "stripesim simulates only the card payment method type, not %q", t)
		}
	}
	if len(types) > 0 {
		return types, nil, nil
	}
	return []string{"card"}, &automaticPaymentMethods{Enabled: true}, nil
}

func errMissingPaymentMethod() *apiError {
	return errUnexpectedState("You cannot confirm this PaymentIntent because it's missing a payment method. " +
		"You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.")
}

// attach sets the PaymentIntent's payment method, ready to confirm.
func (s *Server) attach(pi *paymentIntent, pm *paymentMethod) {
	pi.PaymentMethod, pi.paymentMethod = &pm.ID, pm
	pi.Status = statusRequiresConfirmation
}

// confirm charges the attached test card and answers as Stripe does: the
// PaymentIntent, or a 402 card_error carrying it.
func (s *Server) confirm(pi *paymentIntent) reply {
	card := pi.paymentMethod.testCard
	switch card.outcome {
	case outcomeSucceed:
		s.succeed(pi)
	case outcomeAuthenticate:
		pi.Status = statusRequiresAction
		pi.NextAction = &nextAction{Type: "use_stripe_sdk", UseStripeSDK: map[string]any{
			"type": "three_d_secure_redirect", "source": newID("src"),
		}}
	default:
		return failure(s.decline(pi, card.decline))
	}
	return ok(pi)
}

func (s *Server) succeed(pi *paymentIntent) {
	charge := newID("ch")
	pi.Status, pi.LatestCharge, pi.AmountReceived = statusSucceeded, &charge, pi.Amount
	pi.NextAction, pi.LastPaymentError = nil, nil
	s.counts.charges++
}

// decline records a declined charge on the PaymentIntent and returns the
// card_error Stripe answers: the PaymentIntent goes back to
// requires_payment_method, its payment method detached into
// last_payment_error.
func (s *Server) decline(pi *paymentIntent, reason *declineReason) *apiError {
	charge := newID("ch")
	lastErr := errCard(reason)
	lastErr.Charge, lastErr.PaymentMethod = charge, pi.paymentMethod
	s.fail(pi, lastErr)
	pi.LatestCharge = &charge

	e := errCard(reason)
	e.Charge, e.PaymentMethod, e.PaymentIntent = charge, pi.paymentMethod, pi
	return e
}

// fail puts the PaymentIntent back to requires_payment_method with lastErr.
func (s *Server) fail(pi *paymentIntent, lastErr *apiError) {
	pi.Status, pi.PaymentMethod, pi.NextAction, pi.LastPaymentError = statusRequiresPaymentMethod, nil, nil, lastErr
}

func (s *Server) getPaymentIntent(c *call) reply {
	// client_secret is what a publishable-key client sends; it is harmless.
	if e := c.params.rejectUnknown("client_secret"); e != nil {
		return failure(e)
	}
	pi, found := find[paymentIntent](s, c.id, c.account)
	if !found {
		return failure(errNoSuch(http.StatusNotFound, "payment_intent", c.id, "intent"))
	}
	return ok(pi)
}

// confirmPaymentIntent confirms a PaymentIntent created with confirm=false,
// or retries one declined, optionally with a new payment_method.
func (s *Server) confirmPaymentIntent(c *call) reply {
	if e := c.params.rejectUnknown("payment_method"); e != nil {
		return failure(e)
	}
	pi, found := find[paymentIntent](s, c.id, c.account)
	if !found {
		return failure(errNoSuch(http.StatusNotFound, "payment_intent", c.id, "intent"))
	}
	if pi.Status != statusRequiresConfirmation && pi.Status != statusRequiresPaymentMethod {
		return failure(errUnexpectedState("You cannot confirm this PaymentIntent because it has a status of %s.", pi.Status))
	}
	if id := c.params.get("payment_method"); id != "" {
		ref, e := s.lookupPaymentMethod(id, c.account)
		if e != nil {
			return failure(e)
		}
		s.attach(pi, s.materialize(ref, c.account))
	} else if pi.PaymentMethod == nil {
		return failure(errMissingPaymentMethod())
	}
	return s.confirm(pi)
}

func (s *Server) cancelPaymentIntent(c *call) reply {
	if e := c.params.rejectUnknown("cancellation_reason"); e != nil {
		return failure(e)
	}
	reason := c.params.optionalString("cancellation_reason")
	if reason != nil && !slices.Contains(cancellationReasons, *reason) {
		return failure(invalid("", "cancellation_reason", "Invalid cancellation_reason: must be one of %v", cancellationReasons))
	}
	pi, found := find[paymentIntent](s, c.id, c.account)
	if !found {
		return failure(errNoSuch(http.StatusNotFound, "payment_intent", c.id, "intent"))
	}
	if pi.Status == statusSucceeded || pi.Status == statusCanceled {
		return failure(errUnexpectedState("You cannot cancel this PaymentIntent because it has a status of %s. "+
			"Only a PaymentIntent with one of the following statuses may be canceled: "+
			"requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.", pi.Status))
	}
	now := time.Now().Unix()
	pi.Status, pi.CanceledAt, pi.CancellationReason, pi.NextAction = statusCanceled, &now, reason, nil
	return ok(pi)
}

// CompleteAction plays the customer's side of 3D Secure for a PaymentIntent
// in requires_action: authenticated (succeed) it is charged, or declined if
// its test card declines after authentication; failed, it returns to
// requires_payment_method with payment_intent_authentication_failure. It
// returns the Stripe Event (payment_intent.succeeded or
// payment_intent.payment_failed) that Stripe would send to webhooks.
func (s *Server) CompleteAction(piID string, succeed bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, account, found := findAnyAccount[paymentIntent](s, piID)
	if !found {
		return nil, fmt.Errorf("stripesim: no payment intent %q", piID)
	}
	if pi.Status != statusRequiresAction {
		return nil, fmt.Errorf("stripesim: payment intent %s is %s, not %s", piID, pi.Status, statusRequiresAction)
	}
	after := pi.paymentMethod.testCard.decline
	switch {
	case !succeed:
		e := invalid("payment_intent_authentication_failure", "",
			"The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.")
		e.PaymentMethod = pi.paymentMethod
		s.fail(pi, e)
	case after != nil:
		s.decline(pi, after)
	default:
		s.succeed(pi)
	}
	typ := "payment_intent.succeeded"
	if pi.Status != statusSucceeded {
		typ = "payment_intent.payment_failed"
	}
	return newEvent(typ, pi, account), nil
}

// firstError returns the first non-nil error.
func firstError(errs ...*apiError) *apiError {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
