package chart

import (
	"math"
	"strings"
)

var bars = []rune("▁▂▃▄▅▆▇█")

// Sparkline renders ys as one line of block characters ▁▂▃▄▅▆▇█ for the
// terminal, lowest value → ▁, highest → █, linear in between. A series
// longer than width is resampled to exactly width columns, each the mean of
// its share of consecutive values (means keep a monotone series monotone
// and smooth daily noise); a shorter one is drawn one column per value, not
// stretched. A column with no finite value is a space; a flat series is a
// row of ▄. width ≤ 0 or no values give "".
func Sparkline(ys []float64, width int) string {
	if width <= 0 || len(ys) == 0 {
		return ""
	}
	cols := resample(ys, width)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range cols {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	var b strings.Builder
	for _, v := range cols {
		switch {
		case math.IsNaN(v):
			b.WriteRune(' ')
		case hi == lo:
			b.WriteRune(bars[3])
		default:
			i := int(math.Round((v - lo) / (hi - lo) * float64(len(bars)-1)))
			b.WriteRune(bars[i])
		}
	}
	return b.String()
}

// resample returns min(len(ys), width) values: column c is the mean of the
// finite values of ys[c·n/width : (c+1)·n/width], NaN if there are none.
func resample(ys []float64, width int) []float64 {
	n := len(ys)
	if n <= width {
		width = n
	}
	out := make([]float64, width)
	for c := range out {
		from, to := c*n/width, (c+1)*n/width
		s, k := 0.0, 0
		for _, v := range ys[from:to] {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				s += v
				k++
			}
		}
		if k == 0 {
			out[c] = math.NaN()
		} else {
			out[c] = s / float64(k)
		}
	}
	return out
}
