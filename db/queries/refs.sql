-- name: LockUserRefs :exec
-- Serializes one user's ref creations (transaction-scoped), so two at once
-- can't both pass the per-user cap.
SELECT pg_advisory_xact_lock(hashtextextended('refs:' || sqlc.arg(user_id)::uuid::text, 0));

-- name: InsertRef :one
-- No row when the user already has max_refs live refs; a taken slug (live
-- or deleted) is a unique violation of refs_slug_key.
INSERT INTO refs (slug, user_id, title, content, messages, source_thread_id)
SELECT sqlc.arg(slug)::text, sqlc.arg(user_id)::uuid, sqlc.arg(title)::text, sqlc.narg(content)::text,
       sqlc.narg(messages)::jsonb, sqlc.narg(source_thread_id)::uuid
WHERE (SELECT count(*) FROM refs r WHERE r.user_id = sqlc.arg(user_id)::uuid AND r.deleted_at IS NULL)
      < sqlc.arg(max_refs)::int
RETURNING *;

-- name: GetRef :one
-- The owner's view; another user's ref matches nothing, like a missing one.
SELECT * FROM refs WHERE slug = $1 AND user_id = $2 AND deleted_at IS NULL;

-- name: GetPublicRef :one
-- The public view selects only what anyone may see. A suspended user's refs
-- are hidden while the suspension lasts.
SELECT r.slug, r.title, r.content, r.messages, r.created_at FROM refs r
JOIN users u ON u.id = r.user_id
WHERE r.slug = $1 AND r.deleted_at IS NULL AND u.status = 'active';

-- name: ListRefs :many
-- The owner's list: a summary of each ref, without its content.
SELECT id, slug, title, (messages IS NOT NULL)::bool AS is_thread, source_thread_id, created_at FROM refs
WHERE user_id = sqlc.arg(user_id) AND deleted_at IS NULL
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: DeleteRef :execrows
-- Erases the ref and keeps its row as a tombstone that holds the slug.
UPDATE refs SET deleted_at = now(), title = '', content = NULL, messages = NULL, source_thread_id = NULL
WHERE slug = $1 AND user_id = $2 AND deleted_at IS NULL;

-- name: GetThreadTitleForRef :one
-- The thread a ref is made from; another user's matches nothing.
SELECT title FROM chat_threads WHERE id = $1 AND user_id = $2;

-- name: ListThreadMessagesForRef :many
-- What a ref copies of a thread: user and assistant messages with text, in
-- order. Tool calls and tool results are left out (they carry app data).
SELECT role, content, created_at FROM chat_messages
WHERE thread_id = $1 AND role IN ('user', 'assistant') AND content <> ''
ORDER BY seq LIMIT sqlc.arg(row_limit);
