package pipeline

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/closecast/closecast"
)

// Interval methods: how the quantiles of a forecast are made.
const (
	// IntervalConformal widens the deterministic forecast by quantiles of
	// the model's own past errors on days it was not fitted on (split
	// conformal prediction, see Calibration). It needs a calibrated model.
	IntervalConformal = "conformal"
	// IntervalMCDropout takes quantiles of Monte-Carlo dropout sample
	// paths: the model's uncertainty about its weights only.
	IntervalMCDropout = "mc_dropout"
	// IntervalAuto is conformal for a calibrated model, else Monte-Carlo
	// dropout, else none (a model without dropout or calibration).
	IntervalAuto = "auto"
)

// Calibration settings.
const (
	// CalibrationHorizon is how many days ahead a recursive model is
	// calibrated (a direct head is calibrated for all its outputs). It
	// matches the longest horizon the HTTP API serves.
	CalibrationHorizon = 30
	// VolatilityDays is the number of daily log returns whose standard
	// deviation scales a calibration score (see Calibration).
	VolatilityDays = 30
)

// ErrNotCalibrated is wrapped when a conformal interval is asked of a model
// without a calibration for that horizon.
var ErrNotCalibrated = errors.New("the model has no conformal calibration")

// Calibration is the split-conformal calibration of a model: its
// volatility-scaled errors on the calibration days From..To, days it was
// not fitted on (training holds back its tail for this; a model trained
// without a tail has no calibration).
//
// For a forecast of close ĉ made at origin bar i (the first forecast day
// being bars[i]) and its actual close c on forecast day h (h = 1 is
// bars[i]), the score is s = ln(c/ĉ) / σ_i, where σ_i is the standard
// deviation of the VolatilityDays daily log returns ending with bars[i-1]:
// scaling by the volatility at the origin lets one calibration serve calm
// and turbulent markets alike (a locally adaptive conformal score). Scores[h-1]
// holds, ascending, the scores of step h of every origin in From..To whose
// day h also lies in From..To, so the calibration never looks past To.
//
// The interval of a new forecast at level τ is ĉ·exp(q_τ·σ) with q_τ the
// conformal quantile of Scores[h-1] (Quantile). It covers as advertised
// when the new score is exchangeable with the calibration scores; markets
// change regime, so check the coverage `closecast evaluate` reports.
type Calibration struct {
	From   closecast.Date `json:"from"`
	To     closecast.Date `json:"to"`
	Scores [][]float32    `json:"scores"`
}

// Horizon returns how many days ahead c is calibrated.
func (c *Calibration) Horizon() int { return len(c.Scores) }

// Validate checks that every step has ascending, finite scores and that
// each step has no more scores than the one before it.
func (c *Calibration) Validate() error {
	if len(c.Scores) == 0 {
		return errors.New("calibration has no scores")
	}
	if c.To < c.From {
		return fmt.Errorf("calibration range %s..%s is reversed", c.From, c.To)
	}
	for h, s := range c.Scores {
		if len(s) == 0 || h > 0 && len(s) > len(c.Scores[h-1]) {
			return fmt.Errorf("calibration step %d has %d scores", h+1, len(s))
		}
		for k, v := range s {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || k > 0 && v < s[k-1] {
				return fmt.Errorf("calibration step %d: score %d (%v) is not finite or not ascending", h+1, k, v)
			}
		}
	}
	return nil
}

// Quantile returns the conformal quantile of step h's n scores at level:
// the ⌈(n+1)·level⌉-th smallest for level ≥ 0.5 and the ⌊(n+1)·level⌋-th
// for level < 0.5. That finite-sample rule makes the interval between a
// level a < 0.5 and a level b > 0.5 cover a new exchangeable score with
// probability at least b − a. It fails when n is too small for level.
func (c *Calibration) Quantile(h int, level float64) (float64, error) {
	if h < 1 || h > len(c.Scores) {
		return 0, fmt.Errorf("%w for day %d: it is calibrated for days 1..%d", ErrNotCalibrated, h, len(c.Scores))
	}
	s := c.Scores[h-1]
	n := len(s)
	var k int
	if level >= 0.5 {
		k = int(math.Ceil(float64(n+1) * level))
	} else {
		k = int(math.Floor(float64(n+1) * level))
	}
	if k < 1 || k > n {
		return 0, fmt.Errorf("%w at level %v for day %d: %d calibration days are too few", ErrNotCalibrated, level, h, n)
	}
	return float64(s[k-1]), nil
}

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
