package pipeline

import (
	"fmt"
	"math"
	"slices"

	"github.com/closecast/closecast"
)

// Interval methods: how the quantiles of a forecast are made. They are
// the root package's (closecast.IntervalConformal…), named here too so
// that pipeline's callers need not import both packages for one call.
const (
	IntervalConformal = closecast.IntervalConformal
	IntervalMCDropout = closecast.IntervalMCDropout
	IntervalAuto      = closecast.IntervalAuto
)

// Calibration settings.
const (
	// CalibrationHorizon is closecast.CalibrationHorizon.
	CalibrationHorizon = closecast.CalibrationHorizon
	// VolatilityDays is the number of daily log returns whose standard
	// deviation scales a calibration score (see Calibration).
	VolatilityDays = 30
)

// ErrNotCalibrated is closecast.ErrNotCalibrated.
var ErrNotCalibrated = closecast.ErrNotCalibrated

// Calibration is the split-conformal calibration of a model (see
// closecast.Calibration, where the type lives so that a Horizon can carry
// it across the multi-day seam).
type Calibration = closecast.Calibration

// Volatility returns σ_i of Calibration: the standard deviation (n−1
// denominator) of the VolatilityDays daily log returns ending with
// bars[i-1]'s close.
func Volatility(bars []closecast.Bar, i int) (float64, error) {
	if i < VolatilityDays+1 || i > len(bars) {
		return 0, fmt.Errorf("%w: the volatility before bar %d needs %d bars", ErrShortHistory, i, VolatilityDays+1)
	}
	var sum, sq float64
	for j := i - VolatilityDays; j < i; j++ {
		r := math.Log(bars[j].Close / bars[j-1].Close)
		sum += r
		sq += r * r
	}
	n := float64(VolatilityDays)
	v := (sq - sum*sum/n) / (n - 1)
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("pipeline: the %d daily returns before %s have no volatility", VolatilityDays, bars[i-1].Date)
	}
	return math.Sqrt(v), nil
}

// Calibrate returns the calibration of p on the origins from..to of bars
// (see Calibration), up to horizon days ahead: a recursive model runs one
// deterministic path of min(horizon, days left before to) days per origin,
// a direct head one pass. Every origin needs max(History(), VolatilityDays+1)
// bars before it. Day h of an origin is scored only when bars has it on
// the calendar day the forecast names.
func (p *Pipeline) Calibrate(bars []closecast.Bar, from, to closecast.Date, horizon int) (*Calibration, error) {
	if p.Outputs() > 1 {
		horizon = p.Outputs()
	}
	if horizon < 1 {
		return nil, fmt.Errorf("pipeline: calibration horizon %d, want ≥ 1", horizon)
	}
	s := closecast.Series{Bars: bars}
	lo, hi := s.Search(from), s.Search(to+1)
	if need := max(p.History(), VolatilityDays+1); lo < need {
		return nil, fmt.Errorf("%w: calibration from %s needs %d bars before it", ErrShortHistory, from, need)
	}
	if lo >= hi {
		return nil, fmt.Errorf("pipeline: no calibration days in %s..%s", from, to)
	}
	c := &Calibration{From: bars[lo].Date, To: bars[hi-1].Date, Scores: make([][]float32, horizon)}
	for i := lo; i < hi; i++ {
		sigma, err := Volatility(bars, i)
		if err != nil {
			return nil, err
		}
		days := min(horizon, hi-i)
		path, err := p.Paths(bars, i, bars[i].Date, days, 1, false, 0)
		if err != nil {
			return nil, fmt.Errorf("calibration origin %s: %w", bars[i].Date, err)
		}
		for h, v := range path[0] {
			if b := bars[i+h]; b.Date == bars[i].Date+closecast.Date(h) {
				c.Scores[h] = append(c.Scores[h], float32(math.Log(b.Close/v)/sigma))
			}
		}
	}
	for h := range c.Scores {
		slices.Sort(c.Scores[h])
	}
	for len(c.Scores) > 0 && len(c.Scores[len(c.Scores)-1]) == 0 {
		c.Scores = c.Scores[:len(c.Scores)-1]
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// conformalQuantiles returns the conformal quantiles at levels of each day
// of a deterministic forecast made at bar i: days[t]·exp(q·σ_i).
func (p *Pipeline) conformalQuantiles(bars []closecast.Bar, i int, days []float64, levels []float64) ([][]float64, error) {
	c := p.Calibration
	if c == nil {
		return nil, fmt.Errorf("%w: it was trained without a held-back tail to calibrate on", ErrNotCalibrated)
	}
	sigma, err := Volatility(bars, i)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(days))
	for t, v := range days {
		out[t] = make([]float64, len(levels))
		for j, l := range levels {
			q, err := c.Quantile(t+1, l)
			if err != nil {
				return nil, err
			}
			out[t][j] = v * math.Exp(q*sigma)
		}
	}
	return out, nil
}
