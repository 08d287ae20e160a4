// Package ledger is OfficeX's money domain: the Credits type and (with the
// ledger issue) the only code that changes wallet balances. Nothing outside it
// writes a balance column.
package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Credits is an exact amount of credits as an integer count of micro-credits
// (1 credit = 1,000,000). No float64 ever holds money.
type Credits int64

// Scale is the number of micro-credits in one credit.
const Scale = 1_000_000

// MaxCredits bounds any amount accepted from outside: 10^12 credits.
const MaxCredits Credits = 1_000_000_000_000 * Scale

// ErrInvalidAmount is returned for any amount that is not a non-negative
// decimal with at most 6 places and at most 10^12 credits.
var ErrInvalidAmount = errors.New("amount must be a non-negative decimal number with at most 6 decimal places and at most 10^12 credits")

// ParseCredits parses a plain decimal ("10", "0.25", "0.000001") exactly.
// Signs, exponents, spaces, leading "+" and more than 6 decimals are refused.
func ParseCredits(s string) (Credits, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") || len(frac) > 6 || !digits(whole) || !digits(frac) {
		return 0, ErrInvalidAmount
	}
	if len(whole) > 1 && whole[0] == '0' {
		return 0, ErrInvalidAmount // "007" is not a plain number
	}
	if len(whole) > 13 { // more than 10^12 whatever the digits
		return 0, ErrInvalidAmount
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > int64(MaxCredits/Scale) { // checked before scaling, which could overflow
		return 0, ErrInvalidAmount
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	c := Credits(w*Scale + f)
	if c > MaxCredits {
		return 0, ErrInvalidAmount
	}
	return c, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats c as a plain decimal without trailing zeros: 0.25, 10, -3.5.
func (c Credits) String() string {
	neg := c < 0
	u := uint64(c)
	if neg {
		u = uint64(-c)
	}
	whole, frac := u/Scale, u%Scale
	s := strconv.FormatUint(whole, 10)
	if frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", frac), "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes a JSON number.
func (c Credits) MarshalJSON() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalJSON accepts a JSON number or a numeric string, parsed exactly.
func (c *Credits) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err := ParseCredits(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseSignedCredits is ParseCredits with an optional leading "-", for the
// few inputs that may be negative (an admin adjustment).
func ParseSignedCredits(s string) (Credits, error) {
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		c, err := ParseCredits(rest)
		return -c, err
	}
	return ParseCredits(s)
}

// SignedCredits is Credits that JSON may give with a minus sign.
type SignedCredits Credits

// UnmarshalJSON accepts a JSON number or numeric string, possibly negative.
func (c *SignedCredits) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err := ParseSignedCredits(string(b))
	if err != nil {
		return err
	}
	*c = SignedCredits(v)
	return nil
}
