// Package payloadcodec encrypts every Temporal payload (workflow and activity
// inputs and results, signals, memos, queries) before it leaves the process,
// so histories hold no plain data: whoever reads them in the Temporal UI or
// the database sees ciphertext unless a codec server with the key decodes it.
// It owns the codec, the history decoding tests and tools use, and the codec
// server's HTTP handler; it knows nothing of workflows.
package payloadcodec

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/officex/officex/internal/secretbox"
)

// Encoding marks an encrypted payload (the "encoding" metadata the Temporal
// UI shows); its data is a secretbox ciphertext of the original payload.
const Encoding = "binary/encrypted"

// MetadataKeyID names the key that encrypted a payload (secretbox.KeyID),
// so an operator can tell which key a history needs after a rotation.
const MetadataKeyID = "encryption-key-id"

// sealContext binds ciphertexts to their use: a payload can't be passed off
// as a database secret sealed under the same key, or the other way round.
const sealContext = "officex temporal payload"

// Codec is a converter.PayloadCodec: it encodes under the current key and
// decodes under any key of its keyring. Payloads it did not encrypt (plain
// histories from before the codec was turned on) pass through unchanged.
type Codec struct{ box *secretbox.Box }

var _ converter.PayloadCodec = (*Codec)(nil)

// New makes a Codec from OFFICEX_TEMPORAL_CODEC_KEY and the old keys of
// OFFICEX_TEMPORAL_CODEC_KEYS.
func New(current []byte, old ...[]byte) (*Codec, error) {
	box, err := secretbox.New(current, old...)
	if err != nil {
		return nil, fmt.Errorf("temporal codec: %w", err)
	}
	return &Codec{box: box}, nil
}

// KeyID is the id of the key new payloads are encrypted under.
func (c *Codec) KeyID() string { return c.box.CurrentKeyID() }

// Encode encrypts each payload, metadata included.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		raw, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("temporal codec: marshal payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(c.KeyID())},
			Data:     c.box.Seal(raw, sealContext),
		}
	}
	return out, nil
}

// Decode decrypts the payloads Encode made and leaves others as they are.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		raw, err := c.box.Open(p.Data, sealContext)
		if err != nil {
			return nil, fmt.Errorf("temporal codec: payload encrypted under key %q: %w", p.Metadata[MetadataKeyID], err)
		}
		out[i] = &commonpb.Payload{}
		if err := proto.Unmarshal(raw, out[i]); err != nil {
			return nil, fmt.Errorf("temporal codec: unmarshal payload: %w", err)
		}
	}
	return out, nil
}

// DataConverter is Temporal's default converter with this codec under it.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// DecodeMessage decodes, in place, every payload of a Temporal message (a
// history, an event): what a history read with a plain client needs before
// it can be replayed or stored as test data.
func DecodeMessage(ctx context.Context, c converter.PayloadCodec, msg proto.Message) error {
	return proxy.VisitPayloads(ctx, msg, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return c.Decode(p)
		},
	})
}
