-- name: InsertUser :one
INSERT INTO users (email, email_verified) VALUES ($1, $2) RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = $1;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE lower(email) = lower(sqlc.arg(email));

-- name: MarkUserEmailVerified :exec
UPDATE users SET email_verified = TRUE, updated_at = now() WHERE id = $1;

-- name: UpdateUserPassword :exec
UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1;

-- name: UpdateUserStatus :one
UPDATE users SET status = $2, updated_at = now() WHERE id = $1 RETURNING *;

-- name: ListUsers :many
-- Newest first, keyset-paginated on (created_at, id), with each user's wallet.
SELECT u.id, u.email, u.email_verified, (u.password_hash IS NOT NULL)::bool AS has_password,
       u.status, u.created_at, w.id AS wallet_id
FROM users u JOIN wallets w ON w.owner_user_id = u.id AND w.kind = 'user'
WHERE (sqlc.narg(status)::text IS NULL OR u.status = sqlc.narg(status))
  AND (sqlc.narg(email)::text IS NULL OR lower(u.email) LIKE '%' || lower(sqlc.narg(email)) || '%')
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (u.created_at, u.id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY u.created_at DESC, u.id DESC
LIMIT sqlc.arg(row_limit);
