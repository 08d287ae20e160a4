-- +goose Up
-- The one transactional outbox to Temporal (issue 12 points 6 and 7). A
-- request that starts a workflow (or signals one) writes a row here in its
-- business transaction; the relay (internal/outbox) leases rows in a short
-- transaction, calls Temporal outside any transaction and deletes each row
-- once Temporal accepted it. The workflow id is the row's business id, so a
-- repeated start after a crash is refused by Temporal and harmless.
CREATE TABLE outbox (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- what the row is for (reservation, purchase, webhook, ...): logs and metrics
    kind           TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    workflow_id    TEXT NOT NULL CHECK (length(workflow_id) BETWEEN 1 AND 255),
    -- a start row names the workflow type; a signal row the signal
    workflow_type  TEXT CHECK (length(workflow_type) <= 255),
    signal_name    TEXT CHECK (length(signal_name) <= 255),
    task_queue     TEXT NOT NULL DEFAULT '' CHECK (length(task_queue) <= 255), -- '' = the relay's queue
    -- the workflow input or signal payload: ids only, never a secret
    input          JSONB CHECK (octet_length(input::text) <= 2048),
    -- start even if a closed run of this id exists (a webhook redelivery)
    allow_rerun    BOOLEAN NOT NULL DEFAULT false,
    -- search attributes and memo of the started workflow, so operators find
    -- it in the Temporal UI by business key: {"search": {...}, "memo": {...}}
    attributes     JSONB CHECK (octet_length(attributes::text) <= 2048),
    not_before     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- set by the relay that is calling Temporal for the row; another relay
    -- takes the row over once it has passed
    lease_until    TIMESTAMPTZ,
    attempts       INT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((workflow_type IS NULL) <> (signal_name IS NULL))
);
-- Rows of one workflow are relayed in order (a signal after its start), and
-- a settle finds its reservation's start row.
CREATE INDEX outbox_workflow_idx ON outbox (workflow_id, id);

-- Rows of the reservation outbox move over; a start row of a closed
-- reservation needs no workflow.
INSERT INTO outbox (kind, workflow_id, workflow_type, signal_name, input, not_before, created_at)
SELECT 'reservation', 'reservation-' || o.reservation_id,
       CASE WHEN o.action = 'start' THEN 'ReservationWorkflow' END,
       CASE WHEN o.action = 'close' THEN 'reservation_closed' END,
       CASE WHEN o.action = 'start' THEN jsonb_build_object('ReservationID', r.id, 'ExpiresAt', r.expires_at) END,
       o.created_at, o.created_at
FROM reservation_outbox o JOIN reservations r ON r.id = o.reservation_id
WHERE o.action = 'close' OR r.status IN ('reserved', 'partial')
ORDER BY o.id;
DROP TABLE reservation_outbox;

-- A purchase's Stripe token or pm_ id, sealed with OFFICEX_ENCRYPTION_KEY
-- and written with the purchase: the charge activity reads it here, so it
-- travels in no workflow input and no outbox row.
CREATE TABLE credit_purchase_tokens (
    purchase_id  UUID PRIMARY KEY REFERENCES credit_purchases (id),
    token_enc    BYTEA NOT NULL
);

-- +goose Down
DROP TABLE credit_purchase_tokens;
CREATE TABLE reservation_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reservation_id  UUID NOT NULL REFERENCES reservations (id),
    action          TEXT NOT NULL CHECK (action IN ('start', 'close')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO reservation_outbox (reservation_id, action, created_at)
SELECT substr(workflow_id, length('reservation-') + 1)::uuid,
       CASE WHEN signal_name IS NULL THEN 'start' ELSE 'close' END, created_at
FROM outbox WHERE kind = 'reservation' ORDER BY id;
DROP TABLE outbox;
