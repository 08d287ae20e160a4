-- name: InsertWebhookDelivery :exec
INSERT INTO webhook_deliveries (id, app_id, install_id, event, payload, status) VALUES ($1, $2, $3, $4, $5, $6);

-- name: GetWebhookDelivery :one
SELECT * FROM webhook_deliveries WHERE id = $1;

-- name: CountWebhookAttempt :one
-- Counts an attempt; a delivered webhook stays delivered.
UPDATE webhook_deliveries
SET attempts = attempts + 1, last_status = sqlc.narg(status_code), last_error = sqlc.narg(error),
    status = CASE WHEN sqlc.arg(delivered)::bool THEN 'delivered' ELSE status END,
    delivered_at = CASE WHEN sqlc.arg(delivered)::bool THEN COALESCE(delivered_at, now()) ELSE delivered_at END,
    updated_at = now()
WHERE id = sqlc.arg(id)
RETURNING attempts;

-- name: InsertWebhookAttempt :exec
INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5);

-- name: SetWebhookDeliveryStatus :exec
UPDATE webhook_deliveries SET status = $2, updated_at = now() WHERE id = $1 AND status <> 'delivered';

-- name: ListWebhookDeliveriesOfApp :many
SELECT * FROM webhook_deliveries WHERE app_id = $1
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: ListWebhookAttempts :many
SELECT * FROM webhook_attempts WHERE delivery_id = ANY(sqlc.arg(ids)::uuid[]) ORDER BY delivery_id, id;

-- name: LockWebhookDelivery :one
-- Serialises redeliveries of one delivery (held for a short transaction).
SELECT id FROM webhook_deliveries WHERE id = $1 FOR UPDATE;
