package stripesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// newEvent is the Stripe Event JSON for a change of object, with the API
// version stripe-go v76 expects so webhook.ConstructEvent accepts it.
// Marshalled at once: the event is a snapshot, as Stripe's are.
func newEvent(typ string, object any, account string) []byte {
	b, err := json.Marshal(event{
		ID: newID("evt"), Object: "event", Account: account, APIVersion: stripe.APIVersion,
		Created: time.Now().Unix(), Data: eventData{Object: object}, PendingWebhooks: 1, Type: typ,
	})
	if err != nil {
		panic(fmt.Sprintf("stripesim: encoding event: %v", err))
	}
	return b
}

// SignPayload returns the Stripe-Signature header value Stripe would send
// with payload, signed at t with the endpoint's signing secret:
// "t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<payload>">".
func SignPayload(secret string, payload []byte, t time.Time) string {
	ts := fmt.Sprintf("%d", t.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(payload)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
