-- name: InsertChatThread :one
INSERT INTO chat_threads (user_id, title, project_id, tracer_id)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: GetChatThread :one
-- Another user's thread matches nothing, exactly like a missing one.
SELECT * FROM chat_threads WHERE id = $1 AND user_id = $2;

-- name: ListChatThreads :many
SELECT * FROM chat_threads
WHERE user_id = sqlc.arg(user_id)
  AND (sqlc.narg(project_id)::text IS NULL OR project_id = sqlc.narg(project_id)::text)
  AND (sqlc.narg(tracer_id)::text IS NULL OR tracer_id = sqlc.narg(tracer_id)::text)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: UpdateChatThread :one
UPDATE chat_threads SET title = $3, tracer_id = $4, updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING *;

-- name: DeleteChatThread :execrows
DELETE FROM chat_threads WHERE id = $1 AND user_id = $2;

-- name: InsertChatMessage :one
-- The thread's count and updated_at move in the same statement, so a list
-- never shows a count that disagrees with the messages.
WITH bump AS (
    UPDATE chat_threads SET message_count = message_count + 1, updated_at = now()
    WHERE chat_threads.id = sqlc.arg(thread_id)
    RETURNING chat_threads.id
)
INSERT INTO chat_messages (thread_id, role, content, tool_calls, tool_call_id, input_tokens, output_tokens)
SELECT bump.id, sqlc.arg(role), sqlc.arg(content), sqlc.narg(tool_calls), sqlc.narg(tool_call_id),
       sqlc.narg(input_tokens), sqlc.narg(output_tokens)
FROM bump
RETURNING *;

-- name: ListChatMessages :many
SELECT * FROM chat_messages WHERE thread_id = $1 ORDER BY seq LIMIT sqlc.arg(row_limit);

-- name: DeleteExpiredStreamSlots :exec
DELETE FROM chat_stream_slots WHERE user_id = $1 AND expires_at < now();

-- name: ClaimStreamSlot :one
-- The lowest free slot below the cap; no row when all are taken. Two claims
-- racing for one slot: the loser's insert does nothing and it sees no row.
INSERT INTO chat_stream_slots (user_id, slot, stream_id, expires_at)
SELECT sqlc.arg(user_id), s.slot, sqlc.arg(stream_id), now() + make_interval(secs => sqlc.arg(lease_seconds)::int)
FROM generate_series(0, sqlc.arg(max_slots)::int - 1) AS s(slot)
WHERE NOT EXISTS (SELECT 1 FROM chat_stream_slots c WHERE c.user_id = sqlc.arg(user_id) AND c.slot = s.slot)
ORDER BY s.slot LIMIT 1
ON CONFLICT DO NOTHING
RETURNING slot;

-- name: ReleaseStreamSlot :exec
DELETE FROM chat_stream_slots WHERE user_id = $1 AND stream_id = $2;

-- name: GetTokenUsage :one
-- Today is the database's UTC day, for every process alike.
SELECT COALESCE((SELECT tokens FROM chat_token_usage
                 WHERE user_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date), 0)::bigint AS tokens;

-- name: AddTokenUsage :exec
INSERT INTO chat_token_usage (user_id, day, tokens) VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2)
ON CONFLICT (user_id, day) DO UPDATE SET tokens = chat_token_usage.tokens + EXCLUDED.tokens;
