-- name: GetTreasuryWalletID :one
SELECT id FROM wallets WHERE kind = 'treasury';

-- name: GetWallet :one
-- Balances are written only by ledger_post (migration 00022); an app wallet's
-- available credits are its row plus its slots, which the view adds up.
SELECT * FROM wallet_balances WHERE id = $1;

-- name: GetJournalTransactionByReference :one
SELECT * FROM journal_transactions WHERE kind = $1 AND reference = $2;

-- name: ListWalletTransactions :many
-- A wallet's movements, newest first, each with its net change per bucket.
SELECT t.id, t.kind, t.reference, t.actor, t.memo, t.created_at,
       COALESCE(sum(e.amount) FILTER (WHERE e.bucket = 'available'), 0)::bigint AS available_change,
       COALESCE(sum(e.amount) FILTER (WHERE e.bucket = 'reserved'), 0)::bigint AS reserved_change
FROM journal_entries e
JOIN journal_transactions t ON t.id = e.transaction_id
WHERE e.wallet_id = sqlc.arg(wallet_id)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (t.created_at, t.id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
GROUP BY t.id
ORDER BY t.created_at DESC, t.id DESC
LIMIT sqlc.arg(row_limit);

-- name: GetJournalTransaction :one
SELECT * FROM journal_transactions WHERE id = $1;

-- name: ListJournalEntries :many
SELECT * FROM journal_entries WHERE transaction_id = $1 ORDER BY id;

-- name: ListWallets :many
SELECT * FROM wallet_balances
WHERE (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind))
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: GetTreasuryReport :one
-- Movement totals as seen from the treasury, in micro-credits.
SELECT
    (SELECT available FROM wallets WHERE kind = 'treasury')::bigint AS treasury_available,
    COALESCE((SELECT sum(-e.amount) FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
              JOIN wallets w ON w.id = e.wallet_id
              WHERE w.kind = 'treasury' AND t.kind = 'purchase'), 0)::bigint AS credits_bought,
    COALESCE((SELECT sum(-e.amount) FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
              JOIN wallets w ON w.id = e.wallet_id
              WHERE w.kind = 'treasury' AND t.kind = 'voucher'), 0)::bigint AS credits_from_vouchers,
    COALESCE((SELECT sum(-e.amount) FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
              JOIN wallets w ON w.id = e.wallet_id
              WHERE w.kind = 'treasury' AND t.kind = 'adjust'), 0)::bigint AS credits_adjusted,
    COALESCE((SELECT sum(e.amount) FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
              JOIN wallets w ON w.id = e.wallet_id
              WHERE w.kind = 'treasury' AND t.kind IN ('payout_burn', 'payout_restore')), 0)::bigint AS credits_paid_out,
    COALESCE((SELECT sum(reserved) FROM wallets WHERE kind = 'app'), 0)::bigint AS payouts_held,
    COALESCE((SELECT sum(reserved) FROM wallets WHERE kind = 'user'), 0)::bigint AS reserved,
    COALESCE((SELECT sum(available) FROM wallets WHERE kind = 'user'), 0)::bigint AS user_available,
    COALESCE((SELECT sum(available) FROM wallet_balances WHERE kind = 'app'), 0)::bigint AS app_available;

-- name: ListTreasuryMonths :many
-- The treasury's movements by UTC month since since, in micro-credits: the
-- liability's change (minus the treasury's entries) and the credits paid
-- out (payout burns less restores), for the finance console's charts.
SELECT to_char(date_trunc('month', e.created_at AT TIME ZONE 'UTC'), 'YYYY-MM')::text AS month,
       sum(-e.amount)::bigint AS liability_change,
       COALESCE(sum(e.amount) FILTER (WHERE t.kind IN ('payout_burn', 'payout_restore')), 0)::bigint AS paid_out
FROM journal_entries e
JOIN journal_transactions t ON t.id = e.transaction_id
JOIN wallets w ON w.id = e.wallet_id
WHERE w.kind = 'treasury' AND e.created_at >= sqlc.arg(since)::timestamptz
GROUP BY 1
ORDER BY 1;
