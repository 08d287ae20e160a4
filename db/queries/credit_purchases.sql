-- name: InsertCreditPurchase :one
INSERT INTO credit_purchases (id, user_id, wallet_id, amount, amount_cents, idempotency_key, request_hash, payment_method_type)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: GetCreditPurchase :one
SELECT * FROM credit_purchases WHERE id = $1;

-- name: GetCreditPurchaseForUpdate :one
SELECT * FROM credit_purchases WHERE id = $1 FOR UPDATE;

-- name: GetCreditPurchaseByKey :one
SELECT * FROM credit_purchases WHERE user_id = $1 AND idempotency_key = $2;

-- name: GetCreditPurchaseByPaymentIntent :one
SELECT * FROM credit_purchases WHERE stripe_payment_intent_id = $1;

-- name: SetCreditPurchaseRequiresAction :exec
UPDATE credit_purchases
SET status = 'requires_action', stripe_payment_intent_id = $2, client_secret_enc = $3, updated_at = now()
WHERE id = $1 AND status IN ('processing', 'requires_action');

-- name: SetCreditPurchaseIntent :exec
UPDATE credit_purchases SET stripe_payment_intent_id = $2, updated_at = now()
WHERE id = $1 AND stripe_payment_intent_id IS NULL;

-- name: SetCreditPurchaseSucceeded :exec
UPDATE credit_purchases
SET status = 'succeeded', journal_transaction_id = $2, balance_after = $3, updated_at = now()
WHERE id = $1 AND status IN ('processing', 'requires_action');

-- name: SetCreditPurchaseFailed :exec
UPDATE credit_purchases
SET status = 'failed', failure_code = $2, failure_message = $3, updated_at = now()
WHERE id = $1 AND status IN ('processing', 'requires_action');

-- name: SetCreditPurchaseFailedCanceled :exec
-- Fails an open purchase whose PaymentIntent was cancelled, keeping the
-- PaymentIntent id so a success Stripe reports later finds the purchase.
UPDATE credit_purchases
SET status = 'failed', stripe_payment_intent_id = COALESCE(stripe_payment_intent_id, sqlc.arg(payment_intent_id)::text),
    failure_code = sqlc.arg(failure_code), failure_message = sqlc.arg(failure_message), updated_at = now()
WHERE id = sqlc.arg(id) AND status IN ('processing', 'requires_action');

-- name: SetCreditPurchaseSucceededAfterFailure :exec
-- Credits a failed purchase Stripe reports as paid after all; the failure
-- code and message stay as the record of what was believed before.
UPDATE credit_purchases
SET status = 'succeeded', journal_transaction_id = $2, balance_after = $3, updated_at = now()
WHERE id = $1 AND status = 'failed';

-- name: InsertCreditPurchaseToken :exec
INSERT INTO credit_purchase_tokens (purchase_id, token_enc) VALUES ($1, $2);

-- name: GetCreditPurchaseToken :one
SELECT token_enc FROM credit_purchase_tokens WHERE purchase_id = $1;
