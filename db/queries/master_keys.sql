-- name: InsertMasterKey :one
INSERT INTO master_keys (user_id, key_hash, key_prefix) VALUES ($1, $2, $3) RETURNING id;

-- name: ListActiveMasterKeyHashes :many
SELECT key_hash FROM master_keys WHERE user_id = $1 AND revoked_at IS NULL;

-- name: RevokeMasterKeys :exec
UPDATE master_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL;

-- name: RevokeOldestMasterKeys :exec
-- Keeps the newest keep active keys of a user and revokes the rest.
UPDATE master_keys SET revoked_at = now()
WHERE id IN (
    SELECT mk.id FROM master_keys mk
    WHERE mk.user_id = $1 AND mk.revoked_at IS NULL
    ORDER BY mk.created_at DESC, mk.id DESC
    OFFSET sqlc.arg(keep)
);
