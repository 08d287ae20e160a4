package rekey_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/rekey"
	"github.com/officex/officex/internal/secretbox"
	"github.com/officex/officex/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// withBox is the test stack's API with another keyring: what a restarted
// server runs with after the operator changed the keys.
func withBox(t *testing.T, box *secretbox.Box) (*testenv.Env, *testenv.Client) {
	e := *env
	e.Box = box
	srv := httptest.NewServer(e.NewHandler(nil))
	t.Cleanup(srv.Close)
	return &e, e.ClientFor(t, srv.URL)
}

type written struct {
	user          testenv.User
	appID         uuid.UUID
	webhookSecret string
	install       testenv.Installed
	clientSecret  string
	purchaseKey   string
}

// writeUnderCurrentKey stores one value in every encrypted column through
// the API and the services, under env.Box (key A).
func writeUnderCurrentKey(t *testing.T) written {
	c := env.Client(t)
	vendor, user := c.NewUser(), c.NewUser()
	app := c.RegisterApp(vendor, map[string]any{"iframe_url": "https://app.example.com/frame"})
	in := c.Install(user, app.ID, nil)
	ctxValue := "sk-agent-" + uuid.NewString()
	if _, err := env.Apps().MergeAgentContext(context.Background(), uuid.MustParse(in.ID), map[string]*string{"API_KEY": &ctxValue}); err != nil {
		t.Fatal(err)
	}
	key := "rekey-" + uuid.NewString()
	body := map[string]any{"amount": 20, "payment_method": map[string]any{"type": "stripe", "token": "tok_threeDSecure2Required"}, "idempotency_key": key}
	r := c.Post("/purchase-credits", body, user.Headers()).Expect(t, 202, "")
	return written{user: user, appID: uuid.MustParse(app.ID), webhookSecret: app.WebhookSecret, install: in,
		clientSecret: r.String("client_secret"), purchaseKey: key}
}

// readsBack checks every written secret reads back through box: the client
// secret by the purchase's replay, the install secret by the launch URL, the
// agent context and the webhook signing secret by their services.
func readsBack(t *testing.T, box *secretbox.Box, w written) {
	t.Helper()
	e, c := withBox(t, box)
	body := map[string]any{"amount": 20, "payment_method": map[string]any{"type": "stripe", "token": "tok_threeDSecure2Required"}, "idempotency_key": w.purchaseKey}
	if got := c.Post("/purchase-credits", body, w.user.Headers()).Expect(t, 202, "").String("client_secret"); got != w.clientSecret {
		t.Errorf("client secret read back %q, want %q", got, w.clientSecret)
	}
	launch := c.Get("/users/me/installs/"+w.install.ID+"/launch", w.user.Headers()).Expect(t, 200, "")
	u, err := url.Parse(launch.String("url"))
	var values []string
	for _, v := range u.Query() {
		values = append(values, v...)
	}
	if err != nil || !slices.Contains(values, w.install.Secret) {
		t.Errorf("launch URL %q does not carry the install secret", launch.String("url"))
	}
	svc := e.Apps()
	if ac, err := svc.MergeAgentContext(context.Background(), uuid.MustParse(w.install.ID), nil); err != nil || ac["API_KEY"] == "" {
		t.Errorf("agent context: %v %v", ac, err)
	}
	row, err := dbgen.New(env.Pool).GetApp(context.Background(), w.appID)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := svc.WebhookSecret(row); err != nil || s != w.webhookSecret {
		t.Errorf("webhook secret: %v", err)
	}
}

// notUnderCurrent counts the stored values of every encrypted column that are not
// under box's current key.
func notUnderCurrent(t *testing.T, box *secretbox.Box) (total, stale int) {
	t.Helper()
	for _, col := range rekey.Columns {
		rows, err := env.Pool.Query(context.Background(), fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NOT NULL", col.Name, col.Table, col.Name))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v []byte
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			total++
			if !box.IsCurrent(v) {
				stale++
			}
		}
		rows.Close()
	}
	return total, stale
}

func TestRotateEncryptionKey_ReencryptsEverythingAndTheOldKeyCanGo(t *testing.T) {
	keyB := make([]byte, 32)
	_, _ = rand.Read(keyB)
	var ws []written
	for range 3 { // more rows than a batch, so the run pages
		ws = append(ws, writeUnderCurrentKey(t))
	}
	rotated, err := secretbox.New(keyB, env.Config.EncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	total, stale := notUnderCurrent(t, rotated)
	if stale != total || total < 4*len(ws) {
		t.Fatalf("before the rotation %d of %d values are under an old key", stale, total)
	}
	// Key B current, A in the keyring: everything still reads (and the
	// agent context, merged here, is written again under B).
	readsBack(t, rotated, ws[0])

	rep, err := rekey.Run(context.Background(), env.Pool, rotated, 2)
	if err != nil {
		t.Fatalf("rotate: %v (%+v)", err, rep)
	}
	if _, stale := notUnderCurrent(t, rotated); stale != 0 {
		t.Fatalf("%d values still under key A after the rotation: %+v", stale, rep)
	}
	again, err := rekey.Run(context.Background(), env.Pool, rotated, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range again.Columns {
		if col.Rewritten != 0 || col.Failed != 0 {
			t.Fatalf("a second run rewrote or failed values: %+v", again)
		}
	}

	onlyB, err := secretbox.New(keyB)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		readsBack(t, onlyB, w)
	}
	// Without key B nothing opens any more: the run reports every value.
	onlyA, _ := secretbox.New(env.Config.EncryptionKey)
	failed, err := rekey.Run(context.Background(), env.Pool, onlyA, rekey.DefaultBatch)
	if err != rekey.ErrUnreadable || failed.Columns[0].Failed == 0 {
		t.Fatalf("a keyring without the current key: %v %+v", err, failed)
	}
	// Back under key A, for the harness's own services.
	back, _ := secretbox.New(env.Config.EncryptionKey, keyB)
	if _, err := rekey.Run(context.Background(), env.Pool, back, rekey.DefaultBatch); err != nil {
		t.Fatal(err)
	}
}

// Every BYTEA column named *_enc is in rekey.Columns, so a new encrypted
// column can't be left out of a rotation.
func TestColumns_CoverTheSchema(t *testing.T) {
	rows, err := env.Pool.Query(context.Background(), `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type = 'bytea' AND column_name LIKE '%\_enc'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		n++
		if !slices.ContainsFunc(rekey.Columns, func(c rekey.Column) bool { return c.Table == table && c.Name == column }) {
			t.Errorf("%s.%s is encrypted but missing from rekey.Columns", table, column)
		}
	}
	if n < len(rekey.Columns) {
		t.Fatalf("found %d encrypted columns, rekey.Columns lists %d", n, len(rekey.Columns))
	}
}
