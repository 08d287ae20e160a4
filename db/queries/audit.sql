-- name: InsertAudit :exec
INSERT INTO audit_log (actor, action, target_type, target_id, details) VALUES ($1, $2, $3, $4, $5);

-- name: ListAuditEvents :many
-- Admin actions and money movements in one timeline, newest first; the
-- filters (actor, action prefix, target id) are optional.
SELECT * FROM (
    SELECT a.created_at, ('audit:' || a.id::text)::text AS event_id, a.actor, a.action, a.target_type, a.target_id, a.details
    FROM audit_log a
    UNION ALL
    SELECT t.created_at, 'journal:' || t.id::text, t.actor, 'ledger.' || t.kind, 'journal_transaction', t.id::text,
           jsonb_build_object('reference', t.reference, 'memo', t.memo,
               'entries', (SELECT jsonb_agg(jsonb_build_object('wallet_id', e.wallet_id, 'bucket', e.bucket, 'amount', trim_scale(e.amount::numeric / 1000000)) ORDER BY e.id)
                           FROM journal_entries e WHERE e.transaction_id = t.id))
    FROM journal_transactions t
) ev
WHERE (sqlc.narg(after_created)::timestamptz IS NULL
       OR (ev.created_at, ev.event_id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::text))
  AND (sqlc.narg(actor)::text IS NULL OR ev.actor = sqlc.narg(actor)::text)
  AND (sqlc.narg(action_prefix)::text IS NULL OR starts_with(ev.action, sqlc.narg(action_prefix)::text))
  AND (sqlc.narg(target_id)::text IS NULL OR ev.target_id = sqlc.narg(target_id)::text)
ORDER BY ev.created_at DESC, ev.event_id DESC
LIMIT sqlc.arg(row_limit);
