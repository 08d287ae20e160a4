package console

import (
	"fmt"
	"strings"

	"github.com/officex/officex/ledger"
)

// Chart geometry (SVG user units); MaxChartPoints bounds what one draws.
const (
	chartWidth, chartHeight = 600, 200
	chartLeft, chartBottom  = 50, 20 // room for the axis labels
	MaxChartPoints          = 36
)

// Point is one month of a series, in micro-credits.
type Point struct {
	Label string // e.g. 2026-11
	Value ledger.Credits
}

// Chart is an inline SVG chart drawn by the server (no script, nothing
// fetched): a line (Polyline) or bars, with the month labels and the top of
// the scale.
type Chart struct {
	Title          string
	Width, Height  int
	Left, Baseline int
	Polyline       string // "x,y x,y ..." for a line chart
	Dots           []Mark
	Bars           []Mark
	Labels         []Mark
	Top, Bottom    string // the scale's ends, in credits
	Empty          bool
}

// Mark is a bar, a dot or a label at x, y.
type Mark struct {
	X, Y, W, H int
	Text       string
}

// scale maps the series onto the chart's height, from min(0, lowest) to
// max(0, highest), so a zero line is always in view.
func scale(pts []Point) (lo, hi ledger.Credits, y func(ledger.Credits) int) {
	for _, p := range pts {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	if hi == lo {
		hi = lo + ledger.Scale
	}
	plot := chartHeight - chartBottom - 10
	return lo, hi, func(v ledger.Credits) int {
		return 10 + int(float64(hi-v)/float64(hi-lo)*float64(plot)) // drawing only, never money
	}
}

func newChart(title string, pts []Point) (Chart, func(ledger.Credits) int, int) {
	if len(pts) > MaxChartPoints {
		pts = pts[len(pts)-MaxChartPoints:]
	}
	c := Chart{Title: title, Width: chartWidth, Height: chartHeight, Left: chartLeft, Empty: len(pts) == 0}
	lo, hi, y := scale(pts)
	c.Top, c.Bottom, c.Baseline = hi.String(), lo.String(), y(0)
	step := (chartWidth - chartLeft - 10) / max(len(pts), 1)
	for i, p := range pts {
		if len(pts) <= 12 || i%3 == 0 {
			c.Labels = append(c.Labels, Mark{X: chartLeft + i*step + step/2, Y: chartHeight - 4, Text: p.Label})
		}
	}
	return c, y, step
}

// LineChart draws pts as a line with a dot per month.
func LineChart(title string, pts []Point) Chart {
	c, y, step := newChart(title, pts)
	var b strings.Builder
	for i, p := range c.tail(pts) {
		x := chartLeft + i*step + step/2
		fmt.Fprintf(&b, "%d,%d ", x, y(p.Value))
		c.Dots = append(c.Dots, Mark{X: x, Y: y(p.Value), Text: p.Label + ": " + p.Value.String() + " credits"})
	}
	c.Polyline = strings.TrimSpace(b.String())
	return c
}

// BarChart draws pts as one bar per month.
func BarChart(title string, pts []Point) Chart {
	c, y, step := newChart(title, pts)
	for i, p := range c.tail(pts) {
		top, base := y(max(p.Value, 0)), y(min(p.Value, 0))
		c.Bars = append(c.Bars, Mark{X: chartLeft + i*step + step/6, Y: top, W: max(step*2/3, 1), H: max(base-top, 1),
			Text: p.Label + ": " + p.Value.String() + " credits"})
	}
	return c
}

func (c Chart) tail(pts []Point) []Point {
	if len(pts) > MaxChartPoints {
		return pts[len(pts)-MaxChartPoints:]
	}
	return pts
}
