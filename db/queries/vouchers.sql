-- name: InsertVoucher :one
INSERT INTO vouchers (code, amount, max_redemptions, expires_at) VALUES ($1, $2, $3, $4) RETURNING *;

-- name: GetVoucher :one
SELECT * FROM vouchers WHERE code = $1;

-- name: ListVouchers :many
SELECT * FROM vouchers
WHERE (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, code) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_code)::text))
ORDER BY created_at DESC, code DESC
LIMIT sqlc.arg(row_limit);

-- name: UpdateVoucher :one
UPDATE vouchers
SET max_redemptions = COALESCE(sqlc.narg(max_redemptions), max_redemptions),
    expires_at = CASE WHEN sqlc.arg(set_expires)::bool THEN sqlc.narg(expires_at) ELSE expires_at END,
    disabled_at = CASE WHEN sqlc.narg(disabled)::bool IS NULL THEN disabled_at
                       WHEN sqlc.narg(disabled)::bool THEN COALESCE(disabled_at, now()) ELSE NULL END,
    updated_at = now()
WHERE code = sqlc.arg(code)
RETURNING *;

-- name: DisableVoucher :one
UPDATE vouchers SET disabled_at = COALESCE(disabled_at, now()), updated_at = now() WHERE code = $1 RETURNING *;

-- name: ClaimVoucherRedemption :one
-- Takes one redemption when the voucher is live; concurrent claims serialise
-- on the row, and the CHECK keeps redemptions within max_redemptions.
UPDATE vouchers SET redemptions = redemptions + 1, updated_at = now()
WHERE code = $1 AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  AND redemptions < max_redemptions
RETURNING amount;

-- name: InsertVoucherRedemption :exec
INSERT INTO voucher_redemptions (id, code, wallet_id, user_id, amount, journal_transaction_id)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: ListUserVoucherRedemptions :many
SELECT r.*, v.expires_at FROM voucher_redemptions r JOIN vouchers v ON v.code = r.code
WHERE r.user_id = $1 ORDER BY r.created_at DESC LIMIT sqlc.arg(row_limit);
