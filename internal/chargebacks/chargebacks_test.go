package chargebacks

import (
	"testing"

	"github.com/officex/officex/ledger"
)

func TestTakeBack_ProportionalRoundedUpAndCapped(t *testing.T) {
	const credit = int64(ledger.Scale)
	cases := []struct {
		amount, cents, reversed int64
		want                    ledger.Credits
	}{
		{100 * credit, 300, 0, 0},
		{100 * credit, 300, -5, 0},
		{100 * credit, 300, 1, 333_334},      // 1/300 of 100 credits = 0.3333333...: rounded up
		{100 * credit, 300, 100, 33_333_334}, // a third
		{100 * credit, 300, 150, 50 * ledger.Scale},
		{100 * credit, 300, 299, 99_666_667}, // 99.6666666...
		{100 * credit, 300, 300, 100 * ledger.Scale},
		{100 * credit, 300, 900, 100 * ledger.Scale}, // never more than was bought
		{17 * credit, 51, 50, 16_666_667},
		// The largest purchase (1,000,000 credits, $30,000) stays exact.
		{1_000_000 * credit, 3_000_000, 2_999_999, 999_999_666_667},
	}
	for _, c := range cases {
		if got := TakeBack(c.amount, c.cents, c.reversed); got != c.want {
			t.Errorf("TakeBack(%d, %d, %d) = %d, want %d", c.amount, c.cents, c.reversed, got, c.want)
		}
	}
}
