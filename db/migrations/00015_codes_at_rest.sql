-- +goose Up
-- Codes at rest and guessing limits (issue 11, items 2, 7a, 7b).

-- One-time codes are now an HMAC under a server-side key (a database dump
-- alone yields nothing). Live codes hashed the old way (bare SHA-256) can't be
-- checked any more: they die here; they lived at most 10 minutes anyway.
UPDATE otp_codes SET consumed_at = now() WHERE consumed_at IS NULL;
-- The live code sealed with OFFICEX_ENCRYPTION_KEY (secretbox), so a second
-- request within its lifetime mails the same code instead of replacing it.
ALTER TABLE otp_codes ADD COLUMN code_sealed BYTEA;

-- Who asked for each code: the send budget counts per client as well as per
-- address. '' for sends recorded before this migration.
ALTER TABLE otp_sends ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX otp_sends_client_idx ON otp_sends (client, sent_at DESC);
CREATE INDEX otp_sends_email_client_idx ON otp_sends (email, client, sent_at DESC);

-- Failure and attempt counters of the sign-in flows, one row per key:
-- 'password:<email>' (consecutive wrong passwords and the lockout),
-- 'client:<address>' (failed sign-ins from one client in a fixed window),
-- 'verify' (code checks of every account in the current minute).
CREATE TABLE auth_guards (
    key           TEXT PRIMARY KEY CHECK (length(key) <= 300),
    failures      INT NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start  TIMESTAMPTZ NOT NULL,
    lockouts      INT NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
    locked_until  TIMESTAMPTZ
);

-- Vouchers are bearer money: the code is kept only as an HMAC (code_hash)
-- beside a short display prefix; vouchers are addressed by id. Rows of
-- earlier versions keep their clear code until the application seals them
-- (officex migrate, and serve at start), which needs the key the database
-- does not have.
ALTER TABLE vouchers ADD COLUMN id UUID NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE vouchers ADD COLUMN code_hash BYTEA UNIQUE CHECK (length(code_hash) = 32);
ALTER TABLE vouchers ADD COLUMN code_prefix TEXT NOT NULL DEFAULT '';
UPDATE vouchers SET code_prefix = left(code, least(8, length(code) / 2)) || '…';

ALTER TABLE voucher_redemptions ADD COLUMN voucher_id UUID;
UPDATE voucher_redemptions r SET voucher_id = v.id FROM vouchers v WHERE v.code = r.code;
ALTER TABLE voucher_redemptions ALTER COLUMN voucher_id SET NOT NULL;
ALTER TABLE voucher_redemptions DROP CONSTRAINT voucher_redemptions_once_per_wallet;
ALTER TABLE voucher_redemptions DROP COLUMN code;  -- and its foreign key on vouchers (code)
ALTER TABLE vouchers DROP CONSTRAINT vouchers_pkey;
ALTER TABLE vouchers ADD PRIMARY KEY (id);
ALTER TABLE voucher_redemptions ADD CONSTRAINT voucher_redemptions_voucher_id_fkey
    FOREIGN KEY (voucher_id) REFERENCES vouchers (id);
ALTER TABLE voucher_redemptions ADD CONSTRAINT voucher_redemptions_once_per_wallet UNIQUE (voucher_id, wallet_id);
ALTER TABLE vouchers ALTER COLUMN code DROP NOT NULL;
-- A voucher has its clear code (not yet sealed) or its HMAC, never both.
ALTER TABLE vouchers ADD CONSTRAINT vouchers_code_sealed CHECK ((code IS NULL) <> (code_hash IS NULL));
DROP INDEX vouchers_created_idx;
CREATE INDEX vouchers_created_idx ON vouchers (created_at DESC, id);

-- The audit log named vouchers by code: name them by id.
UPDATE audit_log a SET target_id = v.id::text FROM vouchers v
WHERE a.target_type = 'voucher' AND a.target_id = v.code;

-- Journal memos of voucher redemptions carried the code. The journal is
-- append-only; this one-time redaction of a bearer secret replaces the code
-- with the voucher's id and display prefix and touches no amount.
ALTER TABLE journal_transactions DISABLE TRIGGER journal_transactions_append_only;
UPDATE journal_transactions j
SET memo = (j.memo - 'code') || jsonb_build_object('voucher_id', v.id, 'code_prefix', v.code_prefix)
FROM vouchers v WHERE j.kind = 'voucher' AND j.memo ->> 'code' = v.code;
ALTER TABLE journal_transactions ENABLE TRIGGER journal_transactions_append_only;

-- +goose Down
-- Sealed voucher codes can't be recovered: only rows still in clear go back.
DELETE FROM voucher_redemptions r USING vouchers v WHERE v.id = r.voucher_id AND v.code IS NULL;
DELETE FROM vouchers WHERE code IS NULL;
ALTER TABLE voucher_redemptions ADD COLUMN code TEXT;
UPDATE voucher_redemptions r SET code = v.code FROM vouchers v WHERE v.id = r.voucher_id;
ALTER TABLE voucher_redemptions DROP CONSTRAINT voucher_redemptions_once_per_wallet;
ALTER TABLE voucher_redemptions DROP COLUMN voucher_id;
ALTER TABLE vouchers DROP CONSTRAINT vouchers_code_sealed;
ALTER TABLE vouchers DROP CONSTRAINT vouchers_pkey;
ALTER TABLE vouchers ALTER COLUMN code SET NOT NULL;
ALTER TABLE vouchers ADD PRIMARY KEY (code);
ALTER TABLE voucher_redemptions ALTER COLUMN code SET NOT NULL;
ALTER TABLE voucher_redemptions ADD CONSTRAINT voucher_redemptions_code_fkey FOREIGN KEY (code) REFERENCES vouchers (code);
ALTER TABLE voucher_redemptions ADD CONSTRAINT voucher_redemptions_once_per_wallet UNIQUE (code, wallet_id);
DROP INDEX vouchers_created_idx;
CREATE INDEX vouchers_created_idx ON vouchers (created_at DESC, code);
ALTER TABLE vouchers DROP COLUMN code_prefix;
ALTER TABLE vouchers DROP COLUMN code_hash;
ALTER TABLE vouchers DROP COLUMN id;
DROP TABLE auth_guards;
DROP INDEX otp_sends_email_client_idx;
DROP INDEX otp_sends_client_idx;
ALTER TABLE otp_sends DROP COLUMN client;
ALTER TABLE otp_codes DROP COLUMN code_sealed;
