package predict

import (
	"context"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/pipeline"
)

// HorizonDay is one day of a multi-day forecast.
type HorizonDay struct {
	Date closecast.Date
	// Value is the deterministic recursive forecast (dropout off); on the
	// first day it equals Predict's value.
	Value float64
	// Quantiles holds one close per level of Horizon.Levels: conformal
	// quantiles, or those of the Monte-Carlo dropout sample paths on Date.
	// Nil without an interval.
	Quantiles []float64
	// Actual is the close of Date when it is already known.
	Actual *float64
}

// Horizon is a multi-day forecast with prediction intervals.
type Horizon struct {
	// First is the first day as Predict answers it (same value, window,
	// last close and actual), so callers that know only one-day forecasts
	// keep working.
	First closecast.Prediction
	// Interval is how the quantiles were made (pipeline.IntervalConformal
	// or IntervalMCDropout); "" without quantiles.
	Interval string
	Levels   []float64 // quantile levels in (0, 1), ascending; nil without an interval
	Samples  int       // Monte-Carlo sample paths behind mc_dropout quantiles
	Seed     uint64    // dropout seed of mc_dropout: the same request and seed give the same quantiles
	// Calibration is the model's conformal calibration behind conformal
	// quantiles; nil otherwise.
	Calibration *pipeline.Calibration
	// Direct is true when the days came from the model's direct
	// multi-output head rather than recursion.
	Direct bool
	Days   []HorizonDay
}

// PredictHorizon forecasts opt.Horizon consecutive days from date on, all
// from the model's window of bars ending the day before date: day 1 is
// Predict's forecast, later days are recursive (each forecast is appended
// as a synthetic bar; see package pipeline), or all from a direct head.
// With an interval every day gets quantiles: conformal ones, or those of
// opt.Samples Monte-Carlo dropout paths seeded by opt.Seed. It accepts the
// dates Predict accepts and fails as Predict does; invalid options are
// plain errors. Monte-Carlo dropout costs about (1 + Samples) × Horizon
// one-window network passes, so it is not for the hot path; it stops with
// ctx's error between days once ctx is done.
func (s *Service) PredictHorizon(ctx context.Context, symbol string, date closecast.Date, opt pipeline.HorizonOptions) (Horizon, error) {
	if err := opt.Validate(); err != nil {
		return Horizon{}, err
	}
	symbol, bars, i, err := s.window(ctx, symbol, date)
	if err != nil {
		return Horizon{}, err
	}
	o, err := s.model.Pipeline.ForecastContext(ctx, bars, i, date, opt)
	if err != nil {
		return Horizon{}, err
	}
	h := Horizon{
		First:    s.prediction(symbol, bars, i, date, o.Days[0].Value),
		Interval: o.Interval,
		Levels:   o.Levels,
		Samples:  o.Samples,
		Days:     make([]HorizonDay, len(o.Days)),
		Direct:   s.model.Pipeline.Outputs() > 1,
	}
	switch o.Interval {
	case pipeline.IntervalMCDropout:
		h.Seed = opt.Seed
	case pipeline.IntervalConformal:
		h.Calibration = s.model.Pipeline.Calibration
	}
	actual, err := s.actuals(ctx, symbol, bars[i:], date, date.AddDays(opt.Horizon-1))
	if err != nil {
		return Horizon{}, err
	}
	for k, d := range o.Days {
		h.Days[k] = HorizonDay{Date: d.Date, Value: d.Value, Quantiles: d.Quantiles}
		if c, ok := actual[d.Date]; ok {
			h.Days[k].Actual = &c
		}
	}
	return h, nil
}

// actuals returns the known closes of the days from..to. have are bars
// already loaded (from on); more are read only for a horizon reaching past
// them and only up to the last known day when the source can tell it
// without fetching (a Ranger), so a forecast of the future asks no provider
// for days that have not happened.
func (s *Service) actuals(ctx context.Context, symbol string, have []closecast.Bar, from, to closecast.Date) (map[closecast.Date]float64, error) {
	m := map[closecast.Date]float64{}
	if len(have) == 0 || have[0].Date != from {
		return m, nil // the first day is not known yet, so no later day is
	}
	if to > from {
		if r, ok := s.bars.(Ranger); ok {
			_, last, ok, err := r.Range(ctx, symbol)
			if err != nil {
				return nil, err
			}
			if !ok {
				return m, nil
			}
			to = min(to, last)
		}
		if to > from {
			series, err := s.bars.Bars(ctx, symbol, from, to)
			if err != nil {
				return nil, err
			}
			have = series.Bars
		}
	}
	for _, b := range have {
		if b.Date >= from && b.Date <= to {
			m[b.Date] = b.Close
		}
	}
	return m, nil
}
