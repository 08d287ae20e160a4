-- name: InsertMailMessage :one
-- A message, in the caller's transaction (mailout enqueues its workflow start
-- in the outbox in the same transaction).
INSERT INTO mail_messages (recipient, subject, body_sealed, expires_at)
VALUES (sqlc.arg(recipient), sqlc.arg(subject), sqlc.arg(body_sealed), sqlc.narg(expires_at))
RETURNING id;

-- name: GetMailMessage :one
SELECT * FROM mail_messages WHERE id = $1;

-- name: MarkMailSent :exec
UPDATE mail_messages SET status = 'sent', sent_at = now(), body_sealed = NULL, attempts = attempts + 1, last_error = NULL
WHERE id = $1 AND status = 'pending';

-- name: MarkMailExpired :exec
UPDATE mail_messages SET status = 'expired', body_sealed = NULL WHERE id = $1 AND status = 'pending';

-- name: RecordMailFailure :exec
UPDATE mail_messages SET attempts = attempts + 1, last_error = sqlc.arg(last_error) WHERE id = sqlc.arg(id) AND status = 'pending';

-- name: CountMailTo :one
-- Messages written for a recipient (tests and operators; never an API answer).
SELECT count(*)::int FROM mail_messages WHERE recipient = $1;
