-- name: InsertApp :one
INSERT INTO apps (id, owner_user_id, wallet_id, slug, profile, webhook_secret_enc)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: GetApp :one
SELECT * FROM apps WHERE id = $1;

-- name: GetAppForUpdate :one
SELECT * FROM apps WHERE id = $1 FOR UPDATE;

-- name: GetAppBySlug :one
SELECT * FROM apps WHERE slug = $1;

-- name: SlugTaken :one
SELECT EXISTS (SELECT 1 FROM apps WHERE slug = $1);

-- name: UpdateAppProfile :one
UPDATE apps SET profile = $2, updated_at = now() WHERE id = $1 RETURNING *;

-- name: UpdateAppWebhookSecret :exec
UPDATE apps SET webhook_secret_enc = $2, updated_at = now() WHERE id = $1;

-- name: UpdateAppStatus :one
UPDATE apps SET status = sqlc.arg(status)::text, updated_at = now(),
    deleted_at = CASE WHEN sqlc.arg(status)::text = 'deleted' THEN now() ELSE deleted_at END
WHERE id = sqlc.arg(id) RETURNING *;

-- name: ListAppsOfOwner :many
SELECT * FROM apps WHERE owner_user_id = $1 AND status <> 'deleted'
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: ListCatalogApps :many
-- Active apps, newest first, filtered by category, tag and text.
SELECT * FROM apps
WHERE status = 'active'
  AND (sqlc.narg(category)::text IS NULL OR lower(profile->>'category') = lower(sqlc.narg(category)))
  AND (sqlc.narg(tag)::text IS NULL OR profile->'tags' ? sqlc.narg(tag))
  AND (sqlc.narg(search)::text IS NULL
       OR profile->>'name' ILIKE '%' || sqlc.narg(search) || '%'
       OR profile->>'subtitle' ILIKE '%' || sqlc.narg(search) || '%'
       OR profile->>'description' ILIKE '%' || sqlc.narg(search) || '%')
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: ListAllApps :many
SELECT * FROM apps
WHERE (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: LockAppsOfOwner :exec
-- Serialises app registrations of one owner, so concurrent ones can't pass
-- the per-vendor limit together.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(owner_user_id)::text, 43));

-- name: CountAppsEverOfOwner :one
-- Every app the owner registered, deleted ones too: deleting an app frees no
-- room, so a vendor can't churn through apps (each a wallet, a slug, a secret).
SELECT count(*) FROM apps WHERE owner_user_id = $1;
