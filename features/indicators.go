package features

import (
	"fmt"
	"math"
	"slices"

	"github.com/closecast/closecast"
)

// registry is every feature, in the order of Names: the raw OHLCV columns,
// log_return_1d, the rolling statistics (all five kinds per window, by
// window), momentum, RSI, volume spike and position in range.
var registry = slices.Concat(
	[]Feature{
		raw("close", "close_t: the day's closing price (the reference model's only input). Warm-up 0.",
			func(b closecast.Bar) float64 { return b.Close }),
		raw("open", "open_t: the day's opening price. Warm-up 0.", func(b closecast.Bar) float64 { return b.Open }),
		raw("high", "high_t: the day's highest price. Warm-up 0.", func(b closecast.Bar) float64 { return b.High }),
		raw("low", "low_t: the day's lowest price. Warm-up 0.", func(b closecast.Bar) float64 { return b.Low }),
		raw("volume", "volume_t: the day's traded volume (USD for Yahoo crypto). Warm-up 0.",
			func(b closecast.Bar) float64 { return b.Volume }),
		{Name: "log_return_1d", Warmup: 1,
			Doc: "ln(close_t / close_{t−1}): the day's log return. Warm-up 1.",
			fill: func(c *calc, out []float64) {
				bars := c.bars
				for i := 1; i < len(bars); i++ {
					out[i] = math.Log(bars[i].Close / bars[i-1].Close)
				}
			}},
	},
	rollingFeatures(rollingWindows...),
	[]Feature{
		momentum(3),
		momentum(7),
		{Name: "rsi_14", Warmup: 14,
			Doc: "100 − 100/(1 + G/L), where G and L are the simple means of the gains max(Δ,0) and losses " +
				"max(−Δ,0) of the 14 daily close changes Δ ending today (the reference's simple average, " +
				"not Wilder's smoothing); 100 when L = 0 < G, 50 when the 14 closes are flat. Warm-up 14.",
			fill: rsi14},
		{Name: "volume_spike", Warmup: 6,
			Doc:  "volume_t / mean(volume over the 7 bars ending today); 1 when those 7 volumes are all 0. Warm-up 6.",
			fill: volumeSpike7},
		{Name: "position_in_range_30", Warmup: 29,
			Doc: "(close_t − min30) / (max30 − min30), min30 and max30 the lowest and highest close of the 30 " +
				"bars ending today: 0 at the 30-day low, 1 at the high; 0.5 when the range is flat. Warm-up 29.",
			fill: positionInRange30},
	},
)

// rollingWindows are the window lengths, in bars, of the rolling_* features.
var rollingWindows = []int{7, 30, 90, 180}

// raw is the feature that is one field of each bar.
func raw(name, doc string, get func(closecast.Bar) float64) Feature {
	return Feature{Name: name, Doc: doc, fill: func(c *calc, out []float64) {
		for i, b := range c.bars {
			out[i] = get(b)
		}
	}}
}

// rollingFeatures is, for each window k, rolling_mean_k, rolling_std_k,
// rolling_max_k, rolling_min_k and rolling_zscore_k.
func rollingFeatures(windows ...int) []Feature {
	var fs []Feature
	for _, k := range windows {
		fs = append(fs,
			Feature{Name: fmt.Sprintf("rolling_mean_%d", k), Warmup: k - 1,
				Doc:  fmt.Sprintf("mean of close over the %d bars ending today (t−%d..t). Warm-up %d.", k, k-1, k-1),
				fill: rolling(k, func(m, _, c float64) float64 { return m })},
			Feature{Name: fmt.Sprintf("rolling_std_%d", k), Warmup: k - 1,
				Doc: fmt.Sprintf("sample standard deviation (n−1, as pandas' rolling std) of close over the %d bars "+
					"ending today. Warm-up %d.", k, k-1),
				fill: rolling(k, func(_, s, c float64) float64 { return s })},
			Feature{Name: fmt.Sprintf("rolling_max_%d", k), Warmup: k - 1,
				Doc:  fmt.Sprintf("highest close over the %d bars ending today. Warm-up %d.", k, k-1),
				fill: extremeFill(k, true)},
			Feature{Name: fmt.Sprintf("rolling_min_%d", k), Warmup: k - 1,
				Doc:  fmt.Sprintf("lowest close over the %d bars ending today. Warm-up %d.", k, k-1),
				fill: extremeFill(k, false)},
			Feature{Name: fmt.Sprintf("rolling_zscore_%d", k), Warmup: k - 1,
				Doc: fmt.Sprintf("(close_t − rolling_mean_%d) / rolling_std_%d; 0 when the window is flat "+
					"(std 0). Warm-up %d.", k, k, k-1),
				fill: rolling(k, func(m, s, c float64) float64 {
					if s == 0 {
						return 0
					}
					return (c - m) / s
				})})
	}
	return fs
}

// momentum is momentum_<k>d, the close's change over k days.
func momentum(k int) Feature {
	return Feature{Name: fmt.Sprintf("momentum_%dd", k), Warmup: k,
		Doc: fmt.Sprintf("close_t − close_{t−%d}: the price change over %d days, in price units. Warm-up %d.", k, k, k),
		fill: func(c *calc, out []float64) {
			bars := c.bars
			for i := k; i < len(bars); i++ {
				out[i] = bars[i].Close - bars[i-k].Close
			}
		}}
}

// rsi14 fills rsi_14.
func rsi14(c *calc, out []float64) {
	bars := c.bars
	const k = 14
	for i := k; i < len(bars); i++ {
		var g, l float64
		for t := i - k + 1; t <= i; t++ {
			d := bars[t].Close - bars[t-1].Close
			if d > 0 {
				g += d
			} else {
				l -= d
			}
		}
		switch {
		case l == 0 && g == 0:
			out[i] = 50
		case l == 0:
			out[i] = 100
		default:
			out[i] = 100 - 100/(1+g/l) // the 1/14 of both means cancels
		}
	}
}

// volumeSpike7 fills volume_spike.
func volumeSpike7(c *calc, out []float64) {
	bars := c.bars
	const k = 7
	for i := k - 1; i < len(bars); i++ {
		s := 0.0
		for _, b := range bars[i-k+1 : i+1] {
			s += b.Volume
		}
		if s == 0 {
			out[i] = 1
		} else {
			out[i] = bars[i].Volume / (s / k)
		}
	}
}

// positionInRange30 fills position_in_range_30.
func positionInRange30(c *calc, out []float64) {
	bars := c.bars
	lo, hi := c.extreme(30, false), c.extreme(30, true)
	for i := 29; i < len(bars); i++ {
		if r := hi[i] - lo[i]; r > 0 {
			out[i] = (bars[i].Close - lo[i]) / r
		} else {
			out[i] = 0.5
		}
	}
}

// rolling returns a fill function that stores f(m, s, close_i) for every
// i ≥ k−1, where m and s are the mean and sample std (n−1) of the k closes
// ending at bar i.
func rolling(k int, f func(m, s, c float64) float64) func(*calc, []float64) {
	return func(c *calc, out []float64) {
		ms := c.meanStd(k)
		for i := k - 1; i < len(c.bars); i++ {
			out[i] = f(ms[0][i], ms[1][i], c.bars[i].Close)
		}
	}
}

// meanStd returns the mean and sample std of the k closes ending at each bar
// (undefined, 0, before bar k−1), computed once per calc. Each window is
// summed afresh in two passes — O(n·k), about a million operations for the
// largest window over the whole BTC history — rather than with a sliding
// sum: a sliding sum's rounding depends on where the series starts, so the
// features of a window computed for serving (from window + warm-up bars)
// would differ in the last bits from the same window in training, and its
// Σx² form cancels for prices near 1e5.
func (c *calc) meanStd(k int) [2][]float64 {
	if ms, ok := c.moments[k]; ok {
		return ms
	}
	bars := c.bars
	ms := [2][]float64{make([]float64, len(bars)), make([]float64, len(bars))}
	for i := k - 1; i < len(bars); i++ {
		w := bars[i-k+1 : i+1]
		m := 0.0
		for _, b := range w {
			m += b.Close
		}
		m /= float64(k)
		ss := 0.0
		for _, b := range w {
			d := b.Close - m
			ss += d * d
		}
		ms[0][i] = m
		if k > 1 {
			ms[1][i] = math.Sqrt(ss / float64(k-1))
		}
	}
	c.moments[k] = ms
	return ms
}

// extremeFill returns a fill function storing the max (or min) close of the
// k bars ending at each bar i ≥ k−1.
func extremeFill(k int, isMax bool) func(*calc, []float64) {
	return func(c *calc, out []float64) {
		e := c.extreme(k, isMax)
		copy(out[k-1:], e[k-1:])
	}
}

// extreme returns the max (or min) close of the k bars ending at each bar
// (undefined before bar k−1), computed once per calc in O(n) with a
// monotone deque of indices whose closes decrease (for max) front to back.
func (c *calc) extreme(k int, isMax bool) []float64 {
	key := k
	if !isMax {
		key = -k
	}
	if e, ok := c.extrema[key]; ok {
		return e
	}
	bars := c.bars
	out := make([]float64, len(bars))
	better := func(a, b float64) bool { return a >= b }
	if !isMax {
		better = func(a, b float64) bool { return a <= b }
	}
	dq := make([]int, 0, k)
	for i, b := range bars {
		for len(dq) > 0 && better(b.Close, bars[dq[len(dq)-1]].Close) {
			dq = dq[:len(dq)-1]
		}
		dq = append(dq, i)
		if dq[0] <= i-k {
			dq = dq[1:]
		}
		if i >= k-1 {
			out[i] = bars[dq[0]].Close
		}
	}
	c.extrema[key] = out
	return out
}
