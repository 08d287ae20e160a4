-- +goose Up
-- Reservations: reserve -> sip -> settle | cancel | expire. Amounts are BIGINT
-- micro-credits; remaining = amount - settled - refunded.

CREATE TABLE reservations (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    install_id      UUID NOT NULL REFERENCES installs (id),
    app_id          UUID NOT NULL REFERENCES apps (id),
    user_id         UUID NOT NULL REFERENCES users (id),
    user_wallet_id  UUID NOT NULL REFERENCES wallets (id),
    app_wallet_id   UUID NOT NULL REFERENCES wallets (id),
    job_id          TEXT NOT NULL CHECK (length(job_id) BETWEEN 1 AND 200),
    amount          BIGINT NOT NULL CHECK (amount > 0),       -- micro-credits reserved
    settled         BIGINT NOT NULL DEFAULT 0 CHECK (settled >= 0),   -- micro-credits paid to the app
    refunded        BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0),  -- micro-credits returned to the user
    sips            INT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'reserved'
                    CHECK (status IN ('reserved', 'partial', 'completed', 'cancelled', 'expired')),
    metadata        JSONB NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    closed_at       TIMESTAMPTZ,
    CONSTRAINT reservations_job UNIQUE (install_id, job_id),
    CONSTRAINT reservations_within_amount CHECK (settled + refunded <= amount),
    CONSTRAINT reservations_closed_empty CHECK (status IN ('reserved', 'partial') OR settled + refunded = amount)
);
CREATE INDEX reservations_user_wallet_idx ON reservations (user_wallet_id, created_at DESC, id DESC);
CREATE INDEX reservations_app_wallet_idx ON reservations (app_wallet_id, created_at DESC, id DESC);
CREATE INDEX reservations_open_idx ON reservations (install_id) WHERE status IN ('reserved', 'partial');

-- The vendor inbox: every event of the app's reservations.
CREATE TABLE reservation_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- log_id
    reservation_id  UUID NOT NULL REFERENCES reservations (id),
    app_id          UUID NOT NULL REFERENCES apps (id),
    kind            TEXT NOT NULL CHECK (kind IN ('reserved', 'sipped', 'settled', 'refunded', 'cancelled', 'expired')),
    amount          BIGINT NOT NULL,  -- micro-credits the event moved
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    acked_at        TIMESTAMPTZ
);
CREATE INDEX reservation_events_app_idx ON reservation_events (app_id, id DESC);
CREATE INDEX reservation_events_unacked_idx ON reservation_events (app_id, id DESC) WHERE acked_at IS NULL;
CREATE INDEX reservation_events_reservation_idx ON reservation_events (reservation_id, id);

-- Transactional outbox to Temporal: written with the reservation, relayed
-- by the worker ('start' the ReservationWorkflow, 'close' signals it).
CREATE TABLE reservation_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reservation_id  UUID NOT NULL REFERENCES reservations (id),
    action          TEXT NOT NULL CHECK (action IN ('start', 'close')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Per-install counters for the reservation rate limits (UTC calendar
-- windows) and the lifetime spend limit, updated in the reserve transaction.
ALTER TABLE installs
    ADD COLUMN hour_start   TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
    ADD COLUMN hour_count   INT NOT NULL DEFAULT 0,
    ADD COLUMN day_start    TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
    ADD COLUMN day_count    INT NOT NULL DEFAULT 0,
    ADD COLUMN month_start  TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
    ADD COLUMN month_count  INT NOT NULL DEFAULT 0,
    -- micro-credits settled plus still reserved: what lifetime_spend_limit bounds
    ADD COLUMN spend_committed BIGINT NOT NULL DEFAULT 0 CHECK (spend_committed >= 0);

-- +goose Down
ALTER TABLE installs DROP COLUMN hour_start, DROP COLUMN hour_count, DROP COLUMN day_start, DROP COLUMN day_count,
    DROP COLUMN month_start, DROP COLUMN month_count, DROP COLUMN spend_committed;
DROP TABLE reservation_outbox;
DROP TABLE reservation_events;
DROP TABLE reservations;
