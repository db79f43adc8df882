package pipeline

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/closecast/closecast"
)

// The order statistics of the conformal rule, on scores 1..9.
func TestCalibrationQuantileRule(t *testing.T) {
	c := &Calibration{Scores: [][]float32{{1, 2, 3, 4, 5, 6, 7, 8, 9}}}
	for _, tc := range []struct {
		level float64
		want  float64
	}{
		{0.1, 1},  // ⌊10·0.1⌋ = 1st
		{0.25, 2}, // ⌊2.5⌋ = 2nd
		{0.5, 5},  // ⌈5⌉ = 5th
		{0.75, 8}, // ⌈7.5⌉ = 8th
		{0.9, 9},  // ⌈9⌉ = 9th
	} {
		got, err := c.Quantile(1, tc.level)
		if err != nil || got != tc.want {
			t.Errorf("level %v: %v (%v), want %v", tc.level, got, err, tc.want)
		}
	}
	for _, l := range []float64{0.05, 0.95} {
		if _, err := c.Quantile(1, l); !errors.Is(err, ErrNotCalibrated) {
			t.Errorf("level %v of 9 scores: %v, want ErrNotCalibrated (too few)", l, err)
		}
	}
	if _, err := c.Quantile(2, 0.5); !errors.Is(err, ErrNotCalibrated) {
		t.Errorf("day 2 of a 1-day calibration: %v", err)
	}
	bad := &Calibration{Scores: [][]float32{{2, 1}}}
	if err := bad.Validate(); err == nil {
		t.Error("descending scores validate")
	}
}

// persistence makes p forecast "tomorrow = today": all weights zero, so
// the network outputs its dense bias, set to the scaled log return 0.
func persistence(t *testing.T, p *Pipeline) {
	t.Helper()
	w := make([]float32, p.Net.NumParams())
	w[len(w)-1] = float32(-p.Output.Min[0] / (p.Output.Max[0] - p.Output.Min[0]))
	if err := p.Net.SetParams(w); err != nil {
		t.Fatal(err)
	}
}

// regimeWalk returns n daily bars whose log returns are N(0, σ_i²) with σ
// 1 % for the first third of the days and 4 % after: a market changing
// regime between calibration and use.
func regimeWalk(n int, seed uint64) []closecast.Bar {
	r := rand.New(rand.NewPCG(seed, 3))
	bars := make([]closecast.Bar, n)
	c := 100.0
	for i := range bars {
		s := 0.01
		if i >= n/3 {
			s = 0.04
		}
		c *= math.Exp(s * r.NormFloat64())
		bars[i] = closecast.Bar{Date: day0 + closecast.Date(i), Open: c, High: c, Low: c, Close: c, Volume: 1e6}
	}
	return bars
}

// On a random walk the persistence forecast's errors are the returns
// themselves, of known distribution: an 80 % conformal interval calibrated
// on calm days covers about 80 % of later days, day 1 and day 5 alike,
// even after volatility quadruples (the scores are scaled by the
// volatility at the origin).
func TestConformalCoverageOnAKnownDistribution(t *testing.T) {
	bars := regimeWalk(3000, 11)
	p := netPipeline(t, []string{"log_return_1d"}, 4, 1)
	persistence(t, p)
	i0 := 40
	if got, _ := p.PredictAt(bars, []int{i0}); math.Abs(got[0]-bars[i0-1].Close) > 1e-4*bars[i0-1].Close {
		t.Fatalf("the zero network forecasts %v, want persistence %v", got[0], bars[i0-1].Close)
	}
	cal, err := p.Calibrate(bars, bars[i0].Date, bars[i0+799].Date, 5)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Horizon() != 5 || len(cal.Scores[0]) != 800 || len(cal.Scores[4]) != 796 || cal.To != bars[i0+799].Date {
		t.Fatalf("calibration: horizon %d, %d and %d scores, to %s", cal.Horizon(), len(cal.Scores[0]), len(cal.Scores[4]), cal.To)
	}
	p.Calibration = cal
	opt := HorizonOptions{Horizon: 5, Interval: IntervalConformal}
	var in1, in5, n int
	for i := 1100; i+5 <= len(bars); i += 3 { // every origin in the 4 % regime
		o, err := p.Forecast(bars, i, bars[i].Date, opt)
		if err != nil {
			t.Fatal(err)
		}
		q1, q5 := o.Days[0].Quantiles, o.Days[4].Quantiles
		if c := bars[i].Close; c >= q1[0] && c <= q1[2] {
			in1++
		}
		if c := bars[i+4].Close; c >= q5[0] && c <= q5[2] {
			in5++
		}
		n++
	}
	cov1, cov5 := 100*float64(in1)/float64(n), 100*float64(in5)/float64(n)
	t.Logf("80 %% conformal interval, %d origins: day-1 coverage %.1f %%, day-5 %.1f %%", n, cov1, cov5)
	for _, c := range []float64{cov1, cov5} {
		if c < 74 || c > 86 {
			t.Errorf("coverage %.1f %%, want 80 ± 6", c)
		}
	}
}

func TestConformalNeedsACalibration(t *testing.T) {
	bars := walk(200, 1)
	p := netPipeline(t, []string{"log_return_1d"}, 4, 1)
	_, err := p.Forecast(bars, 100, bars[100].Date, HorizonOptions{Horizon: 2, Interval: IntervalConformal})
	if !errors.Is(err, ErrNotCalibrated) {
		t.Errorf("conformal interval without calibration: %v", err)
	}
	o := HorizonOptions{Horizon: 2, Interval: IntervalConformal, Samples: 10}
	if err := o.Validate(); err == nil {
		t.Error("samples with a conformal interval validate")
	}
}
