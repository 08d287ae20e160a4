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

-- name: ClaimReserveAllowance :one
-- Counts one reservation in the install's UTC hour, day and month windows and
-- commits its amount against the lifetime limit, only when every limit
-- allows it. The row lock serialises reserves of one install.
UPDATE installs SET
    hour_count  = CASE WHEN hour_start = date_trunc('hour', now(), 'UTC') THEN hour_count + 1 ELSE 1 END,
    hour_start  = date_trunc('hour', now(), 'UTC'),
    day_count   = CASE WHEN day_start = date_trunc('day', now(), 'UTC') THEN day_count + 1 ELSE 1 END,
    day_start   = date_trunc('day', now(), 'UTC'),
    month_count = CASE WHEN month_start = date_trunc('month', now(), 'UTC') THEN month_count + 1 ELSE 1 END,
    month_start = date_trunc('month', now(), 'UTC'),
    spend_committed = spend_committed + sqlc.arg(amount)::bigint
WHERE id = sqlc.arg(id)
  AND status = 'active'
  AND (allowed_until = -1 OR allowed_until > extract(epoch FROM now()))
  AND (lifetime_spend_limit = -1 OR spend_committed + sqlc.arg(amount)::bigint <= lifetime_spend_limit)
  AND (CASE WHEN hour_start = date_trunc('hour', now(), 'UTC') THEN hour_count ELSE 0 END) < max_per_hour
  AND (CASE WHEN day_start = date_trunc('day', now(), 'UTC') THEN day_count ELSE 0 END) < max_per_day
  AND (CASE WHEN month_start = date_trunc('month', now(), 'UTC') THEN month_count ELSE 0 END) < max_per_month
RETURNING id;

-- name: GetReserveRefusal :one
-- Why ClaimReserveAllowance refused: the install's limits and current window counts.
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

-- name: InsertReservation :one
-- The reservation, its 'reserved' event and its outbox row (the start of its
-- ReservationWorkflow, as outbox.Enqueue would write it), in one statement.
-- The start waits a debounce (less when the reservation expires sooner):
-- most reservations close within it, delete the row and never cost Temporal
-- a start and a signal. Its attributes are the workflow's search attributes
-- and memo (workflows.Business): buyer, app, user wallet, amount, status
-- "reserved", and the job id in the memo.
WITH r AS (
    INSERT INTO reservations (install_id, app_id, user_id, user_wallet_id, app_wallet_id, job_id, amount, metadata, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    RETURNING *
), e AS (
    INSERT INTO reservation_events (reservation_id, app_id, kind, amount) SELECT id, app_id, 'reserved', amount FROM r
), o AS (
    INSERT INTO outbox (kind, workflow_id, workflow_type, input, not_before, attributes)
    SELECT 'reservation', 'reservation-' || r.id, 'ReservationWorkflow',
           jsonb_build_object('ReservationID', r.id, 'ExpiresAt', r.expires_at),
           LEAST(now() + sqlc.arg(debounce)::interval, r.expires_at - sqlc.arg(debounce)::interval),
           jsonb_build_object(
               'search', jsonb_build_object('OfficexUserId', r.user_id::text, 'OfficexAppId', r.app_id::text,
                   'OfficexWalletId', r.user_wallet_id::text, 'OfficexAmountMicro', r.amount, 'OfficexStatus', 'reserved'),
               'memo', jsonb_build_object('amount_credits', trim_scale(r.amount::numeric / 1000000)::text,
                   'destination_type', 'ledger', 'summary', 'reservation of job ' || r.job_id))
    FROM r
)
SELECT * FROM r;

-- name: GetReservationByJob :one
SELECT * FROM reservations WHERE install_id = $1 AND job_id = $2;

-- name: GetReservationByJobForUpdate :one
SELECT * FROM reservations WHERE install_id = $1 AND job_id = $2 FOR UPDATE;

-- name: GetReservation :one
SELECT * FROM reservations WHERE id = $1;

-- name: GetReservationForUpdate :one
SELECT * FROM reservations WHERE id = $1 FOR UPDATE;

-- name: UpdateReservationSettlement :one
-- A settle, cancel or expiry in one statement: the reservation's new state,
-- the install's spend, the vendor-inbox event and, when it closes, the
-- outbox change that spares or ends its workflow.
WITH r AS (
    UPDATE reservations AS rv SET settled = rv.settled + sqlc.arg(settle)::bigint, refunded = rv.refunded + sqlc.arg(refund)::bigint,
        sips = rv.sips + (sqlc.arg(settle)::bigint > 0)::int, status = sqlc.arg(status)::text,
        closed_at = CASE WHEN sqlc.arg(status)::text IN ('completed', 'cancelled', 'expired') THEN now() ELSE NULL END
    WHERE rv.id = sqlc.arg(reservation_id)::uuid
    RETURNING rv.*
), i AS (
    UPDATE installs AS ins SET lifetime_spent = ins.lifetime_spent + sqlc.arg(settle)::bigint,
        spend_committed = ins.spend_committed - sqlc.arg(refund)::bigint
    FROM r WHERE ins.id = r.install_id
), e AS (
    INSERT INTO reservation_events (reservation_id, app_id, kind, amount)
    SELECT r.id, r.app_id, sqlc.arg(event)::text, sqlc.arg(event_amount)::bigint FROM r
), d AS (
    -- Closed before any relay took up its start: the start row goes and
    -- Temporal never hears of this reservation. A row a relay has leased is
    -- left alone (the relay may be starting the workflow right now; the
    -- short lease transaction is all this waits for).
    DELETE FROM outbox ob USING r
    WHERE ob.workflow_id = 'reservation-' || r.id AND ob.workflow_type IS NOT NULL
      AND ob.lease_until IS NULL AND r.status <> 'partial'
    RETURNING ob.id
), o AS (
    -- Its workflow runs or is being started: the relay signals it to end,
    -- after the start (rows of one workflow are relayed in order).
    INSERT INTO outbox (kind, workflow_id, signal_name)
    SELECT 'reservation', 'reservation-' || r.id, 'reservation_closed' FROM r
    WHERE r.status <> 'partial' AND NOT EXISTS (SELECT 1 FROM d)
)
SELECT * FROM r;

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
