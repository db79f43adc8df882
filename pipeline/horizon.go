package pipeline

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/metrics"
)

// Default interval settings (the root package's, see closecast.HorizonOptions).
const (
	DefaultSamples = closecast.DefaultSamples
	DefaultSeed    = closecast.DefaultSeed
	MaxHorizon     = closecast.MaxHorizon
	MaxSamples     = closecast.MaxSamples
)

// DefaultLevels is closecast.DefaultLevels.
var DefaultLevels = closecast.DefaultLevels

// ErrNoDropout is closecast.ErrNoDropout.
var ErrNoDropout = closecast.ErrNoDropout

// DaySeed derives the dropout seed of the step that forecasts day d from a
// request's seed (SplitMix64 finaliser of a mix of both).
func DaySeed(seed uint64, d closecast.Date) uint64 {
	z := seed ^ (uint64(uint32(d)) * 0x9e3779b97f4a7c15)
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// HorizonOptions says what a multi-day forecast computes; the type lives
// in the root package, the multi-day seam's home.
type HorizonOptions = closecast.HorizonOptions

// ValidateLevels is closecast.ValidateLevels.
func ValidateLevels(levels []float64) error { return closecast.ValidateLevels(levels) }

// Forecast forecasts the closes of day start and the Horizon−1 days after
// it from bars[:i] (bars[i] and later are never read; i may be len(bars));
// start must follow bars[i-1]'s date, and is usually bars[i-1].Date+1 or
// bars[i].Date. The first day's Value equals PredictAt(bars, []int{i})[0]
// exactly. With an interval, every day gets quantiles: conformal ones
// around Value (Calibration), or those of Samples Monte-Carlo dropout paths.
// The answer's First is zero and no day has an Actual: a bare model knows
// neither symbol nor later bars (predict.Service fills both).
func (p *Pipeline) Forecast(bars []closecast.Bar, i int, start closecast.Date, opt HorizonOptions) (closecast.Horizon, error) {
	return p.ForecastContext(context.Background(), bars, i, start, opt)
}

// ForecastContext is Forecast that gives up with ctx's error once ctx is
// done: it checks between days and between the Monte-Carlo paths' inputs,
// so a deadline bounds even a long Monte-Carlo horizon (to about one
// batched network pass past it).
func (p *Pipeline) ForecastContext(ctx context.Context, bars []closecast.Bar, i int, start closecast.Date, opt HorizonOptions) (closecast.Horizon, error) {
	if err := opt.Validate(); err != nil {
		return closecast.Horizon{}, err
	}
	if p.Quantiles != nil {
		return p.quantileForecast(bars, i, start, opt)
	}
	det, err := p.paths(ctx, bars, i, start, opt.Horizon, 1, false, 0)
	if err != nil {
		return closecast.Horizon{}, err
	}
	out := closecast.Horizon{Days: make([]closecast.HorizonDay, opt.Horizon), Direct: p.Outputs() > 1}
	for t := range out.Days {
		out.Days[t] = closecast.HorizonDay{Date: start + closecast.Date(t), Value: det[0][t]}
	}
	if opt.Interval == IntervalAuto {
		if opt.Interval = p.autoInterval(); opt.Interval == IntervalMCDropout {
			opt.Samples = DefaultSamples
		}
	}
	var q [][]float64
	switch opt.Interval {
	case "":
		return out, nil
	case IntervalConformal:
		if q, err = p.conformalQuantiles(bars, i, det[0], opt.Levels); err != nil {
			return closecast.Horizon{}, err
		}
		out.Calibration = p.Calibration
	case IntervalMCDropout:
		if p.Net.Config().Dropout == 0 {
			return closecast.Horizon{}, ErrNoDropout
		}
		paths, err := p.paths(ctx, bars, i, start, opt.Horizon, opt.Samples, true, opt.Seed)
		if err != nil {
			return closecast.Horizon{}, err
		}
		out.Samples, out.Seed = opt.Samples, opt.Seed
		day := make([]float64, opt.Samples)
		for t := range out.Days {
			for k, path := range paths {
				day[k] = path[t]
			}
			q = append(q, Quantiles(day, opt.Levels))
		}
	}
	out.Interval, out.Levels = opt.Interval, slices.Clone(opt.Levels)
	for t := range out.Days {
		out.Days[t].Quantiles = q[t]
	}
	return out, nil
}

// autoInterval is what IntervalAuto means for p.
func (p *Pipeline) autoInterval() string {
	switch {
	case p.Calibration != nil:
		return IntervalConformal
	case p.Net.Config().Dropout > 0:
		return IntervalMCDropout
	}
	return ""
}

// Paths runs n forecast paths of horizon days from bars[:i] and returns
// their closes, [n][horizon]: paths[k][t] is path k's close of day start+t
// (start after bars[i-1]'s date). A one-step model recurses; a direct
// multi-output head gives all days from one pass (horizon must not exceed
// its outputs, else ErrHorizonTooLong). Without dropout every path is the deterministic
// forecast (use n = 1); with dropout, path k's step forecasting day T uses
// row k of the masks drawn from DaySeed(seed, T). It needs i ≥ History().
func (p *Pipeline) Paths(bars []closecast.Bar, i int, start closecast.Date, horizon, n int, dropout bool, seed uint64) ([][]float64, error) {
	return p.paths(context.Background(), bars, i, start, horizon, n, dropout, seed)
}

// paths is Paths, stopped by ctx between days and between paths' inputs.
func (p *Pipeline) paths(ctx context.Context, bars []closecast.Bar, i int, start closecast.Date, horizon, n int, dropout bool, seed uint64) ([][]float64, error) {
	h := p.History()
	if i < h || i > len(bars) {
		return nil, fmt.Errorf("%w: a forecast after bar %d needs %d bars before it", ErrShortHistory, i, h)
	}
	if start <= bars[i-1].Date {
		return nil, fmt.Errorf("pipeline: first forecast day %s is not after the last input bar %s", start, bars[i-1].Date)
	}
	if horizon < 1 || n < 1 {
		return nil, fmt.Errorf("pipeline: horizon %d and paths %d, want both ≥ 1", horizon, n)
	}
	if p.Outputs() > 1 {
		return p.directPaths(bars, i, start, horizon, n, dropout, seed)
	}
	// Each path owns its history: the h real bars, then its synthetic ones.
	hist := make([][]closecast.Bar, n)
	for k := range hist {
		hist[k] = make([]closecast.Bar, h, h+horizon)
		copy(hist[k], bars[i-h:i])
	}
	per := p.Window * len(p.Features)
	x := make([]float32, n*per)
	out := make([]float32, n)
	paths := newPaths(n, horizon)
	for t := range horizon {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pipeline: horizon day %d of %d: %w", t+1, horizon, err)
		}
		if t == 0 {
			// Every path still holds the same real bars: one window serves all.
			if err := p.repeatInput(bars, i, x, n); err != nil {
				return nil, fmt.Errorf("pipeline: horizon day 1: %w", err)
			}
		} else {
			for k := range n {
				if k%64 == 63 && ctx.Err() != nil {
					return nil, fmt.Errorf("pipeline: horizon day %d of %d: %w", t+1, horizon, ctx.Err())
				}
				hk := hist[k]
				if err := p.Input(hk, len(hk), x[k*per:(k+1)*per]); err != nil {
					return nil, fmt.Errorf("pipeline: horizon day %d: %w", t+1, err)
				}
			}
		}
		day := start + closecast.Date(t)
		if dropout {
			p.Net.PredictDropout(x, n, p.Window, out, DaySeed(seed, day))
		} else {
			p.Net.Predict(x, n, p.Window, out)
		}
		for k := range n {
			last := hist[k][len(hist[k])-1]
			v := p.Price(out[k], 0, last.Close)
			if err := checkPrice(v, t, day); err != nil {
				return nil, err
			}
			paths[k][t] = v
			hist[k] = append(hist[k], closecast.Bar{Date: day, Open: v, High: v, Low: v, Close: v, Volume: last.Volume})
		}
		// The window slides: drop the oldest bar so the history stays h long
		// and Input reads the newest h bars without copying.
		for k := range n {
			hist[k] = hist[k][1:]
		}
	}
	return paths, nil
}

// directPaths is Paths for a direct multi-output head: one batched pass of
// n copies of the window gives every day at once, output t being day
// start+t. With dropout, the masks come from DaySeed(seed, start), so a
// path's days share one draw of the network, as a recursive path's days
// share one sample trajectory.
func (p *Pipeline) directPaths(bars []closecast.Bar, i int, start closecast.Date, horizon, n int, dropout bool, seed uint64) ([][]float64, error) {
	O := p.Outputs()
	if horizon > O {
		return nil, fmt.Errorf("%w: this model's direct head forecasts %d days, %d were asked", ErrHorizonTooLong, O, horizon)
	}
	x := make([]float32, n*p.Window*len(p.Features))
	if err := p.repeatInput(bars, i, x, n); err != nil {
		return nil, err
	}
	out := make([]float32, n*O)
	if dropout {
		p.Net.PredictDropout(x, n, p.Window, out, DaySeed(seed, start))
	} else {
		p.Net.Predict(x, n, p.Window, out)
	}
	last := bars[i-1].Close
	paths := newPaths(n, horizon)
	for k := range n {
		for t := range horizon {
			v := p.Price(out[k*O+t], t, last)
			if err := checkPrice(v, t, start+closecast.Date(t)); err != nil {
				return nil, err
			}
			paths[k][t] = v
		}
	}
	return paths, nil
}

// ErrHorizonTooLong is closecast.ErrHorizonTooLong.
var ErrHorizonTooLong = closecast.ErrHorizonTooLong

// newPaths returns n paths of horizon days sharing one backing array.
func newPaths(n, horizon int) [][]float64 {
	paths := make([][]float64, n)
	flat := make([]float64, n*horizon)
	for k := range paths {
		paths[k] = flat[k*horizon : (k+1)*horizon]
	}
	return paths
}

// checkPrice rejects a forecast that is not a positive finite price: it
// would poison the next recursive step or any interval built on it.
func checkPrice(v float64, t int, day closecast.Date) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return fmt.Errorf("pipeline: horizon day %d (%s): forecast %v is not a positive price", t+1, day, v)
	}
	return nil
}

// SampleAt returns, for every target bar i in idx, samples Monte-Carlo
// dropout forecasts of the close of bars[i] from the real bars before it:
// [len(idx)][samples]. Every i must be < len(bars): the target day T is
// bars[i].Date, and its masks come from DaySeed(seed, T),
// so a day's samples do not depend on which other days are asked for and
// equal the first day of Paths(bars, i, bars[i].Date, ·, samples, true, seed).
func (p *Pipeline) SampleAt(bars []closecast.Bar, idx []int, samples int, seed uint64) ([][]float64, error) {
	if samples < 1 {
		return nil, fmt.Errorf("pipeline: %d samples, want ≥ 1", samples)
	}
	if p.Net.Config().Dropout == 0 {
		return nil, ErrNoDropout
	}
	per := p.Window * len(p.Features)
	x := make([]float32, samples*per)
	stride := p.Net.Config().Outputs
	out := make([]float32, samples*stride)
	res := make([][]float64, len(idx))
	for j, i := range idx {
		if i < p.History() || i >= len(bars) {
			return nil, fmt.Errorf("%w: bar %d of %d needs %d bars before it", ErrShortHistory, i, len(bars), p.History())
		}
		if err := p.repeatInput(bars, i, x, samples); err != nil {
			return nil, err
		}
		p.Net.PredictDropout(x, samples, p.Window, out, DaySeed(seed, bars[i].Date))
		res[j] = make([]float64, samples)
		for k := range samples {
			res[j][k] = p.Price(out[k*stride], 0, bars[i-1].Close)
		}
	}
	return res, nil
}

// repeatInput writes the input window of the forecast for bars[i] into
// each of the n rows of x ([n][Window][len(Features)]): the features are
// computed once, then copied.
func (p *Pipeline) repeatInput(bars []closecast.Bar, i int, x []float32, n int) error {
	per := p.Window * len(p.Features)
	if err := p.Input(bars, i, x[:per]); err != nil {
		return err
	}
	for k := 1; k < n; k++ {
		copy(x[k*per:(k+1)*per], x[:per])
	}
	return nil
}

// Quantiles returns the quantiles of xs at levels (numpy's "linear"
// method, metrics.Quantile). It does not modify xs.
func Quantiles(xs []float64, levels []float64) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	q := make([]float64, len(levels))
	for j, l := range levels {
		q[j] = metrics.Quantile(s, l)
	}
	return q
}
