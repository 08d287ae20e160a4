-- name: InsertUserWallet :one
INSERT INTO wallets (kind, owner_user_id) VALUES ('user', sqlc.arg(user_id)::uuid) RETURNING *;

-- name: GetUserWallet :one
SELECT * FROM wallet_balances WHERE owner_user_id = sqlc.arg(user_id)::uuid AND kind = 'user';

-- name: ListWalletsOfUser :many
SELECT * FROM wallet_balances WHERE owner_user_id = sqlc.arg(user_id)::uuid ORDER BY created_at, id;

-- name: InsertAppWallet :one
INSERT INTO wallets (kind, owner_user_id) VALUES ('app', sqlc.arg(user_id)::uuid) RETURNING *;
