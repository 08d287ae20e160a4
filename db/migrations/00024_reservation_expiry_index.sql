-- +goose Up
-- The expiry sweeper (billing.SweepLoop) reads open reservations by timeout
-- every second; this keeps that read to the few that are overdue.
CREATE INDEX reservations_open_expiry_idx ON reservations (expires_at) WHERE status IN ('reserved', 'partial');

-- +goose Down
DROP INDEX reservations_open_expiry_idx;
