-- +goose Up
-- Transactional mail: a message is written in the transaction that decides to
-- send it (with its outbox row), and SendMailWorkflow delivers it. The body
-- may hold a one-time code, so it is sealed with OFFICEX_ENCRYPTION_KEY and
-- erased once the message is sent or dropped; workflow histories carry only
-- the message id.
CREATE TABLE mail_messages (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    recipient    TEXT NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    subject      TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    body_sealed  BYTEA,                 -- AES-GCM; NULL once sent or dropped
    expires_at   TIMESTAMPTZ,           -- a code's mail is pointless after the code expires
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'expired')),
    attempts     INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at      TIMESTAMPTZ,
    CHECK ((status = 'pending') = (body_sealed IS NOT NULL))
);
CREATE INDEX mail_messages_recipient_idx ON mail_messages (recipient, created_at DESC);

-- The mail outbox: one row per message whose SendMailWorkflow is still to be
-- started; the relay deletes it once Temporal accepted the start.
CREATE TABLE mail_outbox (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  UUID NOT NULL REFERENCES mail_messages (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- An email change waits for the code sent to the new address. One pending
-- change per user, and one per new address (the newest request wins), so the
-- live change_email code of an address belongs to exactly one user.
CREATE TABLE email_changes (
    user_id       UUID PRIMARY KEY REFERENCES users (id),
    new_email     TEXT NOT NULL CHECK (length(new_email) BETWEEN 3 AND 254),
    requested_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX email_changes_new_email_key ON email_changes (new_email);

ALTER TABLE otp_codes DROP CONSTRAINT otp_codes_purpose_check;
ALTER TABLE otp_codes ADD CONSTRAINT otp_codes_purpose_check
    CHECK (purpose IN ('login', 'reset_password', 'rotate_key', 'change_email'));

-- +goose Down
DELETE FROM otp_codes WHERE purpose = 'change_email';
ALTER TABLE otp_codes DROP CONSTRAINT otp_codes_purpose_check;
ALTER TABLE otp_codes ADD CONSTRAINT otp_codes_purpose_check
    CHECK (purpose IN ('login', 'reset_password', 'rotate_key'));
DROP TABLE email_changes;
DROP TABLE mail_outbox;
DROP TABLE mail_messages;
