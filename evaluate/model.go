package evaluate

import (
	"fmt"
	"slices"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/pipeline"
)

// NameModel names the model's conformal quantiles in a comparison.
const NameModel = "model"

// ModelFold is a trained model and the first target day it forecasts: in
// Walk.Model it forecasts every target from From up to the next fold's
// From. A retraining backtest has one fold per retraining; a single model
// is one fold with a zero From.
type ModelFold struct {
	From     closecast.Date
	Pipeline *pipeline.Pipeline
}

// Model returns the walk's targets forecast by a calibrated model, as the
// product serves them: for target Closes[i], the model's conformal
// quantiles at every Levels (pipeline.Forecast with the conformal
// interval: split conformal, scaled by the VolatilityDays volatility at
// the origin) from the real bars up to the origin bars[i−h] and nothing
// later, day h of the forecast. Points are the model's own forecasts (the
// network's close), which MAEPct scores.
//
// Each fold's model must be calibrated, and calibrated before every day it
// forecasts: a calibration that reaches a target day means the model saw
// that day, and the comparison would not be out of sample. folds must be
// in ascending From, the first covering the first target.
func (w *Walk) Model(name string, folds ...ModelFold) (Method, error) {
	if len(folds) == 0 {
		return Method{}, fmt.Errorf("model %s: no model", name)
	}
	if !slices.IsSortedFunc(folds, func(a, b ModelFold) int { return int(a.From - b.From) }) {
		return Method{}, fmt.Errorf("model %s: folds are not in ascending date order", name)
	}
	h := w.Days.Horizon
	m := Method{Name: name, Forecasts: make([]Quantiles, len(w.Targets)), Points: make([]float64, len(w.Targets))}
	f := -1
	for k, i := range w.Targets {
		date := w.Days.Dates[k]
		for f+1 < len(folds) && folds[f+1].From <= date {
			f++
		}
		if f < 0 {
			return Method{}, fmt.Errorf("model %s: no model forecasts %s (the first from %s)", name, date, folds[0].From)
		}
		p := folds[f].Pipeline
		if p.Calibration == nil {
			return Method{}, fmt.Errorf("model %s for %s: %w", name, date, pipeline.ErrNotCalibrated)
		}
		if p.Calibration.To >= date {
			return Method{}, fmt.Errorf("model %s was calibrated up to %s, so its forecast for %s is not out of sample", name, p.Calibration.To, date)
		}
		// Forecast day h from the bars up to the origin: its date must be
		// the target's, so a gap in the series is an error, not a shift.
		origin := i - h + 1
		start := date - closecast.Date(h-1)
		o, err := p.Forecast(w.Bars, origin, start, pipeline.HorizonOptions{
			Horizon: h, Interval: pipeline.IntervalConformal, Levels: Levels[:],
		})
		if err != nil {
			return Method{}, fmt.Errorf("model %s for %s: %w", name, date, err)
		}
		d := o.Days[h-1]
		if d.Date != date {
			return Method{}, fmt.Errorf("model %s: the %d-day forecast from %s falls on %s, not on the target %s", name, h, w.Bars[i-h].Date, d.Date, date)
		}
		m.Forecasts[k] = Quantiles(d.Quantiles)
		m.Points[k] = d.Value
	}
	return m, nil
}
