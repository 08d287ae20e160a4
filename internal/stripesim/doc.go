// Package stripesim is a Stripe test-mode simulator: an http.Handler that
// speaks the small part of Stripe's REST API that OfficeX calls, and decides
// every outcome from Stripe's documented test tokens and test PaymentMethods,
// the way Stripe's own test mode does.
//
// It is for development and tests only, never production: it moves no money,
// keeps its state in memory, and accepts any sk_test_ key. Tests mount it with
// httptest; `officex dev` serves it when no STRIPE_SECRET_KEY is configured so
// a newcomer can buy credits locally with tok_visa. stripe-mock (Stripe's own
// mock) is the reference for request shapes, but it always answers fixtures;
// this simulator is the one that answers outcomes.
//
// # Endpoints
//
//	POST /v1/payment_methods                 type=card, card[token]=tok_*
//	POST /v1/payment_intents                 amount, currency, confirm, payment_method, ...
//	GET  /v1/payment_intents/{id}
//	POST /v1/payment_intents/{id}/confirm    payment_method
//	POST /v1/payment_intents/{id}/cancel     cancellation_reason
//	POST /v1/transfers                       amount, currency, destination=acct_*, ...
//	GET  /v1/transfers                       limit, transfer_group, destination (one page, newest first)
//	GET  /v1/transfers/{id}
//	POST /v1/payouts                         amount, currency, destination=ba_*|card_*, ...
//	GET  /v1/payouts/{id}
//	GET  /v1/payment_methods/{id}
//	GET  /v1/accounts/{id}                   any acct_+16 alnum exists but acct_gone... (404)
//
// Requests authenticate with `Authorization: Bearer sk_test_...` (or basic
// auth with the key as user name). Bodies are form-encoded as Stripe expects.
// A parameter the simulator does not simulate is refused with
// parameter_unknown rather than silently ignored, so a test never passes on
// behaviour the simulator did not model. Objects belong to the account of
// the Stripe-Account header they were created under, as on Stripe.
//
// # Test cards
//
// Each card is usable as a token tok_<name> (to POST /v1/payment_methods) and
// as a ready PaymentMethod pm_card_<name> (directly as payment_method). As on
// Stripe, a pm_card_<name> is cloned into a new pm_ object per use.
//
//	succeed: status succeeded, latest_charge ch_..., amount_received = amount
//	  visa 4242, visa_debit 5556, mastercard 4444, mastercard_debit 8210,
//	  mastercard_prepaid 5100, amex 8431, discover 1117, diners 0004,
//	  jcb 0505, unionpay 0005
//	decline: HTTP 402 card_error                 code / decline_code
//	  chargeDeclined, visa_chargeDeclined 0002    card_declined / generic_decline
//	  [visa_]chargeDeclinedInsufficientFunds 9995 card_declined / insufficient_funds
//	  [visa_]chargeDeclinedLostCard 9987          card_declined / lost_card
//	  [visa_]chargeDeclinedStolenCard 9979        card_declined / stolen_card
//	  visa_chargeDeclinedVelocityLimitExceeded 6975 card_declined / card_velocity_exceeded
//	  chargeDeclinedFraudulent, radarBlock 0019   card_declined / fraudulent
//	  chargeDeclinedExpiredCard 0069              expired_card / expired_card
//	  chargeDeclinedIncorrectCvc 0127             incorrect_cvc / incorrect_cvc
//	  chargeDeclinedProcessingError 0119          processing_error / processing_error
//	3D Secure: status requires_action, next_action use_stripe_sdk, until
//	Server.CompleteAction authenticates (succeeded) or fails it
//	  threeDSecure2Required 3220, threeDSecureRequired 3063,
//	  authenticationRequired 3184, authenticationRequiredOnSetup 3155
//	  authenticationRequiredChargeDeclinedInsufficientFunds 3178: declined
//	  (insufficient_funds) once authenticated
//
// A decline answers HTTP 402 with Stripe's card_error body (payment_intent
// included, status requires_payment_method, last_payment_error set).
// confirm=false leaves the PaymentIntent in requires_confirmation, or
// requires_payment_method when it has no payment method.
//
// # Forced Connect failures
//
//	transfer destination acct_fail...            400 insufficient_capabilities_for_transfer
//	transfer destination not acct_+16 alnum       400 resource_missing "No such destination"
//	payout destination ba_fail... / card_fail...  created pending; SettlePayout fails it
//	                                              (account_closed, event payout.failed)
//	payout destination not ba_... / card_...      400 resource_missing
//	account acct_gone... (GET /v1/accounts)       404 resource_missing
//
// Payouts are created pending, as on Stripe; SettlePayout moves one to paid
// (or failed) and returns the payout.paid / payout.failed event.
//
// # Idempotency
//
// An Idempotency-Key on a POST replays the first response (status, body and
// Request-Id, with Idempotent-Replayed: true) without acting twice. Reusing the
// key with other parameters or on another endpoint answers 400
// idempotency_error. As on Stripe, only requests that began executing are
// saved (2xx and 402 card errors); a request refused for bad parameters may
// be retried with the same key. Keys are kept for 24 hours.
//
// # Faults and the clock
//
// InjectFault makes matching requests (method and path prefix) fail for a
// number of times or until removed: DropResponse runs the request and then
// closes the connection unanswered (the object exists, the caller never
// learns it), Status answers a Stripe error (400/404 resource_missing, other
// statuses api_error) without running it. Advance moves the simulator's
// clock, so saved idempotency keys expire as they do after 24 hours.
//
// # Webhooks
//
// CompleteAction and SettlePayout return the Stripe Event JSON for the state
// change; SignPayload builds a Stripe-Signature header for it that stripe-go's
// webhook.ConstructEvent accepts.
//
// # Limits
//
// The server stores at most MaxObjects objects (payment methods, intents,
// transfers, payouts, saved idempotent responses); past that, requests that
// could store more answer 503 and a fresh Server is needed. Request bodies,
// string parameters, metadata and the request log are bounded too.
package stripesim
