package stripesim

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Limits on request parameters, Stripe's own where Stripe documents one.
const (
	maxStringParam   = 5000       // Stripe's longest string parameter
	maxMetadataKeys  = 50         // Stripe: up to 50 keys
	maxMetadataKey   = 40         // Stripe: key names up to 40 characters
	maxMetadataValue = 500        // Stripe: values up to 500 characters
	maxAmount        = 99_999_999 // Stripe: amounts have at most eight digits
)

// currency is what the simulator knows of a currency Stripe supports.
type currency struct {
	minCharge   int64 // Stripe's minimum charge amount, in the smallest unit
	zeroDecimal bool  // amounts are whole units (JPY), not cents
}

// currencies are those the simulator accepts, with Stripe's minimum charge
// amounts (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
var currencies = map[string]currency{
	"usd": {50, false}, "eur": {50, false}, "gbp": {30, false}, "cad": {50, false},
	"aud": {50, false}, "chf": {50, false}, "nzd": {50, false}, "sgd": {50, false},
	"hkd": {400, false}, "dkk": {250, false}, "nok": {300, false}, "sek": {300, false},
	"pln": {200, false}, "mxn": {1000, false}, "brl": {50, false}, "inr": {50, false},
	"jpy": {50, true},
}

// params are a request's form-encoded parameters, keys as Stripe writes
// them: "amount", "metadata[order]", "payment_method_types[0]".
type params map[string][]string

// get returns the first value of key, or "".
func (p params) get(key string) string {
	if v := p[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// topName is the parameter a key belongs to: "metadata[a]" -> "metadata".
func topName(key string) string {
	name, _, _ := strings.Cut(key, "[")
	return name
}

// rejectUnknown refuses any parameter outside allowed, as Stripe does for
// parameters it does not know; here that includes real Stripe parameters the
// simulator does not model, so nothing is silently ignored. It also bounds
// every value's length.
func (p params) rejectUnknown(allowed ...string) *apiError {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a stable answer when several are wrong
	for _, k := range keys {
		if !slices.Contains(allowed, topName(k)) {
			return invalid("parameter_unknown", k,
				"Received unknown parameter: %s (stripesim simulates only: %s)", k, strings.Join(allowed, ", "))
		}
		for _, v := range p[k] {
			if len(v) > maxStringParam {
				return invalid("parameter_invalid_string", k,
					"Invalid string: %s must be at most %d characters", k, maxStringParam)
			}
		}
	}
	return nil
}

// onlySubkeys refuses keys of the hash parameter name other than subkeys,
// e.g. card[number] when only card[token] is simulated.
func (p params) onlySubkeys(name string, subkeys ...string) *apiError {
	for k := range p {
		sub, ok := strings.CutPrefix(k, name+"[")
		if ok && !slices.Contains(subkeys, strings.TrimSuffix(sub, "]")) {
			return invalid("parameter_unknown", k, "Received unknown parameter: %s", k)
		}
	}
	return nil
}

// required returns the value of a parameter that must be present.
func (p params) required(name string) (string, *apiError) {
	v := p.get(name)
	if v == "" {
		return "", errMissing(name)
	}
	return v, nil
}

// boolean parses a boolean parameter; absent is false.
func (p params) boolean(name string) (bool, *apiError) {
	switch v := p.get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, invalid("parameter_invalid_boolean", name, "Invalid boolean: %s", v)
	}
}

// list returns an array parameter, sent by stripe-go as name[0], name[1]...
// and by others as name[]; indexed values come first, in index order.
func (p params) list(name string) []string {
	type item struct {
		index int
		value string
	}
	var items []item
	for k, vs := range p {
		sub, ok := strings.CutPrefix(k, name+"[")
		if !ok || sub == "]" {
			continue
		}
		if i, err := strconv.Atoi(strings.TrimSuffix(sub, "]")); err == nil && len(vs) > 0 {
			items = append(items, item{i, vs[0]})
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].index < items[b].index })
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.value)
	}
	return append(out, p[name+"[]"]...)
}

// metadata parses metadata[key]=value within Stripe's limits. An empty
// value is dropped, as Stripe treats it as "unset this key".
func (p params) metadata() (map[string]string, *apiError) {
	md := map[string]string{}
	for k := range p {
		sub, ok := strings.CutPrefix(k, "metadata[")
		if !ok {
			if k == "metadata" && p.get(k) != "" {
				return nil, invalid("parameter_invalid_string", "metadata", "Invalid hash: metadata")
			}
			continue
		}
		key, value := strings.TrimSuffix(sub, "]"), p.get(k)
		if len(key) > maxMetadataKey {
			return nil, invalid("", k, "Metadata keys can have up to %d characters, but you passed in a key with %d characters.", maxMetadataKey, len(key))
		}
		if len(value) > maxMetadataValue {
			return nil, invalid("", k, "Metadata values can have up to %d characters, but you passed in a value with %d characters.", maxMetadataValue, len(value))
		}
		if value != "" {
			md[key] = value
		}
	}
	if len(md) > maxMetadataKeys {
		return nil, invalid("", "metadata", "Metadata can have up to %d keys, but you passed in %d keys.", maxMetadataKeys, len(md))
	}
	return md, nil
}

// amount parses the required "amount": a non-negative integer of at most
// eight digits, in the currency's smallest unit.
func (p params) amount() (int64, *apiError) {
	v, e := p.required("amount")
	if e != nil {
		return 0, e
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid("parameter_invalid_integer", "amount", "Invalid integer: %s", v)
	}
	if n > maxAmount {
		return 0, invalid("amount_too_large", "amount", "Amount must be no more than %d", int64(maxAmount))
	}
	return n, nil
}

// currency parses the required "currency"; Stripe accepts any case.
func (p params) currency() (string, *apiError) {
	v, e := p.required("currency")
	if e != nil {
		return "", e
	}
	cur := strings.ToLower(v)
	if _, ok := currencies[cur]; !ok {
		return "", invalid("", "currency", "Invalid currency: %s. stripesim supports: %s", v, knownCurrencies())
	}
	return cur, nil
}

func knownCurrencies() string {
	names := make([]string, 0, len(currencies))
	for c := range currencies {
		names = append(names, c)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// money parses amount and currency, and refuses an amount under min (in the
// smallest unit) with Stripe's amount_too_small.
func (p params) money(min func(currency) int64) (int64, string, *apiError) {
	amount, e := p.amount()
	if e != nil {
		return 0, "", e
	}
	cur, e := p.currency()
	if e != nil {
		return 0, "", e
	}
	if least := min(currencies[cur]); amount < least {
		return 0, "", invalid("amount_too_small", "amount", "Amount must be at least %s %s", formatMinor(least, currencies[cur]), cur)
	}
	return amount, cur, nil
}

// formatMinor writes an amount in the smallest unit as a decimal: 50 -> 0.50.
func formatMinor(n int64, c currency) string {
	if c.zeroDecimal {
		return strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n/100, 10) + "." + strconv.FormatInt(n%100+100, 10)[1:]
}

// minCharge is the least a PaymentIntent may charge; minOne the least a
// transfer or payout may move.
func minCharge(c currency) int64 { return c.minCharge }
func minOne(currency) int64      { return 1 }

// optionalString returns a parameter as a JSON-nullable string.
func (p params) optionalString(name string) *string {
	if v, ok := p[name]; ok && len(v) > 0 && v[0] != "" {
		return &v[0]
	}
	return nil
}
