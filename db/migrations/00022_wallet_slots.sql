-- +goose Up
-- Issue 13: no single hot row per app. Every settle of a popular app used to
-- update the app's one `wallets` row and hold its lock until commit, so the
-- settles of one app ran one at a time. An app wallet's available credits
-- are now spread over the wallet row and 16 slot rows: a credit goes to a
-- slot no other transaction holds, a debit (a payout hold, a negative
-- adjustment) first sweeps every slot into the wallet row, in slot order,
-- then debits the row. The wallet's balance is the row plus its slots at
-- every instant (each credit is written with its journal entries), so the
-- invariants stay exact; reads go through wallet_balances.
CREATE TABLE wallet_slots (
    wallet_id  UUID NOT NULL REFERENCES wallets (id),
    slot       SMALLINT NOT NULL CHECK (slot BETWEEN 0 AND 15),
    available  BIGINT NOT NULL DEFAULT 0,  -- micro-credits
    CONSTRAINT wallet_slots_non_negative CHECK (available >= 0),
    PRIMARY KEY (wallet_id, slot)
);

-- Every app wallet gets its slots when it is made (whoever inserts it).
-- +goose StatementBegin
CREATE FUNCTION wallet_slots_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO wallet_slots (wallet_id, slot) SELECT NEW.id, s FROM generate_series(0, 15) AS s;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER wallets_app_slots AFTER INSERT ON wallets
    FOR EACH ROW WHEN (NEW.kind = 'app') EXECUTE FUNCTION wallet_slots_create();
INSERT INTO wallet_slots (wallet_id, slot)
SELECT w.id, s FROM wallets w, generate_series(0, 15) AS s WHERE w.kind = 'app';

-- A wallet's balances as the API shows them: the row plus its slots.
CREATE VIEW wallet_balances AS
SELECT w.id, w.kind, w.owner_user_id,
       (w.available + COALESCE((SELECT sum(s.available) FROM wallet_slots s WHERE s.wallet_id = w.id), 0))::bigint AS available,
       w.reserved, w.created_at, w.updated_at
FROM wallets w;

-- ledger_post writes one journal transaction and the balance changes it
-- makes, in one call (one round trip): the ledger package's Post is its only
-- caller in Go, and billing's functions call it in the database. Locks are
-- taken in one order: wallet rows by id, then slots being swept (slot
-- order), then the journal, then the slot a credit lands in, last, so the
-- most contended row is held for the shortest time. A credit to an app
-- wallet skips slots other transactions hold (SKIP LOCKED), starting at
-- p_slot_hint; it waits only when all 16 are held.
-- +goose StatementBegin
CREATE FUNCTION ledger_post(p_kind TEXT, p_reference TEXT, p_actor TEXT, p_memo JSONB,
                            p_wallets UUID[], p_buckets TEXT[], p_amounts BIGINT[], p_slot_hint INT)
RETURNS TABLE (transaction_id UUID, wallet_id UUID, wallet_kind TEXT, owner_user_id UUID,
               available BIGINT, reserved BIGINT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    d RECORD;
    tx UUID;
    moved BIGINT;
    got SMALLINT;
    rows_ids UUID[] := '{}';
    credits UUID[] := '{}';
    credit_amounts BIGINT[] := '{}';
BEGIN
    -- Per wallet: the net change of each bucket, and whether its available
    -- credits live in slots (an app wallet).
    FOR d IN
        SELECT e.w AS id,
               COALESCE(sum(e.a) FILTER (WHERE e.b = 'available'), 0)::bigint AS av,
               COALESCE(sum(e.a) FILTER (WHERE e.b = 'reserved'), 0)::bigint AS rs,
               EXISTS (SELECT 1 FROM wallet_slots s WHERE s.wallet_id = e.w) AS slotted
        FROM unnest(p_wallets, p_buckets, p_amounts) AS e(w, b, a)
        GROUP BY e.w ORDER BY e.w
    LOOP
        IF d.slotted AND d.av > 0 THEN
            credits := credits || d.id;
            credit_amounts := credit_amounts || d.av;
            d.av := 0;
            IF d.rs = 0 THEN
                CONTINUE;
            END IF;
        END IF;
        moved := 0;
        IF d.slotted AND d.av < 0 THEN
            -- Lock the row first (the fixed order), then sweep the slots
            -- into it so the debit sees every credit.
            PERFORM 1 FROM wallets WHERE id = d.id FOR NO KEY UPDATE;
            WITH l AS (
                SELECT s.slot, s.available FROM wallet_slots s WHERE s.wallet_id = d.id ORDER BY s.slot FOR NO KEY UPDATE
            ), u AS (
                UPDATE wallet_slots s SET available = s.available - l.available
                FROM l WHERE s.wallet_id = d.id AND s.slot = l.slot AND l.available <> 0
                RETURNING l.available
            )
            SELECT COALESCE(sum(u.available), 0) INTO moved FROM u;
        END IF;
        UPDATE wallets SET available = available + moved + d.av, reserved = reserved + d.rs, updated_at = now()
        WHERE id = d.id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'wallet % not found', d.id USING ERRCODE = 'no_data_found';
        END IF;
        rows_ids := rows_ids || d.id;
    END LOOP;

    INSERT INTO journal_transactions (kind, reference, actor, memo)
    VALUES (p_kind, p_reference, p_actor, p_memo) RETURNING id INTO tx;
    INSERT INTO journal_entries (transaction_id, wallet_id, bucket, amount)
    SELECT tx, e.w, e.b, e.a FROM unnest(p_wallets, p_buckets, p_amounts) AS e(w, b, a);

    FOR i IN 1 .. coalesce(array_length(credits, 1), 0) LOOP
        UPDATE wallet_slots s SET available = s.available + credit_amounts[i]
        WHERE s.wallet_id = credits[i] AND s.slot = (
            SELECT f.slot FROM wallet_slots f WHERE f.wallet_id = credits[i]
            ORDER BY (f.slot + p_slot_hint) % 16 LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED)
        RETURNING s.slot INTO got;
        IF got IS NULL THEN -- all 16 held: wait for one
            UPDATE wallet_slots s SET available = s.available + credit_amounts[i]
            WHERE s.wallet_id = credits[i] AND s.slot = abs(p_slot_hint) % 16;
        END IF;
        got := NULL;
    END LOOP;

    RETURN QUERY SELECT tx, w.id, w.kind, w.owner_user_id, w.available, w.reserved, w.created_at, w.updated_at
        FROM (SELECT 1) one LEFT JOIN wallets w ON w.id = ANY (rows_ids);
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION ledger_post(TEXT, TEXT, TEXT, JSONB, UUID[], TEXT[], BIGINT[], INT);
DROP VIEW wallet_balances;
UPDATE wallets w SET available = w.available + s.total
FROM (SELECT wallet_id, sum(available)::bigint AS total FROM wallet_slots GROUP BY wallet_id) s WHERE s.wallet_id = w.id;
DROP TRIGGER wallets_app_slots ON wallets;
DROP FUNCTION wallet_slots_create();
DROP TABLE wallet_slots;
