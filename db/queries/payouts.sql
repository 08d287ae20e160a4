-- name: InsertPayout :one
WITH p AS (
    INSERT INTO payouts (id, app_id, wallet_id, requested_by, amount, payout_amount, destination_type,
        destination_account, connected_account, idempotency_key, request_hash, destination_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    RETURNING *
), e AS (
    INSERT INTO payout_events (payout_id, status, detail) SELECT id, 'pending', 'credits held' FROM p
)
SELECT * FROM p;

-- name: GetPayout :one
SELECT * FROM payouts WHERE id = $1;

-- name: GetPayoutForUpdate :one
SELECT * FROM payouts WHERE id = $1 FOR UPDATE;

-- name: GetPayoutByKey :one
SELECT * FROM payouts WHERE requested_by = $1 AND idempotency_key = $2;

-- name: ApprovePayout :one
UPDATE payouts SET approved_at = now(), updated_at = now()
WHERE id = $1 AND status = 'pending' AND approved_at IS NULL
RETURNING *;

-- name: SetPayoutStatus :one
UPDATE payouts SET status = sqlc.arg(status)::text, updated_at = now(),
    external_ref = COALESCE(sqlc.narg(external_ref), external_ref),
    failure_reason = COALESCE(sqlc.narg(failure_reason), failure_reason)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: InsertPayoutEvent :exec
INSERT INTO payout_events (payout_id, status, detail) VALUES ($1, $2, $3);

-- name: ListPayoutEvents :many
SELECT * FROM payout_events WHERE payout_id = $1 ORDER BY id LIMIT 200;

-- name: SetPayoutSolanaAttempt :exec
-- Recorded before the transaction is sent: after a crash the signature is
-- checked, never a new transaction signed while this one can still land.
UPDATE payouts SET solana_signature = $2, solana_tx = $3, solana_valid_until = $4, updated_at = now()
WHERE id = $1 AND status = 'burned' AND solana_signature IS NULL;

-- name: ClearPayoutSolanaAttempt :exec
UPDATE payouts SET solana_signature = NULL, solana_tx = NULL, solana_valid_until = NULL, updated_at = now()
WHERE id = $1 AND solana_signature = $2;

-- name: ListWalletPayouts :many
SELECT * FROM payouts WHERE wallet_id = $1
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: ListAllPayouts :many
SELECT p.* FROM payouts p LEFT JOIN payout_batches b ON b.id = p.batch_id
WHERE (sqlc.narg(status)::text IS NULL OR p.status = sqlc.narg(status))
  AND (sqlc.narg(period)::text IS NULL OR b.period = sqlc.narg(period))
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (p.created_at, p.id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY p.created_at DESC, p.id DESC LIMIT sqlc.arg(row_limit);

-- name: UpsertPayoutBatch :one
INSERT INTO payout_batches (period, trigger) VALUES ($1, $2)
ON CONFLICT (period) DO UPDATE SET status = 'running', finished_at = NULL
RETURNING *;

-- name: AssignPayoutsToBatch :many
-- Approved payouts waiting for a batch join this one; a payout joins one batch only.
UPDATE payouts SET batch_id = sqlc.arg(batch_id), updated_at = now()
WHERE id IN (SELECT id FROM payouts
             WHERE status = 'pending' AND approved_at IS NOT NULL AND batch_id IS NULL
             ORDER BY created_at LIMIT sqlc.arg(row_limit) FOR UPDATE SKIP LOCKED)
RETURNING id;

-- name: ListBatchPayoutIDs :many
SELECT id FROM payouts WHERE batch_id = $1 ORDER BY created_at;

-- name: FinishPayoutBatch :one
UPDATE payout_batches b SET status = 'completed', finished_at = now(),
    payouts = s.n, completed = s.completed, failed = s.failed, total_credits = s.total
FROM (SELECT count(*)::int AS n,
             (count(*) FILTER (WHERE status = 'completed'))::int AS completed,
             (count(*) FILTER (WHERE status = 'failed'))::int AS failed,
             COALESCE(sum(amount) FILTER (WHERE status = 'completed'), 0)::bigint AS total
      FROM payouts WHERE batch_id = sqlc.arg(id)) s
WHERE b.id = sqlc.arg(id)
RETURNING b.*;

-- name: GetPayoutBatchByPeriod :one
SELECT * FROM payout_batches WHERE period = $1;

-- name: GetAppByWallet :one
SELECT * FROM apps WHERE wallet_id = $1;

-- name: InsertVendorMessage :exec
-- A message to a vendor about a payout, once per payout and outcome.
INSERT INTO inbox_messages (user_id, app_id, external_id, title, body)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT ON CONSTRAINT inbox_messages_once DO NOTHING;

-- name: BeginPayoutStripeCreate :one
-- Notes the first create call with the payout's idempotency key before it is
-- sent, and answers whether one was sent before and how long ago (database
-- clock), so a retry knows whether Stripe still remembers the key.
UPDATE payouts p SET stripe_create_at = COALESCE(old.stripe_create_at, now()), updated_at = now()
FROM (SELECT o.id, o.stripe_create_at FROM payouts o WHERE o.id = sqlc.arg(id) FOR UPDATE) old
WHERE p.id = old.id AND p.status = 'burned' AND p.stripe_id IS NULL
RETURNING (old.stripe_create_at IS NOT NULL)::bool AS sent_before,
    EXTRACT(EPOCH FROM now() - COALESCE(old.stripe_create_at, now()))::float8 AS seconds_since_first;

-- name: SetPayoutStripeID :one
-- Stored by the step that learned it; a different id than the stored one is
-- refused (zero rows): that would be a second payment.
UPDATE payouts SET stripe_id = sqlc.arg(stripe_id), updated_at = now()
WHERE id = sqlc.arg(id) AND (stripe_id IS NULL OR stripe_id = sqlc.arg(stripe_id))
RETURNING stripe_id;

-- name: SetPayoutAlert :exec
UPDATE payouts SET alert = sqlc.arg(alert), alert_at = COALESCE(alert_at, now()), updated_at = now()
WHERE id = sqlc.arg(id);

-- name: ClearPayoutAlert :exec
UPDATE payouts SET alert = NULL, alert_at = NULL, updated_at = now()
WHERE id = $1 AND alert IS NOT NULL;

-- name: ReviewPayout :one
-- An operator's decision on a payout in review: back to burned (with the
-- Stripe object found, or allowed to create anew), clearing the alert.
UPDATE payouts SET status = 'burned', updated_at = now(), alert = NULL, alert_at = NULL,
    stripe_id = COALESCE(sqlc.narg(stripe_id), stripe_id),
    stripe_create_at = CASE WHEN sqlc.arg(forget_create)::bool THEN NULL ELSE stripe_create_at END
WHERE id = sqlc.arg(id) AND status = 'needs_review'
RETURNING *;

-- name: BeginPayoutTransferCreate :one
-- As BeginPayoutStripeCreate, for a bank payout's transfer to its connected
-- account: noted before the first create is sent.
UPDATE payouts p SET transfer_create_at = COALESCE(old.transfer_create_at, now()), updated_at = now()
FROM (SELECT o.id, o.transfer_create_at FROM payouts o WHERE o.id = sqlc.arg(id) FOR UPDATE) old
WHERE p.id = old.id AND p.status = 'burned' AND p.transfer_id IS NULL
RETURNING (old.transfer_create_at IS NOT NULL)::bool AS sent_before,
    EXTRACT(EPOCH FROM now() - COALESCE(old.transfer_create_at, now()))::float8 AS seconds_since_first;

-- name: SetPayoutTransferID :one
-- Stored by the step that learned it; another id than the stored one is
-- refused (zero rows): that would be a second transfer.
UPDATE payouts SET transfer_id = sqlc.arg(transfer_id), updated_at = now()
WHERE id = sqlc.arg(id) AND (transfer_id IS NULL OR transfer_id = sqlc.arg(transfer_id))
RETURNING transfer_id;

-- name: SetPayoutBankStatus :one
-- What Stripe's webhook said first about a bank payout; later events of the
-- same payout change nothing. Matched by the payout id Stripe holds and the
-- connected account it was sent from.
UPDATE payouts SET bank_status = sqlc.arg(bank_status), bank_status_at = now(), updated_at = now()
WHERE stripe_id = sqlc.arg(stripe_id) AND destination_type = 'bank' AND connected_account = sqlc.arg(connected_account)
  AND bank_status IS NULL
RETURNING id;

-- name: GetPayoutByStripeID :one
SELECT * FROM payouts WHERE stripe_id = $1;

-- name: CountBatchPayoutsByStatus :many
-- How far a period's batch is: its payouts by status.
SELECT p.status, count(*)::int AS payouts
FROM payouts p JOIN payout_batches b ON b.id = p.batch_id
WHERE b.period = $1
GROUP BY p.status
ORDER BY p.status;
