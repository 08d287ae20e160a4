-- name: DeleteEmailChangesTo :exec
-- Ends every pending change to an address (the newest request replaces them).
DELETE FROM email_changes WHERE new_email = $1;

-- name: UpsertEmailChange :exec
-- The user's pending change, replacing the user's earlier one.
INSERT INTO email_changes (user_id, new_email) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET new_email = EXCLUDED.new_email, requested_at = now();

-- name: GetEmailChangeForUpdate :one
SELECT * FROM email_changes WHERE user_id = $1 FOR UPDATE;

-- name: DeleteEmailChange :exec
DELETE FROM email_changes WHERE user_id = $1;

-- name: RevokeMasterKeysCounted :execrows
-- RevokeMasterKeys that says how many keys it revoked (for the answer).
UPDATE master_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL;

-- name: ClearUserPassword :exec
UPDATE users SET password_hash = NULL, updated_at = now() WHERE id = $1;

-- name: ConfirmUserEmail :one
-- The address was proven by a code sent to it: it takes effect, verified.
UPDATE users SET email = sqlc.arg(email), email_verified = TRUE, updated_at = now() WHERE id = sqlc.arg(id) RETURNING *;
