package ledger

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseCredits_Exact(t *testing.T) {
	good := map[string]Credits{
		"0": 0, "10": 10 * Scale, "0.25": 250_000, "0.000001": 1, "1.5": 1_500_000,
		"1000000000000": MaxCredits, "999999999999.999999": MaxCredits - 1, "0.100000": 100_000,
	}
	for in, want := range good {
		got, err := ParseCredits(in)
		if err != nil || got != want {
			t.Errorf("ParseCredits(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := []string{"", "-1", "+1", "0.0000001", "1e3", "1E3", "1e400", "abc", " 1", "1 ", "1.", ".5", "01",
		"1000000000000.000001", "99999999999999", "NaN", "Infinity", "0x10", "1_000", "1.2.3", "١"}
	for _, in := range bad {
		if got, err := ParseCredits(in); err == nil {
			t.Errorf("ParseCredits(%q) = %d, want an error", in, got)
		}
	}
}

func TestCredits_FormatsWithoutTrailingZeros(t *testing.T) {
	for c, want := range map[Credits]string{0: "0", 250_000: "0.25", 10 * Scale: "10", 1: "0.000001", -3_500_000: "-3.5"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(c), got, want)
		}
	}
}

func TestCredits_JSONAcceptsNumbersAndNumericStrings(t *testing.T) {
	var v struct{ Amount Credits }
	for in, want := range map[string]Credits{`{"Amount": 0.25}`: 250_000, `{"Amount": "7"}`: 7 * Scale} {
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.Amount != want {
			t.Errorf("%s -> %d, %v", in, v.Amount, err)
		}
	}
	for _, in := range []string{`{"Amount": -1}`, `{"Amount": 1e400}`, `{"Amount": "1 "}`, `{"Amount": 0.1234567}`, `{"Amount": true}`, `{"Amount": null}`} {
		v.Amount = 0
		if err := json.Unmarshal([]byte(in), &v); err == nil && !strings.Contains(in, "null") {
			t.Errorf("%s accepted as %d", in, v.Amount)
		}
	}
	out, _ := json.Marshal(struct{ A Credits }{1_500_000})
	if string(out) != `{"A":1.5}` {
		t.Errorf("marshal: %s", out)
	}
}

// FuzzParseCredits proves parse/format round-trip and that nothing outside the
// accepted grammar (non-negative, at most 6 decimals, at most 10^12) gets in.
func FuzzParseCredits(f *testing.F) {
	for _, s := range []string{"0", "0.25", "10", "1e3", "-1", "0.0000001", "1000000000000", "abc", "1.000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCredits(s)
		if err != nil {
			return
		}
		if c < 0 || c > MaxCredits {
			t.Fatalf("%q parsed out of range: %d", s, c)
		}
		whole, frac, _ := strings.Cut(s, ".")
		if len(frac) > 6 || strings.ContainsAny(s, "eE+- ") || whole == "" {
			t.Fatalf("%q should have been refused", s)
		}
		back, err := ParseCredits(c.String())
		if err != nil || back != c {
			t.Fatalf("round trip %q -> %q -> %d, %v", s, c.String(), back, err)
		}
	})
}
