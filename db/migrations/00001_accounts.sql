-- +goose Up
-- Accounts: users, their master keys, one-time codes, wallets and the audit log.
-- Money columns are BIGINT micro-credits (1 credit = 1,000,000).

CREATE TABLE users (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email           TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash   TEXT,            -- argon2id encoded hash; NULL until a password is set
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively; the application stores them lower-cased.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

-- Master keys are shown once and stored only as SHA-256 hashes.
CREATE TABLE master_keys (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     UUID NOT NULL REFERENCES users (id),
    key_hash    BYTEA NOT NULL CHECK (length(key_hash) = 32),
    key_prefix  TEXT NOT NULL,       -- first characters, so a user can tell keys apart
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX master_keys_active_idx ON master_keys (user_id) WHERE revoked_at IS NULL;

-- One-time codes, keyed by email (not user) so unknown emails follow the same path.
CREATE TABLE otp_codes (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email        TEXT NOT NULL,
    purpose      TEXT NOT NULL CHECK (purpose IN ('login', 'reset_password', 'rotate_key')),
    code_hash    BYTEA NOT NULL CHECK (length(code_hash) = 32),
    attempts     INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    expires_at   TIMESTAMPTZ NOT NULL,
    consumed_at  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- At most one live code per email and purpose: issuing a new one replaces the old.
CREATE UNIQUE INDEX otp_codes_live_key ON otp_codes (email, purpose) WHERE consumed_at IS NULL;

-- Every code sent (or that would have been sent), for per-email throttling.
CREATE TABLE otp_sends (
    email    TEXT NOT NULL,
    sent_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX otp_sends_email_idx ON otp_sends (email, sent_at DESC);

CREATE TABLE wallets (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    kind           TEXT NOT NULL CHECK (kind IN ('treasury', 'user', 'app')),
    owner_user_id  UUID REFERENCES users (id),
    available      BIGINT NOT NULL DEFAULT 0,  -- micro-credits
    reserved       BIGINT NOT NULL DEFAULT 0,  -- micro-credits
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Only the treasury goes negative: it holds minus the liability.
    CONSTRAINT wallets_non_negative CHECK (kind = 'treasury' OR (available >= 0 AND reserved >= 0)),
    CONSTRAINT wallets_treasury_reserved CHECK (kind <> 'treasury' OR reserved = 0),
    CONSTRAINT wallets_owner CHECK ((kind = 'treasury') = (owner_user_id IS NULL))
);
CREATE UNIQUE INDEX wallets_one_treasury ON wallets (kind) WHERE kind = 'treasury';
CREATE UNIQUE INDEX wallets_one_per_user ON wallets (owner_user_id) WHERE kind = 'user';
INSERT INTO wallets (kind) VALUES ('treasury');

-- Who did what, when: admin actions and (from the ledger on) money movements.
CREATE TABLE audit_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor        TEXT NOT NULL,      -- 'admin', 'user:<id>', 'system'
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    details      JSONB NOT NULL DEFAULT '{}',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE wallets;
DROP TABLE otp_sends;
DROP TABLE otp_codes;
DROP TABLE master_keys;
DROP TABLE users;
