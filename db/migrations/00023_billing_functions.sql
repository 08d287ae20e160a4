-- +goose Up
-- Issue 13: one round trip per billing request. A reserve and a settle each
-- ran 5 to 7 statements in a transaction, every one a round trip with the
-- rows locked; these functions run the same statements inside PostgreSQL,
-- called in one statement (autocommit), so locks are held for the server's
-- work and the commit only. Money still moves only through ledger_post.
-- Refusals are raised with SQLSTATEs of class OX that internal/billing maps
-- to its errors; anything raised rolls the whole request back.

-- billing_reserve: the payment-hold check, the install's limit counters (one
-- conditional update that also serialises reserves of one install), the
-- reservation with its 'reserved' event and its outbox row, and the ledger
-- movement user.available -> user.reserved.
-- +goose StatementBegin
CREATE FUNCTION billing_reserve(p_install UUID, p_app UUID, p_user UUID, p_user_wallet UUID, p_app_wallet UUID,
                                p_job TEXT, p_amount BIGINT, p_metadata JSONB, p_expires TIMESTAMPTZ,
                                p_debounce INTERVAL, p_slot_hint INT)
RETURNS SETOF reservations LANGUAGE plpgsql AS $$
DECLARE
    r reservations;
    owed BIGINT;
BEGIN
    SELECT h.debt INTO owed FROM payment_holds h WHERE h.user_id = p_user AND h.active;
    IF owed > 0 THEN
        RAISE EXCEPTION '%', owed USING ERRCODE = 'OXDBT';
    END IF;
    UPDATE installs SET
        hour_count  = CASE WHEN hour_start = date_trunc('hour', now(), 'UTC') THEN hour_count + 1 ELSE 1 END,
        hour_start  = date_trunc('hour', now(), 'UTC'),
        day_count   = CASE WHEN day_start = date_trunc('day', now(), 'UTC') THEN day_count + 1 ELSE 1 END,
        day_start   = date_trunc('day', now(), 'UTC'),
        month_count = CASE WHEN month_start = date_trunc('month', now(), 'UTC') THEN month_count + 1 ELSE 1 END,
        month_start = date_trunc('month', now(), 'UTC'),
        spend_committed = spend_committed + p_amount
    WHERE id = p_install
      AND status = 'active'
      AND (allowed_until = -1 OR allowed_until > extract(epoch FROM now()))
      AND (lifetime_spend_limit = -1 OR spend_committed + p_amount <= lifetime_spend_limit)
      AND (CASE WHEN hour_start = date_trunc('hour', now(), 'UTC') THEN hour_count ELSE 0 END) < max_per_hour
      AND (CASE WHEN day_start = date_trunc('day', now(), 'UTC') THEN day_count ELSE 0 END) < max_per_day
      AND (CASE WHEN month_start = date_trunc('month', now(), 'UTC') THEN month_count ELSE 0 END) < max_per_month;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'refused by the install''s limits' USING ERRCODE = 'OXLIM';
    END IF;
    INSERT INTO reservations (install_id, app_id, user_id, user_wallet_id, app_wallet_id, job_id, amount, metadata, expires_at)
    VALUES (p_install, p_app, p_user, p_user_wallet, p_app_wallet, p_job, p_amount, p_metadata, p_expires)
    RETURNING * INTO r;
    INSERT INTO reservation_events (reservation_id, app_id, kind, amount) VALUES (r.id, r.app_id, 'reserved', r.amount);
    -- The start of its ReservationWorkflow, as outbox.Enqueue would write it,
    -- after a debounce (less when it expires sooner): most reservations
    -- close within it, delete the row and never cost Temporal anything.
    -- Its attributes are the workflow's search attributes and memo
    -- (workflows.Business): buyer, app, user wallet, amount, status
    -- "reserved", and the job id in the memo.
    INSERT INTO outbox (kind, workflow_id, workflow_type, input, not_before, attributes)
    VALUES ('reservation', 'reservation-' || r.id, 'ReservationWorkflow',
            jsonb_build_object('ReservationID', r.id, 'ExpiresAt', r.expires_at),
            LEAST(now() + p_debounce, r.expires_at - p_debounce),
            jsonb_build_object(
                'search', jsonb_build_object('OfficexUserId', r.user_id::text, 'OfficexAppId', r.app_id::text,
                    'OfficexWalletId', r.user_wallet_id::text, 'OfficexAmountMicro', r.amount, 'OfficexStatus', 'reserved'),
                'memo', jsonb_build_object('amount_credits', trim_scale(r.amount::numeric / 1000000)::text,
                    'destination_type', 'ledger', 'summary', 'reservation of job ' || r.job_id)));
    PERFORM ledger_post('reserve', 'resv:' || r.id, 'install:' || p_install, '{}',
                        ARRAY[p_user_wallet, p_user_wallet], ARRAY['available', 'reserved'], ARRAY[-p_amount, p_amount], p_slot_hint);
    RETURN NEXT r;
END $$;
-- +goose StatementEnd

-- billing_close: a settle, cancel or expiry of a reservation the caller has
-- locked. The reservation's new state, the install's spend, the vendor-inbox
-- event, the outbox change that spares or ends its workflow, then the money:
-- the refund (the user's wallet) before the settle, whose credit to an app
-- wallet slot is the most contended lock, taken last.
-- +goose StatementBegin
CREATE FUNCTION billing_close(p_reservation UUID, p_settle BIGINT, p_refund BIGINT, p_status TEXT,
                              p_event TEXT, p_event_amount BIGINT, p_slot_hint INT)
RETURNS SETOF reservations LANGUAGE plpgsql AS $$
DECLARE
    r reservations;
    gone BIGINT;
BEGIN
    UPDATE reservations AS rv SET settled = rv.settled + p_settle, refunded = rv.refunded + p_refund,
        sips = rv.sips + (p_settle > 0)::int, status = p_status,
        closed_at = CASE WHEN p_status IN ('completed', 'cancelled', 'expired') THEN now() ELSE NULL END
    WHERE rv.id = p_reservation
    RETURNING rv.* INTO r;
    UPDATE installs SET lifetime_spent = lifetime_spent + p_settle, spend_committed = spend_committed - p_refund
    WHERE id = r.install_id;
    INSERT INTO reservation_events (reservation_id, app_id, kind, amount) VALUES (r.id, r.app_id, p_event, p_event_amount);
    IF r.status <> 'partial' THEN
        -- Closed before any relay took up its start: the start row goes and
        -- Temporal never hears of this reservation. A row a relay has
        -- leased is left alone (the relay may be starting the workflow right
        -- now); then the relay signals it to end, after the start.
        DELETE FROM outbox WHERE workflow_id = 'reservation-' || r.id AND workflow_type IS NOT NULL
            AND lease_until IS NULL RETURNING id INTO gone;
        IF gone IS NULL THEN
            INSERT INTO outbox (kind, workflow_id, signal_name) VALUES ('reservation', 'reservation-' || r.id, 'reservation_closed');
        END IF;
    END IF;
    IF p_refund > 0 THEN
        PERFORM ledger_post('refund', 'resv:' || r.id || ':refund', 'install:' || r.install_id, '{}',
                            ARRAY[r.user_wallet_id, r.user_wallet_id], ARRAY['reserved', 'available'], ARRAY[-p_refund, p_refund], p_slot_hint);
    END IF;
    IF p_settle > 0 THEN
        PERFORM ledger_post('settle', 'resv:' || r.id || ':settle:' || r.sips, 'install:' || r.install_id, '{}',
                            ARRAY[r.user_wallet_id, r.app_wallet_id], ARRAY['reserved', 'available'], ARRAY[-p_settle, p_settle], p_slot_hint);
    END IF;
    RETURN NEXT r;
END $$;
-- +goose StatementEnd

-- billing_settle: a sip (p_final false) or final settle of an install's
-- reservation, with the checks of internal/billing: it exists (OXNF0), is
-- open (OXCL0), has not timed out (OXEXP, the message is its expires_at) and
-- holds the amount (OXAMT, the message is what remains).
-- +goose StatementBegin
CREATE FUNCTION billing_settle(p_install UUID, p_job TEXT, p_amount BIGINT, p_final BOOLEAN, p_slot_hint INT)
RETURNS SETOF reservations LANGUAGE plpgsql AS $$
DECLARE
    r reservations;
    remaining BIGINT;
BEGIN
    SELECT * INTO r FROM reservations WHERE install_id = p_install AND job_id = p_job FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reservation not found' USING ERRCODE = 'OXNF0';
    END IF;
    IF r.status NOT IN ('reserved', 'partial') THEN
        RAISE EXCEPTION 'reservation closed' USING ERRCODE = 'OXCL0';
    END IF;
    -- Past its timeout the reservation belongs to its refund, even while the
    -- workflow that makes it is still on its way.
    IF clock_timestamp() >= r.expires_at THEN
        RAISE EXCEPTION '%', to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') USING ERRCODE = 'OXEXP';
    END IF;
    remaining := r.amount - r.settled - r.refunded;
    IF p_amount > remaining THEN
        RAISE EXCEPTION '%', remaining USING ERRCODE = 'OXAMT';
    END IF;
    IF p_final THEN
        RETURN QUERY SELECT * FROM billing_close(r.id, p_amount, remaining - p_amount, 'completed', 'settled', p_amount, p_slot_hint);
    ELSE
        RETURN QUERY SELECT * FROM billing_close(r.id, p_amount, 0, 'partial', 'sipped', p_amount, p_slot_hint);
    END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION billing_settle(UUID, TEXT, BIGINT, BOOLEAN, INT);
DROP FUNCTION billing_close(UUID, BIGINT, BIGINT, TEXT, TEXT, BIGINT, INT);
DROP FUNCTION billing_reserve(UUID, UUID, UUID, UUID, UUID, TEXT, BIGINT, JSONB, TIMESTAMPTZ, INTERVAL, INT);
