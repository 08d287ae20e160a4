-- +goose Up
-- Vendor payouts: credits held from an app wallet, burned when the money
-- leaves, restored when it fails. Amounts: credits in BIGINT micro-credits,
-- fiat in USD cents, USDC in base units (6 decimals).

CREATE TABLE payout_batches (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    period          TEXT NOT NULL UNIQUE CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    trigger         TEXT NOT NULL,            -- 'schedule', 'admin', 'cli'
    status          TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed')),
    payouts         INT NOT NULL DEFAULT 0,
    completed       INT NOT NULL DEFAULT 0,
    failed          INT NOT NULL DEFAULT 0,
    total_credits   BIGINT NOT NULL DEFAULT 0,  -- micro-credits paid out
    started_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ
);

CREATE TABLE payouts (
    id                    UUID PRIMARY KEY,
    app_id                UUID NOT NULL REFERENCES apps (id),
    wallet_id             UUID NOT NULL REFERENCES wallets (id),
    requested_by          UUID NOT NULL REFERENCES users (id),
    amount                BIGINT NOT NULL CHECK (amount > 0),           -- micro-credits
    payout_amount         BIGINT NOT NULL CHECK (payout_amount > 0),    -- cents (stripe, bank) or USDC base units
    destination_type      TEXT NOT NULL CHECK (destination_type IN ('stripe', 'bank', 'usdc_solana')),
    destination_account   TEXT NOT NULL,
    connected_account     TEXT,           -- bank: the Stripe connected account that owns the bank account
    idempotency_key       TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash          BYTEA NOT NULL,
    status                TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'burned', 'completed', 'failed', 'rejected')),
    approved_at           TIMESTAMPTZ,
    batch_id              UUID REFERENCES payout_batches (id),
    external_ref          TEXT,           -- Stripe transfer/payout id or Solana signature
    solana_signature      TEXT,           -- stored before the transaction is sent
    solana_tx             BYTEA,          -- the signed transaction, re-sent while it can land
    solana_valid_until    BIGINT,         -- last block height the transaction can land at
    failure_reason        TEXT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payouts_idempotency UNIQUE (requested_by, idempotency_key)
);
CREATE INDEX payouts_wallet_idx ON payouts (wallet_id, created_at DESC, id DESC);
CREATE INDEX payouts_created_idx ON payouts (created_at DESC, id DESC);
CREATE INDEX payouts_ready_idx ON payouts (created_at) WHERE status = 'pending' AND approved_at IS NOT NULL AND batch_id IS NULL;

CREATE TABLE payout_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_id   UUID NOT NULL REFERENCES payouts (id),
    status      TEXT NOT NULL,   -- pending, approved, burned, completed, failed, rejected, attempt
    detail      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payout_events_payout_idx ON payout_events (payout_id, id);

-- Vendors get inbox messages about payouts, which come from no install.
ALTER TABLE inbox_messages ALTER COLUMN install_id DROP NOT NULL;

-- +goose Down
ALTER TABLE inbox_messages ALTER COLUMN install_id SET NOT NULL;
DROP TABLE payout_events;
DROP TABLE payouts;
DROP TABLE payout_batches;
