package evaluate

import (
	"fmt"
	"math"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/pipeline"
)

// Interval is the empirical coverage of a central prediction interval over
// one-step-ahead forecasts: how often the actual close fell inside
// [quantile Lo, quantile Hi] of the day's interval, conformal or
// Monte-Carlo dropout. Level and Coverage are percentages; Width is in the
// series' currency.
type Interval struct {
	Method   string  `json:"method"`            // pipeline.IntervalConformal or pipeline.IntervalMCDropout
	Level    float64 `json:"level"`             // nominal coverage, (Hi−Lo)·100: 80 for [p10, p90]
	Coverage float64 `json:"coverage"`          // percent of the N days whose actual close lay inside
	Width    float64 `json:"width"`             // mean of p_Hi − p_Lo
	WidthPct float64 `json:"width_pct"`         // mean of (p_Hi − p_Lo) / last close, in percent
	N        int     `json:"n"`                 // days scored (OneStep's target days)
	Samples  int     `json:"samples,omitempty"` // Monte-Carlo passes per day (mc_dropout)
	Seed     uint64  `json:"seed,omitempty"`    // dropout seed (mc_dropout)
}

// IntervalOptions says which interval IntervalCoverage scores.
type IntervalOptions struct {
	Method  string  // pipeline.IntervalConformal, or IntervalMCDropout (also when empty)
	Samples int     // Monte-Carlo passes per day (≥ 2; mc_dropout only)
	Seed    uint64  // dropout seed (pipeline.DaySeed per target day)
	Lo, Hi  float64 // quantile levels, 0 < Lo < Hi < 1; zero values mean 0.1 and 0.9
}

// IntervalCoverage scores the model's interval on the same target days as
// OneStep (every day from..to with a bar and enough history, forecast from
// the real bars before it). A day's interval depends only on the model, the
// bars before it and, for mc_dropout, the seed and the day
// (pipeline.SampleAt), so a range's result is the same for any thread count
// and every day's interval is the one `predict --date` gives for it. It runs
// on GOMAXPROCS goroutines.
func IntervalCoverage(p *pipeline.Pipeline, bars []closecast.Bar, from, to closecast.Date, opt IntervalOptions) (Interval, error) {
	if opt.Lo == 0 && opt.Hi == 0 {
		opt.Lo, opt.Hi = 0.1, 0.9
	}
	if err := pipeline.ValidateLevels([]float64{opt.Lo, opt.Hi}); err != nil {
		return Interval{}, err
	}
	levels := []float64{opt.Lo, opt.Hi}
	var bounds func(i int) ([]float64, error)
	switch opt.Method {
	case "", pipeline.IntervalMCDropout:
		opt.Method = pipeline.IntervalMCDropout
		if opt.Samples < 2 {
			return Interval{}, fmt.Errorf("interval: %d samples, want at least 2", opt.Samples)
		}
		bounds = func(i int) ([]float64, error) {
			smp, err := p.SampleAt(bars, []int{i}, opt.Samples, opt.Seed)
			if err != nil {
				return nil, err
			}
			return pipeline.Quantiles(smp[0], levels), nil
		}
	case pipeline.IntervalConformal:
		opt.Samples, opt.Seed = 0, 0
		bounds = func(i int) ([]float64, error) {
			o, err := p.Forecast(bars, i, bars[i].Date, pipeline.HorizonOptions{Horizon: 1, Interval: pipeline.IntervalConformal, Levels: levels})
			if err != nil {
				return nil, err
			}
			return o.Days[0].Quantiles, nil
		}
	default:
		return Interval{}, fmt.Errorf("interval method %q: want %q or %q", opt.Method, pipeline.IntervalConformal, pipeline.IntervalMCDropout)
	}
	s := closecast.Series{Bars: bars}
	need := max(p.History(), 7)
	if opt.Method == pipeline.IntervalConformal {
		need = max(need, pipeline.VolatilityDays+1)
	}
	lo, hi := max(s.Search(from), need), s.Search(to+1)
	if lo >= hi {
		return Interval{}, fmt.Errorf("%w: %s..%s (need %d bars of history before the first target)", ErrNoTargets, from, to, need)
	}
	n := hi - lo
	inside := make([]bool, n)
	width := make([]float64, n)
	rel := make([]float64, n)
	err := parallelDays(n, func(k int) error {
		i := lo + k
		q, err := bounds(i)
		if err != nil {
			return err
		}
		c := bars[i].Close
		inside[k] = c >= q[0] && c <= q[1]
		width[k] = q[1] - q[0]
		rel[k] = 100 * width[k] / bars[i-1].Close
		return nil
	})
	if err != nil {
		return Interval{}, err
	}
	// Rounded so that 0.9 − 0.1 reads 80, not 80.00000000000001.
	iv := Interval{Method: opt.Method, Level: math.Round(1e9*100*(opt.Hi-opt.Lo)) / 1e9, N: n, Samples: opt.Samples, Seed: opt.Seed}
	for k := range n {
		if inside[k] {
			iv.Coverage++
		}
		iv.Width += width[k]
		iv.WidthPct += rel[k]
	}
	iv.Coverage *= 100 / float64(n)
	iv.Width /= float64(n)
	iv.WidthPct /= float64(n)
	return iv, nil
}
