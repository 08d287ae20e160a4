-- name: InsertInboxMessage :one
-- Idempotent per app, user and the app's id: a repeat returns nothing.
INSERT INTO inbox_messages (user_id, app_id, install_id, external_id, title, body, url, icon)
VALUES ($1, sqlc.arg(app_id)::uuid, $2, $3, $4, $5, $6, $7)
ON CONFLICT ON CONSTRAINT inbox_messages_once DO NOTHING
RETURNING id;

-- name: GetInboxMessageByExternalID :one
SELECT id FROM inbox_messages WHERE app_id = sqlc.arg(app_id)::uuid AND user_id = $1 AND external_id = $2;

-- name: ListInboxMessages :many
-- Platform messages (no app) are listed with the apps' messages.
SELECT m.*, COALESCE(a.profile->>'name', '')::text AS app_name FROM inbox_messages m LEFT JOIN apps a ON a.id = m.app_id
WHERE m.user_id = $1
  AND (NOT sqlc.arg(unread_only)::bool OR m.read_at IS NULL)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (m.created_at, m.id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY m.created_at DESC, m.id DESC LIMIT sqlc.arg(row_limit);

-- name: MarkInboxMessageRead :one
UPDATE inbox_messages SET read_at = COALESCE(read_at, now()) WHERE id = $1 AND user_id = $2 RETURNING id;

-- name: GetInboxMessageOwner :one
SELECT user_id FROM inbox_messages WHERE id = $1;

-- name: InsertPlatformInboxMessage :exec
-- A message from OfficeX itself (no app), once per user and external id.
INSERT INTO inbox_messages (user_id, external_id, title, body, url)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id, external_id) WHERE app_id IS NULL DO NOTHING;
