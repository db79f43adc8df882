package predict

import (
	"context"

	"github.com/closecast/closecast"
)

// A Service is the multi-day seam as well as a one-day Predictor.
var _ closecast.HorizonPredictor = (*Service)(nil)

// PredictHorizon forecasts opt.Horizon consecutive days from date on, all
// from the model's window of bars ending the day before date: day 1 is
// Predict's forecast, later days are recursive (each forecast is appended
// as a synthetic bar; see package pipeline), or all from a direct head.
// With an interval every day gets quantiles: conformal ones, those of
// opt.Samples Monte-Carlo dropout paths seeded by opt.Seed, or the
// naive-baseline ensemble's (closecast.IntervalEnsemble: fitted once per
// origin and kept, see EnsembleFit). It accepts the
// dates Predict accepts and fails as Predict does; invalid options are
// plain errors. Monte-Carlo dropout costs about (1 + Samples) × Horizon
// one-window network passes, so it is not for the hot path; it stops with
// ctx's error between days once ctx is done.
func (s *Service) PredictHorizon(ctx context.Context, symbol string, date closecast.Date, opt closecast.HorizonOptions) (closecast.Horizon, error) {
	if err := opt.Validate(); err != nil {
		return closecast.Horizon{}, err
	}
	symbol, bars, i, err := s.window(ctx, symbol, date)
	if err != nil {
		return closecast.Horizon{}, err
	}
	var h closecast.Horizon
	if opt.Interval == closecast.IntervalEnsemble {
		h, err = s.ensembleHorizon(ctx, symbol, bars, i, date, opt)
	} else {
		h, err = s.model.Pipeline.ForecastContext(ctx, bars, i, date, opt)
	}
	if err != nil {
		return closecast.Horizon{}, err
	}
	h.First = s.prediction(symbol, bars, i, date, h.Days[0].Value)
	actual, err := s.actuals(ctx, symbol, bars[i:], date, date.AddDays(opt.Horizon-1))
	if err != nil {
		return closecast.Horizon{}, err
	}
	for k, d := range h.Days {
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
