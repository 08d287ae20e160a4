package openapi

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestParseCredits(t *testing.T) {
	good := map[string]Credits{
		"0": 0, "10": 10 * Credit, "0.25": 250_000, "0.000001": 1, "-3.5": -3_500_000, "1.100000": 1_100_000,
		"9223372036854.775807": math.MaxInt64, "-9223372036854.775808": math.MinInt64, "-0": 0,
	}
	for in, want := range good {
		got, err := ParseCredits(in)
		if err != nil || got != want {
			t.Errorf("ParseCredits(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-", ".", "1.", ".5", "+1", " 1", "1 ", "1e3", "0x10", "007", "1.0000001",
		"9223372036854.775808", "-9223372036854.775809", "1,5", "--1", "1.-5", "NaN", "Inf", "１"} {
		if got, err := ParseCredits(in); !errors.Is(err, ErrCreditsSyntax) {
			t.Errorf("ParseCredits(%q) = %d, %v; want ErrCreditsSyntax", in, got, err)
		}
	}
}

func TestCreditsString(t *testing.T) {
	for c, want := range map[Credits]string{0: "0", 1: "0.000001", 250_000: "0.25", 10 * Credit: "10", -3_500_000: "-3.5",
		-1: "-0.000001", math.MaxInt64: "9223372036854.775807", math.MinInt64: "-9223372036854.775808", 1_000_100: "1.0001"} {
		if got := c.String(); got != want {
			t.Errorf("Credits(%d).String() = %q, want %q", int64(c), got, want)
		}
	}
}

func TestCreditsJSON(t *testing.T) {
	var v struct {
		A, B, C Credits
	}
	v.C = 7
	if err := json.Unmarshal([]byte(`{"A": 0.1, "B": "1000000000000.000001", "C": null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 100_000 || v.B != 1_000_000_000_000_000_001 || v.C != 7 {
		t.Fatalf("decoded %+v", v)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"A":0.1,"B":1000000000000.000001,"C":0.000007}` {
		t.Fatalf("encoded %s", out)
	}
	for _, bad := range []string{`{"A": 1e2}`, `{"A": true}`, `{"A": "0.1234567"}`, `{"A": 0.30000000000000004}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

// FuzzParseCredits: whatever parses is the exact rational the text says
// (checked with math/big), and formats back to a text that parses to it.
func FuzzParseCredits(f *testing.F) {
	for _, s := range []string{"0", "0.25", "-3.5", "1.000001", "9223372036854.775807", "007", "1e3", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCredits(s)
		if err != nil {
			return
		}
		want, ok := new(big.Rat).SetString(s)
		if !ok || strings.ContainsAny(s, "eE/+ ") {
			t.Fatalf("ParseCredits accepted %q", s)
		}
		if got := big.NewRat(int64(c), int64(Credit)); got.Cmp(want) != 0 {
			t.Fatalf("ParseCredits(%q) = %d micro-credits, want %s", s, c, want.FloatString(6))
		}
		if back, err := ParseCredits(c.String()); err != nil || back != c {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, c, c.String(), back, err)
		}
	})
}

// FuzzCreditsString: every int64 formats to a canonical text that parses back.
func FuzzCreditsString(f *testing.F) {
	for _, n := range []int64{0, 1, -1, 250_000, math.MaxInt64, math.MinInt64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		s := Credits(n).String()
		if strings.HasSuffix(s, "0") && strings.Contains(s, ".") {
			t.Fatalf("%d formats with a trailing zero: %q", n, s)
		}
		if back, err := ParseCredits(s); err != nil || back != Credits(n) {
			t.Fatalf("%d -> %q -> %d, %v", n, s, back, err)
		}
	})
}
