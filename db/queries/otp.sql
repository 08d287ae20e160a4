-- name: DeleteLiveOTP :exec
UPDATE otp_codes SET consumed_at = now() WHERE email = $1 AND purpose = $2 AND consumed_at IS NULL;

-- name: InsertOTP :exec
INSERT INTO otp_codes (email, purpose, code_hash, code_sealed, expires_at) VALUES ($1, $2, $3, $4, $5);

-- name: GetLiveOTPForUpdate :one
SELECT * FROM otp_codes WHERE email = $1 AND purpose = $2 AND consumed_at IS NULL FOR UPDATE;

-- name: IncrementOTPAttempts :exec
UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1;

-- name: ConsumeOTP :exec
UPDATE otp_codes SET consumed_at = now() WHERE id = $1;

-- name: InsertOTPSend :exec
INSERT INTO otp_sends (email, client, sent_at) VALUES ($1, $2, $3);

-- name: GetOTPSendStats :one
-- How many codes went to an email at one client's request in the window, and
-- when the first and last did.
SELECT count(*)::int AS sent,
       COALESCE(min(sent_at), 'epoch'::timestamptz)::timestamptz AS first_sent,
       COALESCE(max(sent_at), 'epoch'::timestamptz)::timestamptz AS last_sent
FROM otp_sends WHERE email = $1 AND client = $2 AND sent_at > sqlc.arg(since);

-- name: GetOTPEmailStats :one
-- How many codes went to an email in the window, whoever asked.
SELECT count(*)::int AS sent,
       COALESCE(min(sent_at), 'epoch'::timestamptz)::timestamptz AS first_sent
FROM otp_sends WHERE email = $1 AND sent_at > sqlc.arg(since);

-- name: GetOTPClientStats :one
-- How many codes one client asked for in the window, whatever the email.
SELECT count(*)::int AS sent,
       COALESCE(min(sent_at), 'epoch'::timestamptz)::timestamptz AS first_sent
FROM otp_sends WHERE client = $1 AND sent_at > sqlc.arg(since);

-- name: LockOTPEmail :exec
-- Serialises code issuing per email so concurrent requests can't beat the throttle.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(email)::text, 42));

-- name: GetAuthGuard :one
SELECT * FROM auth_guards WHERE key = $1;

-- name: LockAuthGuard :one
-- The guard row of key, created empty when missing, locked for the update
-- that follows in the same transaction.
INSERT INTO auth_guards (key, window_start) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
RETURNING *;

-- name: UpdateAuthGuard :exec
UPDATE auth_guards SET failures = $2, window_start = $3, lockouts = $4, locked_until = $5 WHERE key = $1;

-- name: DeleteAuthGuard :exec
DELETE FROM auth_guards WHERE key = $1;

-- name: HitAuthWindow :one
-- Counts one more event in key's fixed window starting at window_start (a
-- newer window starts again at 1) and returns the count, in one statement so
-- concurrent hits never lose one.
INSERT INTO auth_guards (key, failures, window_start) VALUES ($1, 1, $2)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN auth_guards.window_start = EXCLUDED.window_start THEN auth_guards.failures + 1 ELSE 1 END,
    window_start = EXCLUDED.window_start
RETURNING failures;

-- name: PruneAuthGuards :execrows
-- Guards whose window and lockout ended before before count nothing any more.
DELETE FROM auth_guards
WHERE window_start < sqlc.arg(before) AND (locked_until IS NULL OR locked_until < sqlc.arg(before));

-- name: PruneOTPSends :execrows
-- Sends older than every budget's window (the longest is a day).
DELETE FROM otp_sends WHERE sent_at < sqlc.arg(before);
