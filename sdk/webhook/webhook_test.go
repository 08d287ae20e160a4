package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/officex/officex/internal/apps"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// signed is a delivery as OfficeX signs it (internal/apps.SignWebhook, the
// code the delivery activity runs), at ts.
func signed(t *testing.T, ts time.Time, body string) http.Header {
	t.Helper()
	sig, err := apps.SignWebhook(secret, "msg_1", ts.Unix(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {strconv.FormatInt(ts.Unix(), 10)}, "Webhook-Signature": {sig}}
}

func TestVerify(t *testing.T) {
	const body = `{"event":"INSTALL","payload":{"install_id":"i"},"uuid":"u"}`
	now := time.Now()
	if err := Verify(secret, signed(t, now, body), []byte(body)); err != nil {
		t.Fatalf("a fresh delivery: %v", err)
	}
	rotated := signed(t, now, body)
	rotated.Set("Webhook-Signature", "v1,b2xkIHNpZ25hdHVyZQ== v1a,aWdub3JlZA== "+rotated.Get("Webhook-Signature"))
	if err := Verify(secret, rotated, []byte(body)); err != nil {
		t.Fatalf("several signatures, one good: %v", err)
	}
	cases := map[string]struct {
		headers http.Header
		body    string
		secret  string
		want    error
	}{
		"tampered body":     {signed(t, now, body), `{"event":"INSTALL","payload":{"install_id":"j"},"uuid":"u"}`, secret, ErrSignature},
		"other secret":      {signed(t, now, body), body, "whsec_b3RoZXIgc2VjcmV0IGJ5dGVz", ErrSignature},
		"six minutes old":   {signed(t, now.Add(-6*time.Minute), body), body, secret, ErrTimestamp},
		"from the future":   {signed(t, now.Add(6*time.Minute), body), body, secret, ErrTimestamp},
		"no signature":      {http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)}}, body, secret, ErrMissingHeaders},
		"bad secret":        {signed(t, now, body), body, "whsec_***", ErrSecret},
		"timestamp changed": {withHeader(signed(t, now, body), "Webhook-Timestamp", strconv.FormatInt(now.Unix()-1, 10)), body, secret, ErrSignature},
		"id changed":        {withHeader(signed(t, now, body), "Webhook-Id", "msg_2"), body, secret, ErrSignature},
		"not a number":      {withHeader(signed(t, now, body), "Webhook-Timestamp", "soon"), body, secret, ErrTimestamp},
		"v2 only":           {withHeader(signed(t, now, body), "Webhook-Signature", "v2,"+signed(t, now, body).Get("Webhook-Signature")[3:]), body, secret, ErrSignature},
	}
	for name, c := range cases {
		if err := Verify(c.secret, c.headers, []byte(c.body)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// The tolerance is the Verifier's: an hour-old delivery passes with two.
	old := signed(t, now.Add(-time.Hour), body)
	if err := (Verifier{Secret: secret, Tolerance: 2 * time.Hour}).Verify(old, []byte(body)); err != nil {
		t.Fatalf("within a 2h tolerance: %v", err)
	}
	ev, err := (Verifier{Secret: secret}).Parse(signed(t, now, body), []byte(body))
	if err != nil || ev.Event != "INSTALL" || ev.UUID != "u" {
		t.Fatalf("Parse: %+v, %v", ev, err)
	}
}

func withHeader(h http.Header, k, v string) http.Header {
	h.Set(k, v)
	return h
}
