-- name: InsertStripeReversalEvent :exec
-- Stores what Stripe said before anything acts on it; a redelivered event
-- id is kept as first stored.
INSERT INTO stripe_reversal_events (event_id, kind, charge_id, payment_intent_id, dispute_id, amount_cents, purchase_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (event_id) DO NOTHING;

-- name: GetReversedCentsOfPurchase :one
-- How many cents of a purchase's payment Stripe reports reversed: the
-- largest cumulative amount_refunded seen, plus each distinct dispute's
-- amount (the largest seen per dispute), at most the purchase's amount.
SELECT LEAST(
    COALESCE((SELECT max(r.amount_cents) FROM stripe_reversal_events r
        WHERE r.purchase_id = sqlc.arg(purchase)::uuid AND r.kind = 'refund'), 0)
  + COALESCE((SELECT sum(d.amount) FROM (SELECT max(e.amount_cents) AS amount FROM stripe_reversal_events e
        WHERE e.purchase_id = sqlc.arg(purchase)::uuid AND e.kind = 'dispute' GROUP BY e.dispute_id) d), 0),
    sqlc.arg(charged_cents)::bigint)::bigint AS reversed_cents;

-- name: SetCreditPurchaseReversed :exec
UPDATE credit_purchases SET reversed_amount = $2, updated_at = now() WHERE id = $1;

-- name: MarkReversalEventsProcessed :exec
UPDATE stripe_reversal_events SET processed_at = now() WHERE purchase_id = $1 AND processed_at IS NULL;

-- name: AddPaymentHoldDebt :one
-- Suspends a user's purchases (again) and adds debt to the hold.
INSERT INTO payment_holds (user_id, debt, reason) VALUES ($1, $2, $3)
ON CONFLICT (user_id) DO UPDATE
SET debt = payment_holds.debt + EXCLUDED.debt, active = TRUE, reason = EXCLUDED.reason, updated_at = now()
RETURNING *;

-- name: GetPaymentHold :one
SELECT * FROM payment_holds WHERE user_id = $1;

-- name: GetPaymentHoldForUpdate :one
SELECT * FROM payment_holds WHERE user_id = $1 FOR UPDATE;

-- name: GetActivePaymentHold :one
-- The hot path's check (reserve, purchase): one primary-key read.
SELECT debt, reason FROM payment_holds WHERE user_id = $1 AND active;

-- name: ClearPaymentHold :one
UPDATE payment_holds SET debt = 0, active = FALSE, clears = clears + 1, updated_at = now()
WHERE user_id = $1 AND active
RETURNING *;
