-- name: LockUserSchedules :one
-- Serialises schedule creation of one user, so the per-user cap holds under
-- concurrent requests.
SELECT id FROM users WHERE id = $1 FOR UPDATE;

-- name: CountUserSchedules :one
SELECT count(*)::int FROM chat_schedules WHERE user_id = $1 AND deleted_at IS NULL;

-- name: InsertChatSchedule :one
-- The reconciler leaves the row to the request that wrote it for grace_seconds.
INSERT INTO chat_schedules (user_id, title, prompt, system_prompt, cron, interval_seconds, timezone,
                            tracer_id, project_id, include_apps, paused, sync_next_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(secs => sqlc.arg(grace_seconds)::int))
RETURNING *;

-- name: GetChatSchedule :one
-- Another user's schedule, or one being deleted, matches nothing.
SELECT * FROM chat_schedules WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL;

-- name: GetChatScheduleForUpdate :one
SELECT * FROM chat_schedules WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL FOR UPDATE;

-- name: GetChatScheduleByID :one
-- Any schedule, deleted or not (the worker's view).
SELECT * FROM chat_schedules WHERE id = $1;

-- name: ListChatSchedules :many
SELECT * FROM chat_schedules
WHERE user_id = sqlc.arg(user_id) AND deleted_at IS NULL
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: UpdateChatSchedule :one
UPDATE chat_schedules
SET title = $3, prompt = $4, system_prompt = $5, cron = $6, interval_seconds = $7, timezone = $8,
    tracer_id = $9, project_id = $10, include_apps = $11, paused = $12,
    version = version + 1, sync_next_at = now() + make_interval(secs => sqlc.arg(grace_seconds)::int),
    sync_attempts = 0, updated_at = now()
WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL
RETURNING *;

-- name: MarkChatScheduleDeleted :one
UPDATE chat_schedules
SET deleted_at = now(), version = version + 1, sync_next_at = now() + make_interval(secs => sqlc.arg(grace_seconds)::int),
    sync_attempts = 0, updated_at = now()
WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL
RETURNING *;

-- name: ClaimChatScheduleSync :one
-- Takes the sync lease of one pending schedule; no row when it is synced or
-- another applier holds the lease.
UPDATE chat_schedules SET sync_lease_until = now() + make_interval(secs => sqlc.arg(lease_seconds)::int)
WHERE id = sqlc.arg(id) AND synced_version < version
  AND (sync_lease_until IS NULL OR sync_lease_until < now())
RETURNING *;

-- name: ClaimDueChatScheduleSyncs :many
-- The reconciler's batch: pending schedules whose next attempt is due and
-- whose lease is free. Several workers share them with SKIP LOCKED.
UPDATE chat_schedules SET sync_lease_until = now() + make_interval(secs => sqlc.arg(lease_seconds)::int)
WHERE id IN (
    SELECT c.id FROM chat_schedules c
    WHERE c.synced_version < c.version AND c.sync_next_at <= now()
      AND (c.sync_lease_until IS NULL OR c.sync_lease_until < now())
    ORDER BY c.sync_next_at LIMIT sqlc.arg(row_limit)
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: MarkChatScheduleSynced :exec
-- applied is the version the applier read: a change made meanwhile keeps the
-- row pending, for the next attempt.
UPDATE chat_schedules
SET synced_version = GREATEST(synced_version, sqlc.arg(applied)::bigint), sync_lease_until = NULL,
    sync_attempts = 0, sync_error = NULL
WHERE id = sqlc.arg(id);

-- name: DeleteSyncedChatSchedule :execrows
-- The last step of a deletion, once the Temporal Schedule is gone.
DELETE FROM chat_schedules WHERE id = sqlc.arg(id) AND deleted_at IS NOT NULL AND version = sqlc.arg(applied)::bigint;

-- name: FailChatScheduleSync :exec
UPDATE chat_schedules
SET sync_lease_until = NULL, sync_attempts = sync_attempts + 1,
    sync_next_at = now() + make_interval(secs => sqlc.arg(retry_seconds)::int), sync_error = sqlc.arg(error)::text
WHERE id = sqlc.arg(id);

-- name: GetChatScheduleSkipsForUpdate :one
SELECT skips_recorded FROM chat_schedules WHERE id = $1 FOR UPDATE;

-- name: SetChatScheduleSkips :exec
UPDATE chat_schedules SET skips_recorded = $2 WHERE id = $1;

-- name: InsertChatScheduleRun :one
-- Idempotent by run_key: a repeat returns nothing (then GetChatScheduleRunByKey).
INSERT INTO chat_schedule_runs (schedule_id, user_id, run_key, tracer_id, project_id, title, status, error, finished_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (run_key) DO NOTHING
RETURNING *;

-- name: GetChatScheduleRunByKey :one
SELECT * FROM chat_schedule_runs WHERE run_key = $1;

-- name: GetChatScheduleRun :one
SELECT * FROM chat_schedule_runs WHERE id = $1;

-- name: ListChatScheduleRuns :many
-- A schedule's runs, newest first.
SELECT * FROM chat_schedule_runs
WHERE schedule_id = sqlc.arg(schedule_id) AND user_id = sqlc.arg(user_id)
  AND (sqlc.narg(after_started)::timestamptz IS NULL
       OR (started_at, id) < (sqlc.narg(after_started)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY started_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: ListLastChatScheduleRuns :many
-- The latest run of each schedule given.
SELECT DISTINCT ON (schedule_id) * FROM chat_schedule_runs
WHERE schedule_id = ANY(sqlc.arg(schedule_ids)::uuid[])
ORDER BY schedule_id, started_at DESC, id DESC;

-- name: ListChatScheduleRunsByTracer :many
-- A tracer's latest runs (the caller puts them in time order).
SELECT * FROM chat_schedule_runs WHERE user_id = $1 AND tracer_id = $2
ORDER BY started_at DESC, id DESC LIMIT sqlc.arg(row_limit);

-- name: SetChatScheduleRunThread :one
-- The run's thread is set once; a repeat returns nothing.
UPDATE chat_schedule_runs SET thread_id = $2 WHERE id = $1 AND thread_id IS NULL RETURNING thread_id;

-- name: SaveChatScheduleRunReply :exec
UPDATE chat_schedule_runs
SET reply_message_id = $2, reply_excerpt = $3, finish_reason = $4, input_tokens = $5, output_tokens = $6
WHERE id = $1;

-- name: FinishChatScheduleRun :one
-- Only a running run finishes; a repeat returns nothing.
UPDATE chat_schedule_runs SET status = $2, error = $3, finished_at = now()
WHERE id = $1 AND status = 'running'
RETURNING *;

-- name: ResetChatThreadMessages :exec
-- Empties a scheduled run's thread before the agent answers again, so a
-- retried turn leaves one clean conversation.
WITH gone AS (DELETE FROM chat_messages m WHERE m.thread_id = $1)
UPDATE chat_threads t SET message_count = 0, updated_at = now() WHERE t.id = $1;
