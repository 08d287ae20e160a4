package api

import (
	"testing"

	"github.com/officex/officex/ledger"
)

func TestUSD_ExactAtOneCentPerCredit(t *testing.T) {
	for c, want := range map[ledger.Credits]string{0: "0", 100 * ledger.Scale: "1", 1: "0.00000001", 1_500_000: "0.015", -250 * ledger.Scale: "-2.5"} {
		if got := usd(c); got != want {
			t.Errorf("usd(%d) = %q, want %q", int64(c), got, want)
		}
	}
}
