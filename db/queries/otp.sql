-- name: DeleteLiveOTP :exec
UPDATE otp_codes SET consumed_at = now() WHERE email = $1 AND purpose = $2 AND consumed_at IS NULL;

-- name: InsertOTP :exec
INSERT INTO otp_codes (email, purpose, code_hash, expires_at) VALUES ($1, $2, $3, $4);

-- name: GetLiveOTPForUpdate :one
SELECT * FROM otp_codes WHERE email = $1 AND purpose = $2 AND consumed_at IS NULL FOR UPDATE;

-- name: IncrementOTPAttempts :exec
UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1;

-- name: ConsumeOTP :exec
UPDATE otp_codes SET consumed_at = now() WHERE id = $1;

-- name: InsertOTPSend :exec
INSERT INTO otp_sends (email) VALUES ($1);

-- name: GetOTPSendStats :one
-- How many codes went to an email in the window, and when the last one did.
SELECT count(*)::int AS sent,
       COALESCE(min(sent_at), 'epoch'::timestamptz)::timestamptz AS first_sent,
       COALESCE(max(sent_at), 'epoch'::timestamptz)::timestamptz AS last_sent
FROM otp_sends WHERE email = $1 AND sent_at > sqlc.arg(since);

-- name: LockOTPEmail :exec
-- Serialises code issuing per email so concurrent requests can't beat the throttle.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(email)::text, 42));
