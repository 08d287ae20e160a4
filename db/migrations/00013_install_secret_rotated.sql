-- +goose Up
-- When an install's secret was last rotated: an INSTALL event redelivered
-- after a rotation carries no secret (neither the stale one nor the live one).
ALTER TABLE installs ADD COLUMN secret_rotated_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE installs DROP COLUMN secret_rotated_at;
