-- name: InsertMailMessage :one
-- A message and its outbox row, in the caller's transaction.
WITH m AS (
    INSERT INTO mail_messages (recipient, subject, body_sealed, expires_at)
    VALUES (sqlc.arg(recipient), sqlc.arg(subject), sqlc.arg(body_sealed), sqlc.narg(expires_at))
    RETURNING id
), o AS (
    INSERT INTO mail_outbox (message_id) SELECT id FROM m
)
SELECT id FROM m;

-- name: GetMailMessage :one
SELECT * FROM mail_messages WHERE id = $1;

-- name: MarkMailSent :exec
UPDATE mail_messages SET status = 'sent', sent_at = now(), body_sealed = NULL, attempts = attempts + 1, last_error = NULL
WHERE id = $1 AND status = 'pending';

-- name: MarkMailExpired :exec
UPDATE mail_messages SET status = 'expired', body_sealed = NULL WHERE id = $1 AND status = 'pending';

-- name: RecordMailFailure :exec
UPDATE mail_messages SET attempts = attempts + 1, last_error = sqlc.arg(last_error) WHERE id = sqlc.arg(id) AND status = 'pending';

-- name: ClaimMailOutbox :many
-- The oldest mail outbox rows no other relay holds.
SELECT id, message_id FROM mail_outbox ORDER BY id LIMIT sqlc.arg(row_limit) FOR UPDATE SKIP LOCKED;

-- name: DeleteMailOutbox :exec
DELETE FROM mail_outbox WHERE id = ANY(sqlc.arg(ids)::bigint[]);

-- name: CountMailTo :one
-- Messages written for a recipient (tests and operators; never an API answer).
SELECT count(*)::int FROM mail_messages WHERE recipient = $1;
