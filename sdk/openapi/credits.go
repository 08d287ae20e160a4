package openapi

// This file is hand-written: the generated code types every amount of the
// spec's Credits schemas as Credits (sdk/internal/spec30 maps them).

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Credits is an exact amount of OfficeX credits as an integer count of
// micro-credits (1 credit = 1,000,000). No binary float ever holds it: the
// API writes amounts as decimal text and Credits reads and writes that text
// exactly.
type Credits int64

// Units of Credits: 5 * Credit, 250_000 * MicroCredit (0.25).
const (
	MicroCredit Credits = 1
	Credit      Credits = 1_000_000
)

// creditDecimals is the API's precision: micro-credits.
const creditDecimals = 6

// ErrCreditsSyntax is wrapped by every ParseCredits failure.
var ErrCreditsSyntax = errors.New("not a decimal amount of credits")

// ParseCredits reads a plain decimal with at most 6 decimal places and an
// optional leading minus: "10", "0.25", "-3.5", "0.000001". Exponents, "+",
// spaces, leading zeros ("007") and amounts beyond int64 micro-credits are
// refused, as the API refuses them.
func ParseCredits(s string) (Credits, error) {
	digits, neg := strings.CutPrefix(s, "-")
	whole, frac, dot := strings.Cut(digits, ".")
	if !isDigits(whole) || (dot && !isDigits(frac)) || len(frac) > creditDecimals ||
		(len(whole) > 1 && whole[0] == '0') {
		return 0, fmt.Errorf("%w: %q (want a decimal like 0.25, at most 6 decimal places)", ErrCreditsSyntax, s)
	}
	// whole and frac padded to 6 digits, side by side, are the micro-credits;
	// ParseInt reports what does not fit in an int64.
	text := whole + frac + strings.Repeat("0", creditDecimals-len(frac))
	if neg {
		text = "-" + text
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is out of range", ErrCreditsSyntax, s)
	}
	return Credits(n), nil
}

// MustParseCredits is ParseCredits for constants; it panics on bad input.
func MustParseCredits(s string) Credits {
	c, err := ParseCredits(s)
	if err != nil {
		panic(err)
	}
	return c
}

func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// String writes c as the shortest exact decimal: "0.25", "10", "-3.5".
func (c Credits) String() string {
	text := strconv.FormatInt(int64(c), 10)
	sign := ""
	if c < 0 {
		sign, text = "-", text[1:]
	}
	if len(text) <= creditDecimals {
		text = strings.Repeat("0", creditDecimals+1-len(text)) + text
	}
	cut := len(text) - creditDecimals
	whole, frac := text[:cut], strings.TrimRight(text[cut:], "0")
	if frac == "" {
		return sign + whole
	}
	return sign + whole + "." + frac
}

// MarshalJSON writes a JSON number with exact decimal text, as the API does.
func (c Credits) MarshalJSON() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalJSON reads a JSON number or a decimal string exactly; null leaves
// c unchanged, as encoding/json does for other types.
func (c *Credits) UnmarshalJSON(b []byte) error {
	text := string(bytes.TrimSpace(b))
	if text == "null" {
		return nil
	}
	if unquoted, err := strconv.Unquote(text); err == nil {
		text = unquoted
	}
	v, err := ParseCredits(text)
	if err != nil {
		return err
	}
	*c = v
	return nil
}
