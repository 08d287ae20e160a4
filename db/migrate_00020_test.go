package db

import (
	"context"
	"testing"
)

// Migration 00020 folds the mail outbox into the generic outbox: a message
// whose SendMailWorkflow was not started yet when the migration runs gets the
// outbox row the relay starts it from (the row mailout writes today), and
// going down puts it back.
func TestMigration00020_MovesMailStartsInFlightIntoTheOutbox(t *testing.T) {
	ctx := context.Background()
	pool, p := migrationDB(t)
	if _, err := p.UpTo(ctx, 19); err != nil {
		t.Fatal(err)
	}
	var msg string
	err := pool.QueryRow(ctx, `
		WITH m AS (INSERT INTO mail_messages (recipient, subject, body_sealed) VALUES ('a@example.com', 'Code', '\x00') RETURNING id),
		     o AS (INSERT INTO mail_outbox (message_id) SELECT id FROM m)
		SELECT id::text FROM m`).Scan(&msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 20); err != nil {
		t.Fatal(err)
	}
	var kind, workflowID, workflowType, input string
	var join bool
	err = pool.QueryRow(ctx, `SELECT kind, workflow_id, workflow_type, input->>'MessageID', join_running FROM outbox`).
		Scan(&kind, &workflowID, &workflowType, &input, &join)
	if err != nil {
		t.Fatalf("the mail start in flight is not in the outbox: %v", err)
	}
	if kind != "mail" || workflowID != "send-mail-"+msg || workflowType != "SendMailWorkflow" || input != msg || join {
		t.Fatalf("outbox row %s %s %s %s join %v, want mail send-mail-%s SendMailWorkflow %s", kind, workflowID, workflowType, input, join, msg, msg)
	}
	var table *string
	if err := pool.QueryRow(ctx, `SELECT to_regclass('mail_outbox')::text`).Scan(&table); err != nil || table != nil {
		t.Fatalf("mail_outbox still exists (%v, %v)", table, err)
	}
	if _, err := p.DownTo(ctx, 19); err != nil {
		t.Fatal(err)
	}
	var back string
	if err := pool.QueryRow(ctx, `SELECT message_id::text FROM mail_outbox`).Scan(&back); err != nil || back != msg {
		t.Fatalf("down: mail_outbox holds %q (%v), want %s", back, err, msg)
	}
}
