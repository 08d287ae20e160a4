-- +goose Up
-- Fewer indexes on the tables every reserve and settle writes: the unacked
-- filter of the vendor inbox reads reservation_events_app_idx, and nothing
-- lists journal transactions by time alone (the audit merges them by time
-- from a small page).
DROP INDEX reservation_events_unacked_idx;
DROP INDEX journal_transactions_created_idx;

-- +goose Down
CREATE INDEX journal_transactions_created_idx ON journal_transactions (created_at DESC, id DESC);
CREATE INDEX reservation_events_unacked_idx ON reservation_events (app_id, id DESC) WHERE acked_at IS NULL;
