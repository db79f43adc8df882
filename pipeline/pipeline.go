// Package pipeline is closecast's counterpart of the reference's pickled
// sklearn Pipeline (CreateDataFrame → Normalize → FeatureEngineering →
// Model): it turns daily bars into a forecast of a day's close. Training,
// evaluation, `closecast predict` and the server all go through it, so a
// prediction is computed one way everywhere.
//
// Alignment: the forecast for bar i (the close of day bars[i].Date) reads
// the History() bars bars[i-History() : i], i.e. the Window feature rows of
// the days bars[i-Window].Date .. bars[i-1].Date plus the Warmup bars the
// features consume before them. It never reads bars[i] or later.
//
// # Horizons and intervals
//
// A model with a direct multi-output head (config horizon N > 1) forecasts
// days t .. t+N−1 from one window in one pass; output j has its own target
// scaler column. Otherwise multi-day forecasts are recursive: the forecast of day D becomes a
// synthetic bar of D, and the window that ends with it forecasts D+1, and so
// on. A synthetic bar has Open = High = Low = Close = the forecast and the
// Volume of the last bar before it (the last real volume, carried forward).
// Features therefore see a flat, zero-range day with unchanged volume: close
// and return features see the forecast; open/high/low/range features see a
// day whose range is zero; volume features see no change. The horizon counts
// calendar days (D, D+1, …), which is right for daily-trading markets such
// as BTC-USD; for exchange-traded symbols it also forecasts weekends.
//
// Intervals are conformal (see Calibration: the forecast widened by the
// model's volatility-scaled errors on days it was not fitted on, the
// default for a calibrated model) or come from Monte-Carlo dropout.
//
// Monte-Carlo dropout: each of K sample paths runs the
// whole recursion with dropout kept on, its own synthetic bars feeding its
// own next step, so the paths spread out and the intervals widen with the
// horizon. All K paths of one step are one batched PredictDropout call
// (x laid out [K][Window][len(Features)]); the masks of the step forecasting
// day T come from DaySeed(seed, T), and path k always uses row k of the
// batch. So one seed gives the same interval every time, and the one-step
// interval of day T is the same whether it is day 1 of a horizon or a day of
// an evaluation (SampleAt).
//
// What the band measures: dropout noise is the model's own uncertainty
// about its weights, not the market's day-to-day randomness, which the
// network never models. On BTC-USD the shipped model's 80 % band is about
// 0.6 % of the price wide and covers only a small share of next-day closes
// (`closecast evaluate` reports the coverage); read it as model
// uncertainty, not as a calibrated price range: that is what the conformal
// interval is for.
package pipeline

import (
	"errors"
	"fmt"
	"math"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
)

// Pipeline holds everything a forecast needs. Inputs has one column per
// feature, in Features order; Output has one column, the target.
type Pipeline struct {
	Features []string
	Target   features.Target
	Window   int
	Warmup   int // leading bars the features need before their first defined row
	Inputs   features.MinMaxScaler
	Output   features.MinMaxScaler
	Net      *lstm.Network
	// Calibration makes conformal intervals possible; nil when the model
	// was trained without a held-back tail.
	Calibration *Calibration
	// Quantiles are the levels of a quantile head's outputs, ascending
	// (QuantilesAt); nil for a point model.
	Quantiles []float64
}

// History returns how many bars before the forecast day the pipeline reads.
func (p *Pipeline) History() int { return p.Window + p.Warmup }

// Input writes the scaled input window of the forecast for bars[i] into x,
// laid out [Window][len(Features)] row-major. It needs i ≥ History(). A
// feature that is NaN or ±Inf once scaled to float32 is a
// *closecast.NonFiniteError: it never reaches the network.
func (p *Pipeline) Input(bars []closecast.Bar, i int, x []float32) error {
	h := p.History()
	if i < h || i > len(bars) {
		return fmt.Errorf("pipeline: forecast of bar %d needs %d earlier bars", i, h)
	}
	rows, _, err := features.Matrix(bars[i-h:i], p.Features)
	if err != nil {
		return err
	}
	if len(rows) != p.Window {
		return fmt.Errorf("pipeline: features gave %d rows for a window of %d", len(rows), p.Window)
	}
	nf := len(p.Features)
	scaled := make([]float64, nf)
	for r, row := range rows {
		p.Inputs.Transform(row, scaled)
		for c, v := range scaled {
			f := float32(v)
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return &closecast.NonFiniteError{Stage: "input feature " + p.Features[c], Date: forecastDay(bars, i), Value: float64(f)}
			}
			x[r*nf+c] = f
		}
	}
	return nil
}

// forecastDay is the day the forecast for bars[i] predicts: bars[i]'s, or
// the day after the last bar when i is past the end.
func forecastDay(bars []closecast.Bar, i int) closecast.Date {
	if i < len(bars) {
		return bars[i].Date
	}
	return bars[i-1].Date + 1
}

// Outputs returns how many consecutive days one network pass forecasts: 1
// for a one-step head (multi-day forecasts recurse), N for a direct
// multi-output head.
func (p *Pipeline) Outputs() int { return p.Net.Config().Outputs }

// TargetValue returns the unscaled target of output j of the forecast for
// bar i: the close of bar i+j, or with a log_return target the log return
// ln(close_{i+j}/close_{i−1}) from the window's last close. It needs
// i ≥ Target.Warmup() and i+j < len(bars).
func (p *Pipeline) TargetValue(bars []closecast.Bar, i, j int) float64 {
	prev := math.NaN()
	if i > 0 {
		prev = bars[i-1].Close
	}
	return p.Target.Value(bars[i+j].Close, prev)
}

// Price maps output j of the network (a scaled target) to a close, given
// lastClose, the close of the window's last day.
func (p *Pipeline) Price(out float32, j int, lastClose float64) float64 {
	return p.Target.Price(p.Output.Inverse(j, float64(out)), lastClose)
}

// ErrShortHistory is wrapped when there are too few bars before a forecast day.
var ErrShortHistory = errors.New("not enough history before the forecast day")

// PredictAt forecasts the close of bars[i] for every i in idx, in one
// batched pass of the network (output 0 of a multi-output head). Every i
// must be ≥ History(). A NaN or ±Inf anywhere — input, network output or
// price — is a *closecast.NonFiniteError, never a number.
//
// A quantile head's forecast is its median (QuantilesAt at level 0.5).
func (p *Pipeline) PredictAt(bars []closecast.Bar, idx []int) ([]float64, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	if p.Quantiles != nil {
		return p.medianAt(bars, idx)
	}
	per := p.Window * len(p.Features)
	x := make([]float32, len(idx)*per)
	for k, i := range idx {
		if i < p.History() {
			return nil, fmt.Errorf("%w: %s needs %d bars before it", ErrShortHistory, bars[min(i, len(bars)-1)].Date, p.History())
		}
		if err := p.Input(bars, i, x[k*per:(k+1)*per]); err != nil {
			return nil, err
		}
	}
	out := make([]float32, len(idx)*p.Net.Config().Outputs)
	p.Net.Predict(x, len(idx), p.Window, out)
	prices := make([]float64, len(idx))
	stride := p.Net.Config().Outputs
	for k, i := range idx {
		day := forecastDay(bars, i)
		if err := closecast.Finite("network output", day, float64(out[k*stride])); err != nil {
			return nil, err
		}
		prices[k] = p.Price(out[k*stride], 0, bars[i-1].Close)
		if err := closecast.Finite("price after inverse scaling", day, prices[k]); err != nil {
			return nil, err
		}
	}
	return prices, nil
}
