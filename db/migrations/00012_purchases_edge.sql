-- +goose Up
-- The reconcile report lists purchases left open (processing or
-- requires_action) for too long; open purchases are few among many closed.
CREATE INDEX credit_purchases_open_idx ON credit_purchases (updated_at)
    WHERE status IN ('processing', 'requires_action');

-- +goose Down
DROP INDEX credit_purchases_open_idx;
