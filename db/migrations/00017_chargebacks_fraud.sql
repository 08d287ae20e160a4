-- +goose Up
-- Issue 11 items 5 and 7: refunds and disputes take purchased credits back,
-- the part a wallet can't cover is a debt on the user (never a negative
-- wallet: DESIGN.md invariant 3), and purchases have velocity limits per user
-- and per card fingerprint.

-- Credits taken back through the ledger: user.available -n, treasury.available +n.
ALTER TABLE journal_transactions DROP CONSTRAINT journal_transactions_kind_check;
ALTER TABLE journal_transactions ADD CONSTRAINT journal_transactions_kind_check
    CHECK (kind IN ('purchase', 'voucher', 'reserve', 'settle', 'refund',
        'payout_hold', 'payout_burn', 'payout_restore', 'payout_release', 'adjust', 'chargeback'));

-- What the purchase's card was (Stripe's card fingerprint), and how much of
-- the purchase refunds and disputes have taken back so far.
ALTER TABLE credit_purchases
    ADD COLUMN card_fingerprint TEXT CHECK (length(card_fingerprint) <= 100),
    ADD COLUMN reversed_amount BIGINT NOT NULL DEFAULT 0, -- micro-credits taken back (clawed back + debt)
    ADD CONSTRAINT credit_purchases_reversed_within CHECK (reversed_amount BETWEEN 0 AND amount);

-- Every charge.refunded / charge.dispute.created Stripe sent, stored before it
-- is acted on. A redelivered event (same id) is stored once.
CREATE TABLE stripe_reversal_events (
    event_id           TEXT PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 255),
    kind               TEXT NOT NULL CHECK (kind IN ('refund', 'dispute')),
    charge_id          TEXT NOT NULL CHECK (length(charge_id) BETWEEN 1 AND 255),
    payment_intent_id  TEXT CHECK (length(payment_intent_id) <= 255),
    dispute_id         TEXT CHECK (length(dispute_id) <= 255),  -- dispute events only
    amount_cents       BIGINT NOT NULL CHECK (amount_cents >= 0), -- refund: the charge's cumulative amount_refunded; dispute: its amount
    purchase_id        UUID REFERENCES credit_purchases (id),     -- NULL: not one of our purchases
    received_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at       TIMESTAMPTZ
);
CREATE INDEX stripe_reversal_events_purchase_idx ON stripe_reversal_events (purchase_id);

-- A user whose payment was reversed: purchases are suspended and any debt
-- blocks spending until an admin clears it. One row per user.
CREATE TABLE payment_holds (
    user_id       UUID PRIMARY KEY REFERENCES users (id),
    debt          BIGINT NOT NULL DEFAULT 0 CHECK (debt >= 0), -- micro-credits taken back that the wallet could not cover
    active        BOOLEAN NOT NULL DEFAULT TRUE,               -- purchases suspended (and spending, while debt > 0)
    reason        TEXT NOT NULL,
    clears        INT NOT NULL DEFAULT 0 CHECK (clears >= 0),  -- admin clears so far; numbers each clear's ledger reference
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payment_holds_debt_only_when_active CHECK (active OR debt = 0)
);

-- One row per purchase attempt that passed the velocity check: what the
-- per-user and per-card limits count. A replayed idempotency key is the
-- same attempt.
CREATE TABLE purchase_attempts (
    user_id           UUID NOT NULL REFERENCES users (id),
    idempotency_key   TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    card_fingerprint  TEXT NOT NULL CHECK (length(card_fingerprint) BETWEEN 1 AND 100),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX purchase_attempts_user_idx ON purchase_attempts (user_id, created_at);
CREATE INDEX purchase_attempts_card_idx ON purchase_attempts (card_fingerprint, created_at);

-- A purchase records its card's fingerprint from its attempt (same user and
-- idempotency key), so the purchase-start code needs no change to carry it.
-- +goose StatementBegin
CREATE FUNCTION credit_purchases_card_fingerprint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.card_fingerprint IS NULL THEN
        SELECT a.card_fingerprint INTO NEW.card_fingerprint FROM purchase_attempts a
        WHERE a.user_id = NEW.user_id AND a.idempotency_key = NEW.idempotency_key;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER credit_purchases_card_fingerprint BEFORE INSERT ON credit_purchases
    FOR EACH ROW EXECUTE FUNCTION credit_purchases_card_fingerprint();

-- The admin payout view flags credits a vendor paid its own app.
CREATE INDEX reservations_app_user_idx ON reservations (app_wallet_id, user_id, created_at);

-- +goose Down
DROP INDEX reservations_app_user_idx;
DROP TRIGGER credit_purchases_card_fingerprint ON credit_purchases;
DROP FUNCTION credit_purchases_card_fingerprint();
DROP TABLE purchase_attempts;
DROP TABLE payment_holds;
DROP TABLE stripe_reversal_events;
ALTER TABLE credit_purchases DROP CONSTRAINT credit_purchases_reversed_within,
    DROP COLUMN reversed_amount, DROP COLUMN card_fingerprint;
ALTER TABLE journal_transactions DROP CONSTRAINT journal_transactions_kind_check;
ALTER TABLE journal_transactions ADD CONSTRAINT journal_transactions_kind_check
    CHECK (kind IN ('purchase', 'voucher', 'reserve', 'settle', 'refund',
        'payout_hold', 'payout_burn', 'payout_restore', 'payout_release', 'adjust'));
