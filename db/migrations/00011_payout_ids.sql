-- +goose Up
-- What Stripe answered for a payout is stored in the step that learns it, so
-- a retry days later reads it instead of paying again (DESIGN.md section 6).

ALTER TABLE payouts
    -- tr_... (stripe) or po_... (bank): stored by the activity that created it
    ADD COLUMN stripe_id TEXT UNIQUE,
    -- when the first create with the payout's idempotency key was sent (set
    -- before sending it); Stripe keeps the key 24 hours from then
    ADD COLUMN stripe_create_at TIMESTAMPTZ,
    -- an unresolved problem an operator must see (a status read failing, a
    -- payout in review), and since when; cleared when it resolves
    ADD COLUMN alert TEXT,
    ADD COLUMN alert_at TIMESTAMPTZ;

-- needs_review: burned, and a create may have reached Stripe with no answer
-- after its idempotency key expired; nothing is paid or restored until an
-- operator decides. Its credits are burned, as for 'burned'.
ALTER TABLE payouts DROP CONSTRAINT payouts_status_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_status_check
    CHECK (status IN ('pending', 'burned', 'needs_review', 'completed', 'failed', 'rejected'));
CREATE INDEX payouts_alert_idx ON payouts (alert_at) WHERE alert IS NOT NULL;

-- +goose Down
DROP INDEX payouts_alert_idx;
ALTER TABLE payouts DROP CONSTRAINT payouts_status_check;
UPDATE payouts SET status = 'burned' WHERE status = 'needs_review';
ALTER TABLE payouts ADD CONSTRAINT payouts_status_check
    CHECK (status IN ('pending', 'burned', 'completed', 'failed', 'rejected'));
ALTER TABLE payouts DROP COLUMN alert_at, DROP COLUMN alert, DROP COLUMN stripe_create_at, DROP COLUMN stripe_id;
