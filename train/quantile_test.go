package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/pipeline"
)

// quickQuantile is config/shipped/quantile.yaml cut to a few seconds:
// data from 2022, 4 units, 3 epochs.
func quickQuantile(t *testing.T) config.Config {
	t.Helper()
	cfg, err := shipped.Load("quantile")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data.From = closecast.MustParseDate("2022-01-01")
	cfg.Units, cfg.Epochs, cfg.Threads = 4, 3, 1
	return cfg
}

// TestRunTrainsTheQuantileHead: train.Run on the quantile config trains
// the head exactly as TrainQuantileHead does, scores its median
// on the tail, hold-out and validation window, and writes an artifact that
// records its levels and target and reads back to the same forecasts.
func TestRunTrainsTheQuantileHead(t *testing.T) {
	cfg := quickQuantile(t)
	s := btc(t)
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	res, err := Run(context.Background(), cfg, s, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	fit, err := TrainQuantileHead(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	var wantW, gotW bytes.Buffer
	fit.Pipeline.Net.WriteSafetensors(&wantW)
	m.Pipeline.Net.WriteSafetensors(&gotW)
	if !bytes.Equal(wantW.Bytes(), gotW.Bytes()) {
		t.Error("train.Run's head differs from TrainQuantileHead's")
	}
	if !slices.Equal(m.Pipeline.Quantiles, evaluate.Levels[:]) {
		t.Errorf("levels %v, want %v", m.Pipeline.Quantiles, evaluate.Levels)
	}
	ms := m.Meta.Metrics
	if ms.Tuning == nil || ms.Holdout == nil || ms.Validation == nil || ms.Holdout.From != fit.Holdout ||
		ms.Holdout.To != closecast.MustParseDate("2025-04-30") || ms.Validation.N != 46 || ms.Tuning.From != fit.TailFrom {
		t.Fatalf("metrics %+v", ms)
	}
	if m.Meta.TrainRange != (config.Range{From: fit.TrainFrom, To: fit.Holdout - 1}) || m.Meta.Training.EpochsTrained != fit.Epochs ||
		len(m.Meta.LossCurve.Train) != fit.Epochs || len(m.Meta.LossCurve.Val) != fit.Epochs {
		t.Errorf("train range %+v, training %+v, curve %d/%d", m.Meta.TrainRange, m.Meta.Training, len(m.Meta.LossCurve.Train), len(m.Meta.LossCurve.Val))
	}

	dir := filepath.Join(t.TempDir(), "quantile")
	if err := artifact.Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	back, err := artifact.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if q := back.Meta.QuantileHead; q == nil || !slices.Equal(q.Levels, evaluate.Levels[:]) || q.Target != config.TargetLogReturnEWMAZ {
		t.Fatalf("model.json quantile_head %+v", q)
	}
	idx := []int{s.Index(closecast.MustParseDate("2025-06-01")), s.Index(closecast.MustParseDate("2025-07-16"))}
	want, err := m.Pipeline.QuantilesAt(s.Bars, idx, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Pipeline.QuantilesAt(s.Bars, idx, 1)
	if err != nil {
		t.Fatal(err)
	}
	med, err := back.Pipeline.PredictAt(s.Bars, idx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range idx {
		if !slices.Equal(got[k], want[k]) || med[k] != want[k][10] || evaluate.Levels[10] != 0.5 {
			t.Errorf("day %d: read back %v, trained %v, point %v (want the median)", k, got[k], want[k], med[k])
		}
	}

	// Forecast: the head's own quantiles at the levels asked, day 1 only.
	p, i := back.Pipeline, idx[1]
	h, err := p.Forecast(s.Bars, i, s.Bars[i].Date, pipeline.HorizonOptions{Horizon: 1, Interval: pipeline.IntervalAuto, Levels: []float64{0.05, 0.5, 0.95}})
	if err != nil {
		t.Fatal(err)
	}
	d := h.Days[0]
	if h.Interval != pipeline.IntervalQuantileHead || d.Value != want[1][10] || !slices.Equal(d.Quantiles, []float64{want[1][1], want[1][10], want[1][19]}) {
		t.Errorf("forecast %+v, want the head's 5/50/95 %% of %v", h, want[1])
	}
	for _, bad := range []pipeline.HorizonOptions{
		{Horizon: 2, Interval: pipeline.IntervalAuto, Levels: []float64{0.5}},
		{Horizon: 1, Interval: pipeline.IntervalConformal, Levels: []float64{0.5}},
		{Horizon: 1, Interval: pipeline.IntervalAuto, Levels: []float64{0.07}},
	} {
		if _, err := p.Forecast(s.Bars, i, s.Bars[i].Date, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		} else if bad.Horizon == 2 && !errors.Is(err, pipeline.ErrHorizonTooLong) {
			t.Errorf("horizon 2: %v", err)
		}
	}
	if math.IsNaN(ms.Holdout.Model.MASE) {
		t.Error("hold-out MASE undefined")
	}
}
