package officex

import (
	"errors"
	"net/http"
	"testing"
)

func errorsAs(err error, target **Error) bool { return errors.As(err, target) }

func TestErrorFrom(t *testing.T) {
	h := http.Header{"X-Request-Id": {"r-9"}}
	e := errorFrom(402, []byte(`{"success":false,"error":{"code":"INSUFFICIENT_FUNDS","message":"wallet balance too low"}}`), h)
	if e.Code != CodeInsufficientFunds || e.StatusCode != 402 || e.RequestID != "r-9" ||
		e.Error() != "officex: INSUFFICIENT_FUNDS (HTTP 402): wallet balance too low" {
		t.Fatalf("%#v: %s", e, e)
	}
	e = errorFrom(502, []byte("<html>bad gateway</html>"), nil)
	if e.Code != "" || e.Message != "<html>bad gateway</html>" {
		t.Fatalf("%#v", e)
	}
	if e = errorFrom(503, nil, nil); e.Message != "Service Unavailable" {
		t.Fatalf("%#v", e)
	}
}
