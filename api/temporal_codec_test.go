package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/officex/officex/internal/payloadcodec"
	"github.com/officex/officex/workflows"
)

// payloadsOf lists every payload of a history (inputs, results, signals),
// search attributes aside: the server indexes them, so no codec encrypts
// them; ours hold only GetVersion change ids (TemporalChangeVersion).
func payloadsOf(t *testing.T, h *historypb.History) []*commonpb.Payload {
	t.Helper()
	var all []*commonpb.Payload
	err := proxy.VisitPayloads(context.Background(), proto.Clone(h), proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			all = append(all, p...)
			return p, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// A purchase through 3-D Secure (client secret, card token) and one by a pm_
// id run on the real dev server with the codec on; their histories, read by
// a client WITHOUT the codec (what the Temporal UI shows), hold no client
// secret, token or pm_ id, and every payload carries the encrypted encoding.
func TestTemporalCodec_HistoriesHoldNoSecretsAndEveryPayloadIsEncrypted(t *testing.T) {
	if env.Codec == nil {
		t.Fatal("the test stack runs without a payload codec")
	}
	c := env.Client(t)
	u := c.NewUser()
	r := c.Post("/purchase-credits", purchase(20, "tok_threeDSecure2Required", "codec-3ds"), u.Headers()).Expect(t, 202, "")
	clientSecret := r.String("client_secret")
	if !strings.Contains(clientSecret, "_secret_") {
		t.Fatalf("no client secret answered: %q", clientSecret)
	}
	event, err := env.Stripe.CompleteAction(r.String("payment_intent_id"), true)
	if err != nil {
		t.Fatal(err)
	}
	sendStripeEvent(t, c, event, env.StripeWebhookSecret).Expect(t, 200, "")
	c.Post("/purchase-credits", purchase(20, "pm_card_visa", "codec-pm"), u.Headers()).Expect(t, 200, "")

	plain, err := client.Dial(client.Options{HostPort: env.Config.TemporalAddress, Namespace: env.Config.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	secrets := []string{clientSecret, "tok_threeDSecure2Required", "pm_card_visa"}
	for _, key := range []string{"codec-3ds", "codec-pm"} {
		id, status, _ := purchaseRow(t, u.ID, key)
		if status != "succeeded" {
			t.Fatalf("%s: purchase %s", key, status)
		}
		wid := workflows.CreditPurchaseWorkflowID(id)
		run := plain.GetWorkflow(context.Background(), wid, "")
		if err := env.Temporal.GetWorkflow(context.Background(), wid, "").Get(context.Background(), nil); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		raw := env.RawHistory(t, wid, run.GetRunID())
		rawBytes, _ := proto.Marshal(raw)
		for _, s := range secrets {
			if bytes.Contains(rawBytes, []byte(s)) {
				t.Errorf("%s: the raw history holds %q", key, s)
			}
		}
		payloads := payloadsOf(t, raw)
		if len(payloads) < 4 {
			t.Fatalf("%s: only %d payloads in the history", key, len(payloads))
		}
		for _, p := range payloads {
			if enc := string(p.Metadata["encoding"]); enc != payloadcodec.Encoding || string(p.Metadata[payloadcodec.MetadataKeyID]) != env.Codec.KeyID() {
				t.Errorf("%s: payload with encoding %q key %q: %s", key, enc, p.Metadata[payloadcodec.MetadataKeyID], p.Data)
			}
			if bytes.Contains(p.Data, []byte("PurchaseID")) {
				t.Errorf("%s: a payload is readable: %q", key, p.Data)
			}
		}
		// With the key the same history reads, and even then the client
		// secret is not in it (it travels sealed by the application key).
		decoded, _ := proto.Marshal(env.History(t, wid, run.GetRunID()))
		if !bytes.Contains(decoded, []byte(`"PurchaseID":"`+id+`"`)) {
			t.Errorf("%s: the decoded history does not show the purchase input", key)
		}
		if bytes.Contains(decoded, []byte(clientSecret)) {
			t.Errorf("%s: the decoded history holds the client secret", key)
		}
		checkCodecServer(t, payloads, id)
	}
}

// checkCodecServer posts a history's encrypted payloads to the codec server
// as the Temporal UI does: with the key they decode, from another origin or
// with another key they are refused.
func checkCodecServer(t *testing.T, payloads []*commonpb.Payload, purchaseID string) {
	t.Helper()
	const ui = "http://localhost:8233"
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	post := func(srv *httptest.Server, origin string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return resp, buf.Bytes()
	}
	withKey := httptest.NewServer(payloadcodec.Handler(env.Codec, []string{ui}))
	defer withKey.Close()
	resp, out := post(withKey, ui)
	var decoded commonpb.Payloads
	if resp.StatusCode != 200 || protojson.Unmarshal(out, &decoded) != nil || len(decoded.Payloads) != len(payloads) {
		t.Fatalf("codec server with the key: %d %s", resp.StatusCode, out)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != ui {
		t.Errorf("no CORS answer for the UI's origin: %v", resp.Header)
	}
	if !bytes.Contains(decoded.Payloads[0].Data, []byte(purchaseID)) {
		t.Errorf("the first decoded payload is not the workflow input: %q", decoded.Payloads[0].Data)
	}
	if resp, _ := post(withKey, "http://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another origin got %d", resp.StatusCode)
	}
	otherKey := make([]byte, 32)
	_, _ = rand.Read(otherKey)
	other, err := payloadcodec.New(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	withoutKey := httptest.NewServer(payloadcodec.Handler(other, []string{ui}))
	defer withoutKey.Close()
	if resp, out := post(withoutKey, ui); resp.StatusCode != http.StatusBadRequest || bytes.Contains(out, []byte(purchaseID)) {
		t.Errorf("a codec server without the key answered %d %s", resp.StatusCode, out)
	}
}
