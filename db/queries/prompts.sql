-- name: LockUserPrompts :exec
-- Serializes one user's prompt creations (transaction-scoped), so two at
-- once can't both pass the per-user cap.
SELECT pg_advisory_xact_lock(hashtextextended('prompts:' || sqlc.arg(user_id)::uuid::text, 0));

-- name: InsertPrompt :one
-- No row when the user already has max_prompts prompts.
INSERT INTO prompts (user_id, title, content, tags)
SELECT sqlc.arg(user_id)::uuid, sqlc.arg(title)::text, sqlc.arg(content)::text, sqlc.arg(tags)::text[]
WHERE (SELECT count(*) FROM prompts p WHERE p.user_id = sqlc.arg(user_id)::uuid) < sqlc.arg(max_prompts)::int
RETURNING *;

-- name: GetPrompt :one
-- Another user's prompt matches nothing, exactly like a missing one.
SELECT * FROM prompts WHERE id = $1 AND user_id = $2;

-- name: ListPrompts :many
SELECT * FROM prompts
WHERE user_id = sqlc.arg(user_id)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: UpdatePrompt :one
UPDATE prompts SET title = $3, content = $4, tags = $5, updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING *;

-- name: DeletePrompt :execrows
DELETE FROM prompts WHERE id = $1 AND user_id = $2;
