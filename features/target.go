package features

import (
	"fmt"
	"math"

	"github.com/closecast/closecast"
)

// Target is what the model learns to predict for the day after its input
// window, before any scaling.
type Target string

const (
	// TargetClose is the next day's close (the reference). Scaled with
	// MinMax, it saturates once prices leave the training range: the model
	// cannot output much above 1, i.e. above the training maximum.
	TargetClose Target = "close"
	// TargetLogReturn is the next day's log return ln(close_t/close_{t−1});
	// the price is rebuilt as last close × exp(r̂), so it follows the price
	// level wherever it goes.
	TargetLogReturn Target = "log_return"
)

// ParseTarget accepts "close" or "log_return".
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case TargetClose, TargetLogReturn:
		return t, nil
	case TargetLogReturnEWMAZ:
		// Its value and price need the EWMA volatility, which Value and
		// Price do not carry: the quantile head has its own pipeline.
		return "", fmt.Errorf("target %q is the quantile head's (EWMAZ, pipeline.QuantilesAt, train.TrainQuantileHead); a point model cannot learn it", s)
	}
	return "", fmt.Errorf("unknown target %q: want %q or %q", s, TargetClose, TargetLogReturn)
}

// Warmup returns how many leading bars have no target value: 1 for
// log_return (no previous close), 0 for close.
func (t Target) Warmup() int {
	if t == TargetLogReturn {
		return 1
	}
	return 0
}

// Column returns the raw target value of every bar, aligned with bars:
// close → col[i] = close_i; log_return → col[i] = ln(close_i/close_{i−1}),
// NaN at i = 0. The sample whose input window ends at bar i−1 learns col[i].
// To align with a Matrix, slice it: Column(bars)[Warmup(names):].
func (t Target) Column(bars []closecast.Bar) []float64 {
	col := make([]float64, len(bars))
	for i, b := range bars {
		switch {
		case t == TargetClose:
			col[i] = b.Close
		case i == 0:
			col[i] = math.NaN()
		default:
			col[i] = math.Log(b.Close / bars[i-1].Close)
		}
	}
	return col
}

// Value returns the raw target for a day that closed at close after a
// previous close prev.
func (t Target) Value(close, prev float64) float64 {
	if t == TargetLogReturn {
		return math.Log(close / prev)
	}
	return close
}

// Price turns a raw (already inverse-scaled) model output for the next day
// into a price, given lastClose, the close of the last day of the input
// window: close → out; log_return → lastClose·exp(out).
func (t Target) Price(out, lastClose float64) float64 {
	if t == TargetLogReturn {
		return lastClose * math.Exp(out)
	}
	return out
}
