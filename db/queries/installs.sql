-- name: InsertInstall :one
INSERT INTO installs (id, app_id, user_id, secret_hash, secret_enc, max_per_hour, max_per_day, max_per_month, allowed_until)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: GetInstall :one
SELECT * FROM installs WHERE id = $1;

-- name: GetInstallAccountStatuses :one
-- The status of an install's user and of its app's vendor (install-secret auth).
SELECT u.status AS user_status, v.status AS vendor_status
FROM installs i
JOIN apps a ON a.id = i.app_id
JOIN users u ON u.id = i.user_id
JOIN users v ON v.id = a.owner_user_id
WHERE i.id = $1;

-- name: GetInstallForUpdate :one
SELECT * FROM installs WHERE id = $1 FOR UPDATE;

-- name: GetActiveInstallOfUserApp :one
SELECT * FROM installs WHERE user_id = $1 AND app_id = $2 AND status = 'active';

-- name: ListInstallsOfUser :many
SELECT i.*, a.slug, (a.profile->>'name')::text AS app_name FROM installs i JOIN apps a ON a.id = i.app_id
WHERE i.user_id = $1 AND i.status = 'active'
ORDER BY i.installed_at DESC, i.id DESC LIMIT sqlc.arg(row_limit);

-- name: ListInstallsOfApp :many
SELECT * FROM installs WHERE app_id = $1
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (installed_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY installed_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: ListActiveInstallIDsOfApp :many
SELECT id FROM installs WHERE app_id = $1 AND status = 'active';

-- name: UpdateInstallLimits :one
UPDATE installs SET max_per_hour = $2, max_per_day = $3, max_per_month = $4, allowed_until = $5,
    lifetime_spend_limit = $6, updated_at = now()
WHERE id = $1 RETURNING *;

-- name: UpdateInstallSecret :execrows
UPDATE installs SET secret_hash = $2, secret_enc = $3, secret_rotated_at = now(), updated_at = now()
WHERE id = $1 AND status = 'active';

-- name: UpdateInstallAgentContext :execrows
-- Only an active install takes a context: an INSTALL answer arriving after
-- the uninstall is dropped (one conditional write, no read-then-write race).
UPDATE installs SET agent_context_enc = $2, updated_at = now() WHERE id = $1 AND status = 'active';

-- name: UninstallInstall :one
UPDATE installs SET status = 'uninstalled', uninstalled_at = now(), updated_at = now()
WHERE id = $1 AND status = 'active' RETURNING *;
