-- name: ListSelfBilledAmounts :many
-- Credits each payout's app received from its own vendor's installs
-- (reservations whose user owns the app), settled on reservations made
-- after the wallet's previous payout request and up to this one.
SELECT p.id AS payout_id, COALESCE(sum(r.settled), 0)::bigint AS self_billed
FROM payouts p
JOIN apps a ON a.id = p.app_id
JOIN reservations r ON r.app_wallet_id = p.wallet_id AND r.user_id = a.owner_user_id AND r.settled > 0
    AND r.created_at <= p.created_at
    AND r.created_at > COALESCE((SELECT max(q.created_at) FROM payouts q
        WHERE q.wallet_id = p.wallet_id AND q.created_at < p.created_at), '-infinity'::timestamptz)
WHERE p.id = ANY(sqlc.arg(payout_ids)::uuid[])
GROUP BY p.id;
