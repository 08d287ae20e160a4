-- name: LockPurchaseVelocity :exec
-- Serializes velocity claims of one user or one card (a transaction-level
-- advisory lock, released at commit; no network call happens under it).
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(lock_key)::text, 0));

-- name: GetPurchaseAttempt :one
SELECT * FROM purchase_attempts WHERE user_id = $1 AND idempotency_key = $2;

-- name: CountUserPurchaseAttemptsSince :one
SELECT count(*)::int AS attempts, COALESCE(min(created_at), now())::timestamptz AS oldest
FROM purchase_attempts WHERE user_id = $1 AND created_at > sqlc.arg(since)::timestamptz;

-- name: CountCardPurchaseAttemptsSince :one
SELECT count(*)::int AS attempts, COALESCE(min(created_at), now())::timestamptz AS oldest
FROM purchase_attempts WHERE card_fingerprint = $1 AND created_at > sqlc.arg(since)::timestamptz;

-- name: InsertPurchaseAttempt :exec
INSERT INTO purchase_attempts (user_id, idempotency_key, card_fingerprint, created_at) VALUES ($1, $2, $3, $4);
