-- +goose Up
-- Payout destinations a vendor registered (issue 11 point 6). A Stripe
-- connected account (the account of a stripe destination, the owner of a bank
-- destination's bank account) is checked with Stripe when registered and
-- belongs to one vendor only. A bank payout moves the money to the connected
-- account first (transfer_id), then pays it out to the bank (stripe_id).

CREATE TABLE payout_destinations (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id               UUID NOT NULL REFERENCES users (id),
    type                  TEXT NOT NULL CHECK (type IN ('stripe', 'bank', 'usdc_solana')),
    account_id            TEXT NOT NULL CHECK (length(account_id) BETWEEN 1 AND 255),
    connected_account_id  TEXT NOT NULL DEFAULT '' CHECK (length(connected_account_id) <= 255), -- bank only
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payout_destinations_once UNIQUE (user_id, type, account_id, connected_account_id)
);
CREATE INDEX payout_destinations_user_idx ON payout_destinations (user_id, created_at DESC, id DESC);

-- The primary key is what ties a connected account to one vendor: a second
-- vendor's registration conflicts (409).
CREATE TABLE stripe_connected_accounts (
    account_id   TEXT PRIMARY KEY CHECK (account_id LIKE 'acct\_%'),
    user_id      UUID NOT NULL REFERENCES users (id),
    verified_at  TIMESTAMPTZ NOT NULL DEFAULT now()  -- when Stripe answered that the account exists
);

ALTER TABLE payouts
    -- the registered destination the payout pays (NULL for payouts before 00019)
    ADD COLUMN destination_id UUID REFERENCES payout_destinations (id),
    -- bank: the transfer (tr_...) to the connected account, stored by the
    -- step that created it, before the bank payout is created
    ADD COLUMN transfer_id TEXT UNIQUE,
    -- bank: when the first transfer create was sent (Stripe keeps its
    -- idempotency key 24 hours from then)
    ADD COLUMN transfer_create_at TIMESTAMPTZ,
    -- bank: the first final status Stripe reported for the bank payout by
    -- webhook (payout.paid / payout.failed / payout.canceled), and when
    ADD COLUMN bank_status TEXT CHECK (bank_status IN ('paid', 'failed', 'canceled')),
    ADD COLUMN bank_status_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE payouts DROP COLUMN bank_status_at, DROP COLUMN bank_status, DROP COLUMN transfer_create_at,
    DROP COLUMN transfer_id, DROP COLUMN destination_id;
DROP TABLE stripe_connected_accounts;
DROP TABLE payout_destinations;
