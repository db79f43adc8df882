package train

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/pipeline"
)

// A direct head of N outputs learns, for the window before bar i, the log
// returns from close_{i-1} to close_{i+j}, j < N, each on its own scaler
// column, and no training window learns a day of the tail or hold-out.
func TestPrepareDirectHeadTargets(t *testing.T) {
	cfg, err := shipped.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	const N = 5
	cfg.Horizon = N
	ds, err := Prepare(cfg, btc(t))
	if err != nil {
		t.Fatal(err)
	}
	p := ds.Pipeline
	if ds.Outputs != N || len(p.Output.Min) != N || len(ds.Y) != ds.Windows()*N {
		t.Fatalf("outputs %d, target scaler %d columns, %d targets for %d windows", ds.Outputs, len(p.Output.Min), len(ds.Y), ds.Windows())
	}
	for _, k := range []int{0, 17, ds.Train - 1, ds.Windows() - N} {
		i := ds.Target[k]
		for j := range N {
			r := math.Log(ds.Bars[i+j].Close / ds.Bars[i-1].Close)
			want := float32((r - p.Output.Min[j]) / (p.Output.Max[j] - p.Output.Min[j]))
			if got := ds.Y[k*N+j]; got != want {
				t.Fatalf("window %d output %d: target %v, want %v (log return %v)", k, j, got, want, r)
			}
		}
	}
	// Longer horizons spread wider: the 5-day return range exceeds the 1-day one.
	if p.Output.Max[N-1]-p.Output.Min[N-1] <= p.Output.Max[0]-p.Output.Min[0] {
		t.Errorf("scaler ranges: day 1 %v..%v, day %d %v..%v", p.Output.Min[0], p.Output.Max[0], N, p.Output.Min[N-1], p.Output.Max[N-1])
	}
	if !math.IsNaN(float64(ds.Y[(ds.Windows()-1)*N+1])) {
		t.Errorf("the last window's day-2 target lies past the data and must be NaN, got %v", ds.Y[(ds.Windows()-1)*N+1])
	}
	fit := ds.Train - ds.Tail
	_, y, n := ds.Part(0, fit)
	if n != fit-(N-1) || len(y) != n*N {
		t.Fatalf("fitting part: %d windows of %d", n, fit)
	}
	// The last fitted window's last day is the day before the tail's first target.
	if last, tail := ds.Target[n-1]+N-1, ds.Target[fit]; last != tail-1 {
		t.Errorf("last fitted target bar %d, first tail target bar %d", last, tail)
	}
	for k, v := range y {
		if math.IsNaN(float64(v)) {
			t.Fatalf("fitting target %d is NaN", k)
		}
	}
}

// A direct-head model survives the artifact round trip and forecasts its
// days from one pass; longer horizons are refused.
func TestDirectHeadForecast(t *testing.T) {
	cfg, _ := shipped.Load("default")
	cfg.Horizon, cfg.Units, cfg.Epochs, cfg.Threads = 3, 8, 2, 2
	cfg.Data.From = closecast.MustParseDate("2023-01-01")
	series := btc(t)
	r, err := Run(context.Background(), cfg, series, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := artifact.Write(dir, r.Model, nil); err != nil {
		t.Fatal(err)
	}
	m, err := artifact.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := m.Pipeline
	if p.Outputs() != 3 || m.Meta.Architecture.Outputs != 3 {
		t.Fatalf("outputs %d, architecture %+v", p.Outputs(), m.Meta.Architecture)
	}
	bars := series.Bars
	i := series.Index(closecast.MustParseDate("2025-06-01"))
	o, err := p.Forecast(bars, i, bars[i].Date, pipeline.HorizonOptions{Horizon: 3})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, p.Window*len(p.Features))
	if err := p.Input(bars, i, x); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 3)
	p.Net.Predict(x, 1, p.Window, out)
	for j, d := range o.Days {
		want := bars[i-1].Close * math.Exp(p.Output.Inverse(j, float64(out[j])))
		if d.Value != want || d.Date != bars[i].Date+closecast.Date(j) {
			t.Errorf("day %d: %s %v, want %s %v", j+1, d.Date, d.Value, bars[i].Date+closecast.Date(j), want)
		}
	}
	if o.Days[0].Value == o.Days[2].Value {
		t.Errorf("days 1 and 3 forecast the same close %v: the outputs are not distinct", o.Days[0].Value)
	}
	one, err := p.PredictAt(bars, []int{i})
	if err != nil || one[0] != o.Days[0].Value {
		t.Errorf("PredictAt %v (%v), horizon day 1 %v", one, err, o.Days[0].Value)
	}
	if _, err := p.Forecast(bars, i, bars[i].Date, pipeline.HorizonOptions{Horizon: 4}); !errors.Is(err, pipeline.ErrHorizonTooLong) {
		t.Errorf("a 4-day horizon on a 3-day head: %v, want ErrHorizonTooLong", err)
	}
	mc, err := p.Forecast(bars, i, bars[i].Date, pipeline.HorizonOptions{Horizon: 3, Samples: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range mc.Days {
		if !(d.Quantiles[0] < d.Quantiles[2]) {
			t.Errorf("%s: MC-dropout quantiles %v are not spread", d.Date, d.Quantiles)
		}
	}
}
