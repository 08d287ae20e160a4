package officex

import "github.com/officex/officex/sdk/openapi"

// Credits is an exact amount of credits in int64 micro-credits (see
// openapi.Credits: the generated types use it for every amount).
type Credits = openapi.Credits

// Units of Credits: 5 * officex.Credit is 5 credits, 250_000 * officex.MicroCredit is 0.25.
const (
	MicroCredit = openapi.MicroCredit
	Credit      = openapi.Credit
)

// ParseCredits reads a decimal amount exactly ("0.25", "-3.5"; at most 6 decimals).
func ParseCredits(s string) (Credits, error) { return openapi.ParseCredits(s) }

// MustParseCredits is ParseCredits for constants; it panics on bad input.
func MustParseCredits(s string) Credits { return openapi.MustParseCredits(s) }
