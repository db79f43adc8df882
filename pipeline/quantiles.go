package pipeline

import (
	"fmt"
	"math"
	"slices"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
)

// The quantile head's pipeline (config target log_return_ewma_z, loss
// pinball): the network's outputs are the quantiles q_j of the next log
// return standardised by its EWMA volatility σ (features.EWMAZ), made
// non-crossing by the engine's cumulative softplus (lstm.Quantiles), so the
// price quantiles are last close × exp(σ·q_j), ascending as the q_j are.
// The target is unscaled (z is already on a unit scale): Output is unused.

// QuantilesAt returns, for every i in idx, the quantiles of the close of
// bars[i] forecast h days ahead from the bars before it: one price per
// output of the quantile head, at its levels in ascending order. Only h = 1
// is supported for now. σ is the EWMA volatility of features.EWMAZ over
// the QuantileHistory bars before bars[i] (all of them when fewer): the
// seed's weight is gone by then, and any caller holding that many bars
// (Lookback) gets the same quantiles as one holding the whole series. A
// NaN or ±Inf anywhere is a *closecast.NonFiniteError.
func (p *Pipeline) QuantilesAt(bars []closecast.Bar, idx []int, h int) ([][]float64, error) {
	if h != 1 {
		return nil, fmt.Errorf("pipeline: the quantile head forecasts 1 day ahead, not %d (multi-day quantiles are not implemented)", h)
	}
	if len(idx) == 0 {
		return nil, nil
	}
	per := p.Window * len(p.Features)
	x := make([]float32, len(idx)*per)
	for k, i := range idx {
		if i < p.History() || i > len(bars) {
			return nil, fmt.Errorf("%w: bar %d needs %d bars before it", ErrShortHistory, i, p.History())
		}
		if err := p.Input(bars, i, x[k*per:(k+1)*per]); err != nil {
			return nil, err
		}
	}
	O := p.Net.Config().Outputs
	raw := make([]float32, len(idx)*O)
	p.Net.Predict(x, len(idx), p.Window, raw)
	lstm.Quantiles(raw, O, raw)
	out := make([][]float64, len(idx))
	for k, i := range idx {
		day := forecastDay(bars, i)
		last := bars[i-1].Close
		from := max(0, i-QuantileHistory)
		_, sigma := features.EWMAZ(bars[from:i])
		s := sigma[i-from]
		if err := closecast.Finite("EWMA volatility", day, s); err != nil {
			return nil, err
		}
		out[k] = make([]float64, O)
		for j := range O {
			v := last * math.Exp(s*float64(raw[k*O+j]))
			if err := closecast.Finite("quantile price", day, v); err != nil {
				return nil, err
			}
			out[k][j] = v
		}
	}
	return out, nil
}

// medianAt returns a quantile head's median close of bars[i] for every i
// in idx: its point forecast.
func (p *Pipeline) medianAt(bars []closecast.Bar, idx []int) ([]float64, error) {
	m := slices.Index(p.Quantiles, 0.5)
	if m < 0 {
		return nil, fmt.Errorf("pipeline: the quantile head has no 0.5 level among %v, so no point forecast", p.Quantiles)
	}
	qs, err := p.QuantilesAt(bars, idx, 1)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(qs))
	for k, q := range qs {
		out[k] = q[m]
	}
	return out, nil
}

// QuantileLevels returns the quantiles of the close of bars[i] (i ≤
// len(bars), the day after the last bar when equal) at the given levels,
// each one of p.Quantiles: a quantile head's own forecast, no
// interpolation.
func (p *Pipeline) QuantileLevels(bars []closecast.Bar, i int, levels []float64) ([]float64, error) {
	cols := make([]int, len(levels))
	for k, l := range levels {
		if cols[k] = slices.Index(p.Quantiles, l); cols[k] < 0 {
			return nil, fmt.Errorf("pipeline: the quantile head forecasts the levels %v, not %v", p.Quantiles, l)
		}
	}
	qs, err := p.QuantilesAt(bars, []int{i}, 1)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(levels))
	for k, c := range cols {
		out[k] = qs[0][c]
	}
	return out, nil
}

// IntervalQuantileHead is Horizon.Interval when the quantiles are a
// quantile head's own outputs.
const IntervalQuantileHead = closecast.IntervalQuantileHead

// quantileForecast is Forecast for a quantile head: one day ahead, its
// median as the value and, unless no interval is asked for, its own
// quantiles at opt.Levels (each one of p.Quantiles). Conformal and
// Monte-Carlo intervals are a point model's; asking for them is an error.
func (p *Pipeline) quantileForecast(bars []closecast.Bar, i int, start closecast.Date, opt HorizonOptions) (closecast.Horizon, error) {
	if opt.Horizon != 1 {
		return closecast.Horizon{}, fmt.Errorf("%w: a quantile head forecasts 1 day ahead, not %d", ErrHorizonTooLong, opt.Horizon)
	}
	if day := forecastDay(bars, i); day != start {
		return closecast.Horizon{}, fmt.Errorf("pipeline: the forecast after %s falls on %s, not %s", bars[i-1].Date, day, start)
	}
	med, err := p.medianAt(bars, []int{i})
	if err != nil {
		return closecast.Horizon{}, err
	}
	out := closecast.Horizon{Days: []closecast.HorizonDay{{Date: start, Value: med[0]}}}
	switch opt.Interval {
	case "":
		return out, nil
	case IntervalAuto, IntervalQuantileHead:
	default:
		return closecast.Horizon{}, fmt.Errorf("pipeline: a quantile head has no %s interval: its quantiles are its own (interval auto)", opt.Interval)
	}
	q, err := p.QuantileLevels(bars, i, opt.Levels)
	if err != nil {
		return closecast.Horizon{}, err
	}
	out.Interval, out.Levels, out.Days[0].Quantiles = IntervalQuantileHead, slices.Clone(opt.Levels), q
	return out, nil
}

// QuantileHistory is how many bars before its day a quantile head's
// forecast reads for its EWMA volatility: the seed's weight after them,
// 0.94^(QuantileHistory − EWMASeedDays), is below 1e-12.
const QuantileHistory = 500

// Lookback returns how many bars before its day a forecast should be
// given: History() for a point model, at least QuantileHistory for a
// quantile head (its volatility scale reads further back than its window).
func (p *Pipeline) Lookback() int {
	if p.Quantiles != nil {
		return max(p.History(), QuantileHistory)
	}
	return p.History()
}
