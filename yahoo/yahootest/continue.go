package yahootest

import (
	"math"
	"math/rand/v2"

	"github.com/closecast/closecast"
)

// Continue returns days synthetic daily bars following the last of bars, one
// per calendar day: a seeded, reproducible random walk of the close (daily
// log-returns with a 2 % standard deviation), each bar valid (Open is the
// previous Close, High and Low bracket both, Volume near the last one). Tests
// use it to serve days after the embedded data ends. bars must not be empty.
func Continue(bars []closecast.Bar, days int, seed uint64) []closecast.Bar {
	last := bars[len(bars)-1]
	r := rand.New(rand.NewPCG(seed, 0x636c6f7365636173)) // "closecas"
	out := make([]closecast.Bar, 0, days)
	for i := 0; i < days; i++ {
		open := last.Close
		close := open * math.Exp(0.02*r.NormFloat64())
		hi, lo := math.Max(open, close), math.Min(open, close)
		b := closecast.Bar{
			Date:   last.Date + 1,
			Open:   open,
			High:   hi * (1 + 0.01*r.Float64()),
			Low:    lo * (1 - 0.01*r.Float64()),
			Close:  close,
			Volume: math.Round(math.Max(last.Volume, 1) * (0.8 + 0.4*r.Float64())),
		}
		out = append(out, b)
		last = b
	}
	return out
}
