package payloadcodec

import (
	"net/http"
	"slices"

	"go.temporal.io/sdk/converter"
)

// MaxRequestBytes bounds one codec request: the Temporal UI sends the
// payloads of one event or one page, and a payload is at most 2 MiB by
// default on the server.
const MaxRequestBytes = 8 << 20

// Handler is the codec server (officex codec-server): Temporal's
// POST .../encode and .../decode over this codec, answering cross-origin
// calls from the Temporal UI origins given. Whoever reaches it can decrypt
// payloads: it listens on loopback by default, beside the operator's
// browser, like the Temporal documentation's codec servers.
func Handler(c *Codec, origins []string) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			if !slices.Contains(origins, origin) {
				http.Error(w, "origin not allowed (OFFICEX_CODEC_CORS_ORIGINS)", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		codec.ServeHTTP(w, r)
	})
}
