-- +goose Up
-- Issue 13, item 4: an expiry in one round trip. The ReservationWorkflow's
-- activity and the expiry sweeper both call billing_expire; a closed
-- reservation is left alone, so whichever comes first refunds, once. It
-- does what billing.Expire did in four statements: lock the reservation,
-- close it as expired through billing_close (refund through ledger_post),
-- and leave the user an inbox message from the app, once per reservation.
-- p_skip_locked is the sweeper's: a reservation another transaction holds
-- (a settle racing its timeout, or the other worker's sweeper) is skipped
-- and NULL returned, rather than waited for.

-- +goose StatementBegin
CREATE FUNCTION billing_expire(p_reservation UUID, p_skip_locked BOOLEAN, p_slot_hint INT)
RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    r reservations;
    refund BIGINT;
BEGIN
    -- Already closed (the sweeper's doing, most often, when thousands time
    -- out together): answer without a row lock, whose commit would cost a
    -- WAL flush.
    SELECT * INTO r FROM reservations WHERE id = p_reservation;
    IF FOUND AND r.status NOT IN ('reserved', 'partial') THEN
        RETURN r.status;
    END IF;
    IF p_skip_locked THEN
        SELECT * INTO r FROM reservations WHERE id = p_reservation FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    ELSE
        SELECT * INTO r FROM reservations WHERE id = p_reservation FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'reservation not found' USING ERRCODE = 'OXNF0';
        END IF;
    END IF;
    IF r.status NOT IN ('reserved', 'partial') THEN
        RETURN r.status;
    END IF;
    refund := r.amount - r.settled - r.refunded;
    PERFORM billing_close(r.id, 0, refund, 'expired', 'expired', refund, p_slot_hint);
    -- The message billing.Expire wrote: credits printed as ledger.Credits
    -- prints them (no trailing zeros), the job id as the app knows it.
    INSERT INTO inbox_messages (user_id, app_id, install_id, external_id, title, body)
    VALUES (r.user_id, r.app_id, r.install_id, 'officex:reservation-expired:' || r.id, 'Reservation expired',
            'Reservation RESV#' || r.job_id || ' timed out unsettled; ' || trim_scale(refund::numeric / 1000000)::text
            || ' credits went back to your wallet.')
    ON CONFLICT ON CONSTRAINT inbox_messages_once DO NOTHING;
    RETURN 'expired';
END $$;
-- +goose StatementEnd

-- billing_expire_overdue: the sweeper's batch. Up to p_limit reservations
-- open more than p_grace_ms past their timeout, oldest first, expired in one
-- transaction: measured with 5,000 expiring together, a commit per expiry
-- left the backends waiting on WAL flushes 60% of the time (bench/results.md).
-- It never waits for a lock, so it cannot deadlock with a request: the
-- reservations, then their installs, then their users' wallets are locked
-- in that order with SKIP LOCKED (a settle takes reservation, install,
-- wallets; a reserve install, wallet), and a reservation whose install or
-- wallet another transaction holds is left for the next sweep. Answers how
-- many overdue reservations it found (when that is p_limit there may be more).
-- +goose StatementBegin
CREATE FUNCTION billing_expire_overdue(p_grace_ms BIGINT, p_limit INT, p_slot_hint INT)
RETURNS INT LANGUAGE plpgsql AS $$
DECLARE
    found_ids UUID[];
    inst UUID[];
    wal UUID[];
    rid UUID;
BEGIN
    SELECT coalesce(array_agg(c.id), '{}') INTO found_ids FROM (
        SELECT rv.id FROM reservations rv
        WHERE rv.status IN ('reserved', 'partial') AND rv.expires_at < now() - p_grace_ms * interval '1 millisecond'
        ORDER BY rv.expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED) c;
    SELECT coalesce(array_agg(c.id), '{}') INTO inst FROM (
        SELECT i.id FROM installs i
        WHERE i.id IN (SELECT rv.install_id FROM reservations rv WHERE rv.id = ANY (found_ids))
        ORDER BY i.id FOR NO KEY UPDATE SKIP LOCKED) c;
    SELECT coalesce(array_agg(c.id), '{}') INTO wal FROM (
        SELECT w.id FROM wallets w
        WHERE w.id IN (SELECT rv.user_wallet_id FROM reservations rv WHERE rv.id = ANY (found_ids))
        ORDER BY w.id FOR NO KEY UPDATE SKIP LOCKED) c;
    FOR rid IN
        SELECT rv.id FROM reservations rv
        WHERE rv.id = ANY (found_ids) AND rv.install_id = ANY (inst) AND rv.user_wallet_id = ANY (wal)
        ORDER BY rv.expires_at
    LOOP
        PERFORM billing_expire(rid, true, p_slot_hint);
    END LOOP;
    RETURN cardinality(found_ids);
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION billing_expire_overdue(BIGINT, INT, INT);
DROP FUNCTION billing_expire(UUID, BOOLEAN, INT);
