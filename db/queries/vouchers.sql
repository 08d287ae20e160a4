-- name: InsertVoucher :one
-- The code itself is not stored: code_hash is its HMAC, code_prefix what admins see.
INSERT INTO vouchers (code_hash, code_prefix, amount, max_redemptions, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING *;

-- name: GetVoucherByHash :one
SELECT * FROM vouchers WHERE code_hash = $1;

-- name: GetVoucherByID :one
SELECT * FROM vouchers WHERE id = $1;

-- name: ListVouchers :many
SELECT * FROM vouchers
WHERE (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: UpdateVoucher :one
UPDATE vouchers
SET max_redemptions = COALESCE(sqlc.narg(max_redemptions), max_redemptions),
    expires_at = CASE WHEN sqlc.arg(set_expires)::bool THEN sqlc.narg(expires_at) ELSE expires_at END,
    disabled_at = CASE WHEN sqlc.narg(disabled)::bool IS NULL THEN disabled_at
                       WHEN sqlc.narg(disabled)::bool THEN COALESCE(disabled_at, now()) ELSE NULL END,
    updated_at = now()
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: ClaimVoucherRedemption :one
-- Takes one redemption when the voucher is live; concurrent claims serialise
-- on the row, and the CHECK keeps redemptions within max_redemptions.
UPDATE vouchers SET redemptions = redemptions + 1, updated_at = now()
WHERE id = $1 AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  AND redemptions < max_redemptions
RETURNING amount;

-- name: InsertVoucherRedemption :exec
INSERT INTO voucher_redemptions (id, voucher_id, wallet_id, user_id, amount, journal_transaction_id)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: ListUserVoucherRedemptions :many
SELECT r.*, v.code_prefix, v.expires_at FROM voucher_redemptions r JOIN vouchers v ON v.id = r.voucher_id
WHERE r.user_id = $1 ORDER BY r.created_at DESC LIMIT sqlc.arg(row_limit);

-- name: ListUnsealedVouchers :many
-- Vouchers of earlier versions whose code is still in clear.
SELECT id, code FROM vouchers WHERE code IS NOT NULL ORDER BY id LIMIT sqlc.arg(row_limit);

-- name: SealVoucher :exec
UPDATE vouchers SET code = NULL, code_hash = $2, code_prefix = $3 WHERE id = $1 AND code IS NOT NULL;
