package evaluate

import (
	"fmt"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/pipeline"
)

// NameQuantileHead names the quantile head's forecasts in a comparison.
const NameQuantileHead = "quantile_head"

// QuantileHeadFold is a trained quantile head (a pipeline with Quantiles,
// as train.TrainQuantileHead makes it) and the first target day it
// forecasts: in Walk.QuantileHead it forecasts every target from From up
// to the next fold's From. Holdout is the first day the head never saw in
// training; no target before it may be scored.
type QuantileHeadFold struct {
	From     closecast.Date
	Pipeline *pipeline.Pipeline
	Holdout  closecast.Date
}

// QuantileHead returns the walk's targets forecast by quantile-head
// pipelines (TrainQuantileHead), one step ahead: the 21 price quantiles
// (pipeline.QuantilesAt) from the bars up to each origin. Points are the
// medians. folds must be in ascending From, the first covering the first
// target, and every target must lie on or after its fold's hold-out start
// (a day the model never trained on); the walk must be over the series
// the heads were trained on (the EWMA seed reads its first bars).
func (w *Walk) QuantileHead(name string, folds ...QuantileHeadFold) (Method, error) {
	if w.Days.Horizon != 1 {
		return Method{}, fmt.Errorf("model %s: the quantile head forecasts 1 day ahead, not %d", name, w.Days.Horizon)
	}
	if len(folds) == 0 {
		return Method{}, fmt.Errorf("model %s: no model", name)
	}
	m := Method{Name: name, Forecasts: make([]Quantiles, len(w.Targets))}
	for f, fold := range folds {
		if f > 0 && !(fold.From > folds[f-1].From) {
			return Method{}, fmt.Errorf("model %s: folds are not in ascending date order", name)
		}
		var idx, ks []int
		for k, date := range w.Days.Dates {
			if date >= fold.From && (f+1 == len(folds) || date < folds[f+1].From) {
				idx, ks = append(idx, w.Targets[k]), append(ks, k)
			}
		}
		if len(idx) == 0 {
			continue
		}
		if first := w.Days.Dates[ks[0]]; first < fold.Holdout {
			return Method{}, fmt.Errorf("model %s was trained on days up to %s, so its forecast for %s is not out of sample", name, fold.Holdout-1, first)
		}
		qs, err := fold.Pipeline.QuantilesAt(w.Bars, idx, 1)
		if err != nil {
			return Method{}, fmt.Errorf("model %s: %w", name, err)
		}
		for j, q := range qs {
			if len(q) != NumLevels {
				return Method{}, fmt.Errorf("model %s: %d quantiles, want %d", name, len(q), NumLevels)
			}
			m.Forecasts[ks[j]] = Quantiles(q)
		}
	}
	if len(w.Days.Dates) > 0 && w.Days.Dates[0] < folds[0].From {
		return Method{}, fmt.Errorf("model %s: no model forecasts %s (the first from %s)", name, w.Days.Dates[0], folds[0].From)
	}
	return m, nil
}
