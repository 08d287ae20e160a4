-- +goose Up
-- One outbox (issue 12 point 6): mail messages start their SendMailWorkflow
-- through the generic outbox like every other request, and the payout batch
-- of a period is started through it too.

-- A start that joins the run of its id that is going (a payout batch: a
-- scheduled and a manual run of one period share payout-batch-<YYYY-MM>),
-- and starts a new run once the last one closed.
ALTER TABLE outbox ADD COLUMN join_running BOOLEAN NOT NULL DEFAULT false;

-- Mail starts still waiting in the mail outbox move over, in their order.
INSERT INTO outbox (kind, workflow_id, workflow_type, input, not_before, created_at)
SELECT 'mail', 'send-mail-' || o.message_id, 'SendMailWorkflow', jsonb_build_object('MessageID', o.message_id::text),
       o.created_at, o.created_at
FROM mail_outbox o
ORDER BY o.id;
DROP TABLE mail_outbox;

-- +goose Down
CREATE TABLE mail_outbox (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  UUID NOT NULL REFERENCES mail_messages (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO mail_outbox (message_id, created_at)
SELECT (input ->> 'MessageID')::uuid, created_at FROM outbox WHERE kind = 'mail' AND workflow_type IS NOT NULL ORDER BY id;
DELETE FROM outbox WHERE kind = 'mail';
-- A batch start row cannot be expressed without the column: the period's
-- batch is started again by its Schedule or an operator.
DELETE FROM outbox WHERE join_running;
ALTER TABLE outbox DROP COLUMN join_running;
