-- name: GetInstallForBilling :one
-- Everything reserve and settle need to know about the calling install, in one
-- read: the install, its app, the user's wallet, and the status of the user
-- billed and of the vendor owning the app (suspended accounts don't bill).
SELECT i.id, i.user_id, i.app_id, i.secret_hash, i.status, a.status AS app_status,
       a.wallet_id AS app_wallet_id, w.id AS user_wallet_id,
       u.status AS user_status, v.status AS vendor_status
FROM installs i
JOIN apps a ON a.id = i.app_id
JOIN wallets w ON w.owner_user_id = i.user_id AND w.kind = 'user'
JOIN users u ON u.id = i.user_id
JOIN users v ON v.id = a.owner_user_id
WHERE i.id = $1;

-- name: GetActiveInstallIDOfUserApp :one
SELECT id FROM installs WHERE user_id = $1 AND app_id = $2 AND status = 'active';

-- name: GetReserveRefusal :one
-- Why billing_reserve (migration 00023) refused: the install's limits and current window counts.
SELECT status, allowed_until, (extract(epoch FROM now()))::bigint AS now_unix,
       lifetime_spend_limit, spend_committed, max_per_hour, max_per_day, max_per_month,
       (CASE WHEN hour_start = date_trunc('hour', now(), 'UTC') THEN hour_count ELSE 0 END)::int AS hour_used,
       (CASE WHEN day_start = date_trunc('day', now(), 'UTC') THEN day_count ELSE 0 END)::int AS day_used,
       (CASE WHEN month_start = date_trunc('month', now(), 'UTC') THEN month_count ELSE 0 END)::int AS month_used,
       (date_trunc('hour', now(), 'UTC') + interval '1 hour')::timestamptz AS hour_ends,
       (date_trunc('day', now(), 'UTC') + interval '1 day')::timestamptz AS day_ends,
       (date_trunc('month', now(), 'UTC') + interval '1 month')::timestamptz AS month_ends
FROM installs WHERE id = $1;

-- name: GetInstallUsage :one
SELECT (CASE WHEN hour_start = date_trunc('hour', now(), 'UTC') THEN hour_count ELSE 0 END)::int AS hour_used,
       (CASE WHEN day_start = date_trunc('day', now(), 'UTC') THEN day_count ELSE 0 END)::int AS day_used,
       (CASE WHEN month_start = date_trunc('month', now(), 'UTC') THEN month_count ELSE 0 END)::int AS month_used
FROM installs WHERE id = $1;

-- name: GetReservationByJob :one
SELECT * FROM reservations WHERE install_id = $1 AND job_id = $2;

-- name: GetReservationByJobForUpdate :one
SELECT * FROM reservations WHERE install_id = $1 AND job_id = $2 FOR UPDATE;

-- name: GetReservation :one
SELECT * FROM reservations WHERE id = $1;

-- name: GetReservationForUpdate :one
SELECT * FROM reservations WHERE id = $1 FOR UPDATE;

-- name: ListOpenReservationIDsOfInstall :many
SELECT id FROM reservations WHERE install_id = $1 AND status IN ('reserved', 'partial') ORDER BY id;

-- name: ListReservationEvents :many
SELECT * FROM reservation_events WHERE reservation_id = $1 ORDER BY id LIMIT 1000;

-- name: ListWalletReservations :many
-- A wallet's reservations, newest first: outgoing (user wallet) or incoming (app wallet).
SELECT * FROM reservations
WHERE CASE WHEN sqlc.arg(incoming)::bool THEN app_wallet_id ELSE user_wallet_id END = sqlc.arg(wallet_id)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: ListAppInboxEvents :many
SELECT e.*, r.job_id, r.install_id, r.user_id, r.status AS reservation_status
FROM reservation_events e JOIN reservations r ON r.id = e.reservation_id
WHERE e.app_id = sqlc.arg(app_id)
  AND (NOT sqlc.arg(unacked_only)::bool OR e.acked_at IS NULL)
  AND (sqlc.narg(before_id)::bigint IS NULL OR e.id < sqlc.narg(before_id))
ORDER BY e.id DESC
LIMIT sqlc.arg(row_limit);

-- name: AckReservationEvent :one
UPDATE reservation_events SET acked_at = COALESCE(acked_at, now()) WHERE id = $1 AND app_id = $2 RETURNING id;
