package evaluate

import (
	"math"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/pipeline"
)

// shippedWalk returns the embedded model's pipeline and a one-step walk
// over the BTC-USD days from..to.
func shippedWalk(t *testing.T, from, to string) (*pipeline.Pipeline, *Walk) {
	t.Helper()
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWalk(s, closecast.MustParseDate(from), closecast.MustParseDate(to), 1, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	return m.Pipeline, w
}

// TestModelQuantilesAreTheConformalOnes checks the model's forecast of each
// day against the conformal rule computed here from its parts: the
// network's close ĉ (PredictAt, a batched pass) times exp(q_τ·σ), q_τ the
// calibration's conformal quantile at every level and σ the 30-day
// volatility before the day.
func TestModelQuantilesAreTheConformalOnes(t *testing.T) {
	p, w := shippedWalk(t, "2023-11-24", "2023-12-05")
	m, err := w.Model(NameModel, ModelFold{Pipeline: p})
	if err != nil {
		t.Fatal(err)
	}
	point, err := p.PredictAt(w.Bars, w.Targets)
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range w.Targets {
		near(t, "point", m.Points[k], point[k], 1e-9*point[k])
		sigma, err := pipeline.Volatility(w.Bars, i)
		if err != nil {
			t.Fatal(err)
		}
		for j, tau := range Levels {
			q, err := p.Calibration.Quantile(1, tau)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "quantile", m.Forecasts[k][j], point[k]*math.Exp(q*sigma), 1e-9*point[k])
		}
		if err := m.Forecasts[k].Validate(); err != nil {
			t.Error(err)
		}
	}
}

// TestModelFoldsAndLeakage checks that each day is forecast by the latest
// fold starting on or before it, and that a model calibrated on a day it
// would forecast is refused.
func TestModelFoldsAndLeakage(t *testing.T) {
	p, w := shippedWalk(t, "2023-11-24", "2023-12-03")
	// A second "model": the same network with every calibration score
	// doubled, so its quantiles lie twice as far (in log terms) from ĉ.
	wide := *p
	cal := *p.Calibration
	cal.Scores = [][]float32{make([]float32, len(p.Calibration.Scores[0]))}
	for j, v := range p.Calibration.Scores[0] {
		cal.Scores[0][j] = 2 * v
	}
	wide.Calibration = &cal
	switchDay := closecast.MustParseDate("2023-11-29")
	m, err := w.Model("folds", ModelFold{Pipeline: p}, ModelFold{From: switchDay, Pipeline: &wide})
	if err != nil {
		t.Fatal(err)
	}
	one, _ := w.Model("one", ModelFold{Pipeline: p})
	for k, d := range w.Days.Dates {
		lo, c := m.Forecasts[k][0], m.Points[k]
		ratio := math.Log(lo/c) / math.Log(one.Forecasts[k][0]/c)
		want := 1.0
		if d >= switchDay {
			want = 2
		}
		near(t, "log-ratio of q0.025 to the point, fold model over the shipped one", ratio, want, 1e-6)
	}
	// The shipped model's calibration ends 2023-11-23: it cannot forecast
	// that day out of sample.
	_, early := shippedWalk(t, "2023-11-23", "2023-11-30")
	if _, err := early.Model(NameModel, ModelFold{Pipeline: p}); err == nil || !strings.Contains(err.Error(), "not out of sample") {
		t.Errorf("a model calibrated on the target day: %v", err)
	}
	if _, err := w.Model("late", ModelFold{From: switchDay, Pipeline: p}); err == nil {
		t.Error("a first fold starting after the first target: no error")
	}
}
