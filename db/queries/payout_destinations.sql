-- name: GetPayoutDestination :one
SELECT * FROM payout_destinations WHERE id = $1;

-- name: FindPayoutDestination :one
SELECT * FROM payout_destinations
WHERE user_id = $1 AND type = $2 AND account_id = $3 AND connected_account_id = $4;

-- name: InsertPayoutDestination :one
-- A destination registered again is the same one (ON CONFLICT answers it).
INSERT INTO payout_destinations (user_id, type, account_id, connected_account_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT ON CONSTRAINT payout_destinations_once DO UPDATE SET user_id = EXCLUDED.user_id
RETURNING *;

-- name: ListPayoutDestinations :many
SELECT * FROM payout_destinations WHERE user_id = $1
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: GetConnectedAccountOwner :one
SELECT user_id FROM stripe_connected_accounts WHERE account_id = $1;

-- name: ClaimConnectedAccount :one
-- Ties a Stripe-verified connected account to the vendor; the account's
-- owner is answered either way, and a different owner means it is taken.
WITH ins AS (
    INSERT INTO stripe_connected_accounts (account_id, user_id) VALUES ($1, $2)
    ON CONFLICT (account_id) DO NOTHING
    RETURNING user_id
)
SELECT user_id FROM ins
UNION ALL
SELECT user_id FROM stripe_connected_accounts WHERE account_id = $1 AND NOT EXISTS (SELECT 1 FROM ins);
