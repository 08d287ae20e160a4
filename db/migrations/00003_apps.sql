-- +goose Up
-- Vendor apps, installs, webhook deliveries and inbox messages.

CREATE TABLE apps (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_user_id       UUID NOT NULL REFERENCES users (id),
    wallet_id           UUID NOT NULL UNIQUE REFERENCES wallets (id),  -- destination_wallet_id
    slug                TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 80),
    profile             JSONB NOT NULL,   -- every vendor-editable field of the reference's schema
    webhook_secret_enc  BYTEA NOT NULL,   -- signing secret, encrypted (it must sign every delivery)
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at          TIMESTAMPTZ
);
CREATE INDEX apps_owner_idx ON apps (owner_user_id, created_at DESC);
CREATE INDEX apps_catalog_idx ON apps (created_at DESC, id DESC) WHERE status = 'active';
CREATE INDEX apps_category_idx ON apps ((lower(profile->>'category'))) WHERE status = 'active';
CREATE INDEX apps_tags_idx ON apps USING GIN ((profile->'tags')) WHERE status = 'active';

CREATE TABLE installs (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    app_id                UUID NOT NULL REFERENCES apps (id),
    user_id               UUID NOT NULL REFERENCES users (id),
    secret_hash           BYTEA NOT NULL CHECK (length(secret_hash) = 32),  -- checks the install secret
    secret_enc            BYTEA NOT NULL,   -- the same secret encrypted, for the iframe launch
    status                TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'uninstalled')),
    max_per_hour          INT NOT NULL CHECK (max_per_hour > 0),
    max_per_day           INT NOT NULL CHECK (max_per_day > 0),
    max_per_month         INT NOT NULL CHECK (max_per_month > 0),
    allowed_until         BIGINT NOT NULL,  -- unix seconds; -1 = never expires
    lifetime_spend_limit  BIGINT NOT NULL DEFAULT -1 CHECK (lifetime_spend_limit >= -1),  -- micro-credits; -1 = unlimited
    lifetime_spent        BIGINT NOT NULL DEFAULT 0 CHECK (lifetime_spent >= 0),          -- micro-credits settled to the app
    agent_context_enc     BYTEA,            -- JSON object of strings, encrypted
    installed_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    uninstalled_at        TIMESTAMPTZ,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- One active install per user and app; uninstalled ones stay for history.
CREATE UNIQUE INDEX installs_one_active ON installs (user_id, app_id) WHERE status = 'active';
CREATE INDEX installs_user_idx ON installs (user_id, installed_at DESC, id DESC);
CREATE INDEX installs_app_idx ON installs (app_id, installed_at DESC, id DESC);

-- One row per lifecycle event; its id is the webhook-id and the envelope uuid.
CREATE TABLE webhook_deliveries (
    id             UUID PRIMARY KEY,
    app_id         UUID NOT NULL REFERENCES apps (id),
    install_id     UUID NOT NULL REFERENCES installs (id),
    event          TEXT NOT NULL CHECK (event IN ('INSTALL', 'UNINSTALL', 'RATE_LIMIT_CHANGE')),
    payload        JSONB NOT NULL,   -- never holds the install secret: it is added when sending
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts       INT NOT NULL DEFAULT 0,
    last_status    INT,
    last_error     TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at   TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_app_idx ON webhook_deliveries (app_id, created_at DESC, id DESC);

CREATE TABLE webhook_attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  UUID NOT NULL REFERENCES webhook_deliveries (id),
    attempt      INT NOT NULL,
    status_code  INT,        -- NULL when no HTTP answer came back
    error        TEXT,
    duration_ms  INT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

CREATE TABLE inbox_messages (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      UUID NOT NULL REFERENCES users (id),
    app_id       UUID NOT NULL REFERENCES apps (id),
    install_id   UUID NOT NULL REFERENCES installs (id),
    external_id  TEXT NOT NULL,   -- the app's idempotency id
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    url          TEXT,
    icon         TEXT,
    read_at      TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT inbox_messages_once UNIQUE (app_id, user_id, external_id)
);
CREATE INDEX inbox_messages_user_idx ON inbox_messages (user_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE inbox_messages;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE installs;
DROP TABLE apps;
