-- name: InsertOutboxRow :one
INSERT INTO outbox (kind, workflow_id, workflow_type, signal_name, task_queue, input, allow_rerun, join_running, not_before, attributes)
VALUES (sqlc.arg(kind), sqlc.arg(workflow_id), sqlc.narg(workflow_type), sqlc.narg(signal_name), sqlc.arg(task_queue),
        sqlc.narg(input), sqlc.arg(allow_rerun), sqlc.arg(join_running), COALESCE(sqlc.narg(not_before)::timestamptz, now()),
        sqlc.narg(attributes))
RETURNING id;

-- name: LeaseOutboxRows :many
-- Leases the oldest due rows no relay holds (or whose lease has passed), in a
-- short transaction of its own: the relay calls Temporal after it commits. A
-- row waits while an older row of its workflow is still in the outbox, so a
-- signal never overtakes its workflow's start.
UPDATE outbox AS o SET lease_until = now() + sqlc.arg(lease)::interval, attempts = o.attempts + 1
WHERE o.id IN (
    SELECT c.id FROM outbox c
    WHERE c.not_before <= now()
      AND (c.lease_until IS NULL OR c.lease_until < now())
      AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.workflow_id = c.workflow_id AND e.id < c.id)
    ORDER BY c.id
    LIMIT sqlc.arg(row_limit)
    FOR UPDATE SKIP LOCKED
)
RETURNING o.id, o.kind, o.workflow_id, o.workflow_type, o.signal_name, o.task_queue, o.input, o.allow_rerun, o.join_running, o.attempts,
          o.attributes;

-- name: DeleteOutboxRow :exec
DELETE FROM outbox WHERE id = $1;

-- name: OutboxRowExists :one
-- Whether a row still waits to be relayed (a request that waits for its start).
SELECT EXISTS (SELECT 1 FROM outbox WHERE id = $1);

-- name: ListOutboxRowsOfWorkflow :many
SELECT * FROM outbox WHERE workflow_id = $1 ORDER BY id LIMIT 100;

-- name: CountOutboxRows :one
SELECT count(*) FROM outbox;

-- name: RetryOutboxRowAfter :exec
-- A relay failed to relay the row: it becomes due again after the backoff
-- instead of the whole lease.
UPDATE outbox SET lease_until = now() + sqlc.arg(backoff)::interval WHERE id = sqlc.arg(id);
