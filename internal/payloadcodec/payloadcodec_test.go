package payloadcodec

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func TestCodec_EncryptsRotatesAndPassesPlainPayloadsThrough(t *testing.T) {
	keyA, keyB := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	underA, _ := New(keyA)
	plain, _ := converter.GetDefaultDataConverter().ToPayload(map[string]string{"Token": "tok_visa"})
	enc, err := underA.Encode([]*commonpb.Payload{plain})
	if err != nil || string(enc[0].Metadata["encoding"]) != Encoding || bytes.Contains(enc[0].Data, []byte("tok_visa")) {
		t.Fatalf("encode: %v %v", enc, err)
	}
	rotated, _ := New(keyB, keyA)
	out, err := rotated.Decode(append(enc, plain))
	if err != nil || !bytes.Equal(out[0].Data, plain.Data) || string(out[0].Metadata["encoding"]) != "json/plain" || out[1] != plain {
		t.Fatalf("decode under the keyring: %v %v", out, err)
	}
	onlyB, _ := New(keyB)
	if _, err := onlyB.Decode(enc); err == nil {
		t.Fatal("decoded without the key")
	}
}

func TestHandler_AnswersThePreflightOfAllowedOriginsOnly(t *testing.T) {
	c, _ := New(bytes.Repeat([]byte{1}, 32))
	h := Handler(c, []string{"http://localhost:8233"})
	for origin, want := range map[string]int{"http://localhost:8233": http.StatusNoContent, "http://other.example": http.StatusForbidden} {
		req := httptest.NewRequest(http.MethodOptions, "/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", origin, rec.Code, want)
		}
		if want == http.StatusNoContent && rec.Header().Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("%s: no CORS headers: %v", origin, rec.Header())
		}
	}
}
