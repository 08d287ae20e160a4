-- +goose Up
-- Issue 13, item 3: a reservation that closes within the start debounce
-- costs the outbox nothing. billing_reserve used to insert its workflow's
-- start row and billing_close to delete it again (measured with
-- pg_walinspect on the spread pair: about 970 of 8,700 WAL bytes per
-- reserve/settle cycle). Now the reservation row carries when its start is
-- due (workflow_due_at, indexed only while set); the relay first moves the
-- starts that came due into the outbox (reservation_starts_promote), then
-- relays the outbox as before. A close clears workflow_due_at in the update
-- it makes anyway; only a reservation whose start was already queued
-- touches the outbox, as before.
ALTER TABLE reservations ADD COLUMN workflow_due_at TIMESTAMPTZ;
CREATE INDEX reservations_workflow_due_idx ON reservations (workflow_due_at) WHERE workflow_due_at IS NOT NULL;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION billing_reserve(p_install UUID, p_app UUID, p_user UUID, p_user_wallet UUID, p_app_wallet UUID,
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
    -- The start of its ReservationWorkflow is due after a debounce (less
    -- when it expires sooner): most reservations close within it and never
    -- cost Temporal, or the outbox, anything (reservation_starts_promote).
    INSERT INTO reservations (install_id, app_id, user_id, user_wallet_id, app_wallet_id, job_id, amount, metadata, expires_at,
                              workflow_due_at)
    VALUES (p_install, p_app, p_user, p_user_wallet, p_app_wallet, p_job, p_amount, p_metadata, p_expires,
            LEAST(now() + p_debounce, p_expires - p_debounce))
    RETURNING * INTO r;
    INSERT INTO reservation_events (reservation_id, app_id, kind, amount) VALUES (r.id, r.app_id, 'reserved', r.amount);
    PERFORM ledger_post('reserve', 'resv:' || r.id, 'install:' || p_install, '{}',
                        ARRAY[p_user_wallet, p_user_wallet], ARRAY['available', 'reserved'], ARRAY[-p_amount, p_amount], p_slot_hint);
    RETURN NEXT r;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION billing_close(p_reservation UUID, p_settle BIGINT, p_refund BIGINT, p_status TEXT,
                              p_event TEXT, p_event_amount BIGINT, p_slot_hint INT)
RETURNS SETOF reservations LANGUAGE plpgsql AS $$
DECLARE
    r reservations;
    gone BIGINT;
    start_due TIMESTAMPTZ;
BEGIN
    -- The caller holds the row: this read is what the update below changes.
    SELECT rv.workflow_due_at INTO start_due FROM reservations rv WHERE rv.id = p_reservation;
    UPDATE reservations AS rv SET settled = rv.settled + p_settle, refunded = rv.refunded + p_refund,
        sips = rv.sips + (p_settle > 0)::int, status = p_status,
        closed_at = CASE WHEN p_status IN ('completed', 'cancelled', 'expired') THEN now() ELSE NULL END,
        workflow_due_at = CASE WHEN p_status = 'partial' THEN rv.workflow_due_at END
    WHERE rv.id = p_reservation
    RETURNING rv.* INTO r;
    UPDATE installs SET lifetime_spent = lifetime_spent + p_settle, spend_committed = spend_committed - p_refund
    WHERE id = r.install_id;
    INSERT INTO reservation_events (reservation_id, app_id, kind, amount) VALUES (r.id, r.app_id, p_event, p_event_amount);
    IF r.status <> 'partial' AND start_due IS NULL THEN
        -- Its start was due and moved to the outbox (closed within the
        -- debounce, start_due was set: Temporal never hears of it). Still
        -- there and not leased: the row goes, and no workflow ever runs. A
        -- row a relay has leased is left alone (the relay may be starting
        -- the workflow right now); then the relay signals it to end, after
        -- the start. An expiry sends no signal: it comes after the
        -- workflow's own timer, whose activity finds the reservation expired.
        DELETE FROM outbox WHERE workflow_id = 'reservation-' || r.id AND workflow_type IS NOT NULL
            AND lease_until IS NULL RETURNING id INTO gone;
        IF gone IS NULL AND r.status <> 'expired' THEN
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

-- reservation_starts_promote: the outbox relay's first step. Reservations
-- still open when their start is due get their ReservationWorkflow's start
-- row, as outbox.Enqueue would write it, and workflow_due_at is cleared in
-- the same statement, so a start is queued once. Its attributes are the
-- workflow's search attributes and memo (workflows.Business): buyer, app,
-- user wallet, amount, status "reserved", and the job id in the memo.
-- Reservations a request holds are skipped (SKIP LOCKED) until the next
-- call. Answers how many it queued.
-- +goose StatementBegin
CREATE FUNCTION reservation_starts_promote(p_limit INT) RETURNS INT LANGUAGE sql AS $$
    WITH due AS (
        UPDATE reservations AS rv SET workflow_due_at = NULL
        WHERE rv.id IN (SELECT d.id FROM reservations d
                        WHERE d.workflow_due_at <= now() AND d.status IN ('reserved', 'partial')
                        ORDER BY d.workflow_due_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
        RETURNING rv.*
    ), queued AS (
        INSERT INTO outbox (kind, workflow_id, workflow_type, input, not_before, attributes)
        SELECT 'reservation', 'reservation-' || r.id, 'ReservationWorkflow',
               jsonb_build_object('ReservationID', r.id, 'ExpiresAt', r.expires_at), now(),
               jsonb_build_object(
                   'search', jsonb_build_object('OfficexUserId', r.user_id::text, 'OfficexAppId', r.app_id::text,
                       'OfficexWalletId', r.user_wallet_id::text, 'OfficexAmountMicro', r.amount, 'OfficexStatus', 'reserved'),
                   'memo', jsonb_build_object('amount_credits', trim_scale(r.amount::numeric / 1000000)::text,
                       'destination_type', 'ledger', 'summary', 'reservation of job ' || r.job_id))
        FROM due r
        RETURNING 1
    )
    SELECT count(*)::int FROM queued
$$;
-- +goose StatementEnd

-- +goose Down
-- Starts still waiting on a reservation go to the outbox first, due when
-- now, as the old billing_reserve would have written them.
UPDATE reservations SET workflow_due_at = now() - interval '1 second' WHERE workflow_due_at IS NOT NULL;
SELECT reservation_starts_promote(2147483647);
DROP FUNCTION reservation_starts_promote(INT);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION billing_reserve(p_install UUID, p_app UUID, p_user UUID, p_user_wallet UUID, p_app_wallet UUID,
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

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION billing_close(p_reservation UUID, p_settle BIGINT, p_refund BIGINT, p_status TEXT,
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
DROP INDEX reservations_workflow_due_idx;
ALTER TABLE reservations DROP COLUMN workflow_due_at;
