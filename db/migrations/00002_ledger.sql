-- +goose Up
-- The double-entry journal: the only record of how balances came to be.
-- Amounts are BIGINT micro-credits (1 credit = 1,000,000), signed in entries.

CREATE TABLE journal_transactions (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    kind        TEXT NOT NULL CHECK (kind IN ('purchase', 'voucher', 'reserve', 'settle', 'refund',
                    'payout_hold', 'payout_burn', 'payout_restore', 'payout_release', 'adjust')),
    reference   TEXT NOT NULL CHECK (length(reference) BETWEEN 1 AND 200), -- business key
    actor       TEXT NOT NULL,       -- 'user:<id>', 'admin', 'install:<id>', 'system'
    memo        JSONB NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- One movement per business key: a retried activity can never move money twice.
    CONSTRAINT journal_transactions_kind_reference UNIQUE (kind, reference)
);
CREATE INDEX journal_transactions_created_idx ON journal_transactions (created_at DESC, id DESC);

CREATE TABLE journal_entries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  UUID NOT NULL REFERENCES journal_transactions (id),
    wallet_id       UUID NOT NULL REFERENCES wallets (id),
    bucket          TEXT NOT NULL CHECK (bucket IN ('available', 'reserved')),
    amount          BIGINT NOT NULL CHECK (amount <> 0),  -- signed micro-credits
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX journal_entries_transaction_idx ON journal_entries (transaction_id);
CREATE INDEX journal_entries_wallet_idx ON journal_entries (wallet_id, created_at DESC, transaction_id);

-- Append-only at the database level: no UPDATE, DELETE or TRUNCATE, whoever asks.
-- +goose StatementBegin
CREATE FUNCTION journal_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER journal_transactions_append_only BEFORE UPDATE OR DELETE ON journal_transactions
    FOR EACH ROW EXECUTE FUNCTION journal_forbid_change();
CREATE TRIGGER journal_transactions_no_truncate BEFORE TRUNCATE ON journal_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION journal_forbid_change();
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION journal_forbid_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION journal_forbid_change();

-- Every transaction's entries sum to zero, checked at commit so all its
-- entries are in.
-- +goose StatementBegin
CREATE FUNCTION journal_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total NUMERIC;
    n INT;
BEGIN
    SELECT sum(amount), count(*) INTO total, n FROM journal_entries WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'journal transaction % is unbalanced (% entries summing to %)', NEW.transaction_id, n, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_check_balanced();

-- Credit purchases paid through Stripe (CreditPurchaseWorkflow).
CREATE TABLE credit_purchases (
    id                        UUID PRIMARY KEY,
    user_id                   UUID NOT NULL REFERENCES users (id),
    wallet_id                 UUID NOT NULL REFERENCES wallets (id),
    amount                    BIGINT NOT NULL CHECK (amount > 0),        -- micro-credits
    amount_cents              BIGINT NOT NULL CHECK (amount_cents > 0),  -- USD cents charged
    idempotency_key           TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash              BYTEA NOT NULL,  -- SHA-256 of the request, to spot a reused key
    payment_method_type       TEXT NOT NULL,
    status                    TEXT NOT NULL DEFAULT 'processing'
                              CHECK (status IN ('processing', 'requires_action', 'succeeded', 'failed')),
    stripe_payment_intent_id  TEXT,
    client_secret_enc         BYTEA,           -- PaymentIntent client secret, encrypted
    failure_code              TEXT,
    failure_message           TEXT,
    journal_transaction_id    UUID REFERENCES journal_transactions (id),
    balance_after             BIGINT,          -- micro-credits available right after crediting
    created_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT credit_purchases_idempotency UNIQUE (user_id, idempotency_key),
    CONSTRAINT credit_purchases_credited CHECK ((status = 'succeeded') = (journal_transaction_id IS NOT NULL))
);
CREATE INDEX credit_purchases_payment_intent_idx ON credit_purchases (stripe_payment_intent_id);

CREATE TABLE vouchers (
    code             TEXT PRIMARY KEY CHECK (code ~ '^[A-Z0-9_-]{4,64}$'),
    amount           BIGINT NOT NULL CHECK (amount > 0),  -- micro-credits per redemption
    max_redemptions  INT NOT NULL DEFAULT 1 CHECK (max_redemptions > 0),
    redemptions      INT NOT NULL DEFAULT 0 CHECK (redemptions >= 0),
    expires_at       TIMESTAMPTZ,
    disabled_at      TIMESTAMPTZ,  -- DELETE disables; history stays
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT vouchers_within_max CHECK (redemptions <= max_redemptions)
);
CREATE INDEX vouchers_created_idx ON vouchers (created_at DESC, code);

CREATE TABLE voucher_redemptions (
    id                      UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    code                    TEXT NOT NULL REFERENCES vouchers (code),
    wallet_id               UUID NOT NULL REFERENCES wallets (id),
    user_id                 UUID NOT NULL REFERENCES users (id),
    amount                  BIGINT NOT NULL CHECK (amount > 0),  -- micro-credits
    journal_transaction_id  UUID NOT NULL REFERENCES journal_transactions (id),
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT voucher_redemptions_once_per_wallet UNIQUE (code, wallet_id)
);
CREATE INDEX voucher_redemptions_user_idx ON voucher_redemptions (user_id, created_at DESC);

CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC, id DESC);

-- +goose Down
DROP TABLE voucher_redemptions;
DROP TABLE vouchers;
DROP TABLE credit_purchases;
DROP TABLE journal_entries;
DROP TABLE journal_transactions;
DROP FUNCTION journal_check_balanced();
DROP FUNCTION journal_forbid_change();
DROP INDEX audit_log_created_idx;
