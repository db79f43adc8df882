package evaluate

import (
	"math"
	"testing"

	"github.com/closecast/closecast"
)

// The ledger's distributions and evaluate's forecasts are at the same
// levels, so a recorded forecast is scored and adapted as a walk-forward one.
func TestLevelsAreTheLedgersDistributionLevels(t *testing.T) {
	if NumLevels != closecast.NumDistributionLevels || Levels != closecast.DistributionLevels {
		t.Fatalf("evaluate.Levels %v; closecast.DistributionLevels %v", Levels, closecast.DistributionLevels)
	}
	if Levels[closecast.DistributionP10] != 0.1 || Levels[closecast.DistributionP90] != 0.9 || Levels[closecast.DistributionMedian] != 0.5 || Levels[PairOf80] != 0.1 {
		t.Fatal("the named indices are not the 0.10, 0.50 and 0.90 levels")
	}
}

// liveSeq returns n live forecasts of a flat market at 100 with a base 80 %
// interval 92..108: actual closes alternately above and below the median
// by dev·(1 + grow·k) on day k.
func liveSeq(n int, dev, grow float64) []LiveForecast {
	fs := make([]LiveForecast, n)
	for k := range fs {
		f := &fs[k]
		f.Date = closecast.MustParseDate("2026-01-01").AddDays(k)
		f.Point, f.Actual = 100, 100+dev*(1+grow*float64(k))*float64(1-2*(k%2)) // above, below, …
		for j, l := range Levels {
			f.Quantiles[j] = 100 + 20*(l-0.5) // the 80 % interval is 92..108
		}
	}
	return fs
}

// TestOnlineIsAdapt: the state serve applies after the ledger's outcomes
// is the walk-forward Adapt of the same sequence, to the last bit, and it
// widens after misses and narrows after easy covers.
func TestOnlineIsAdapt(t *testing.T) {
	for _, c := range []struct {
		name  string
		dev   float64
		grow  float64
		wider bool
	}{{"every close outside, ever further", 12, 0.01, true}, {"every close near the median", 1, 0, false}} {
		fs := liveSeq(41, c.dev, c.grow) // 40 scored, then today's base forecast
		o, err := LiveOnline(fs[:40])
		if err != nil {
			t.Fatal(err)
		}
		days := Days{Horizon: 1, Dates: make([]closecast.Date, 41), Actual: make([]float64, 41)}
		base := Method{Name: "m", Forecasts: make([]Quantiles, 41)}
		for k, f := range fs {
			days.Dates[k], days.Actual[k], base.Forecasts[k] = f.Date, f.Actual, f.Quantiles
		}
		walked, err := Adapt(days, base, ACI{Gamma: ACIGamma})
		if err != nil {
			t.Fatal(err)
		}
		served := o.Apply(&fs[40].Quantiles)
		if served != walked.Forecasts[40] {
			t.Fatalf("%s: served %v, Adapt %v", c.name, served, walked.Forecasts[40])
		}
		lo, hi := served.Interval(80)
		blo, bhi := fs[40].Quantiles.Interval(80)
		alpha := o.Alpha(PairOf80)
		if o.N() != 40 {
			t.Errorf("%s: N = %d, want 40", c.name, o.N())
		}
		if c.wider {
			if !(lo < blo && hi > bhi) || !(alpha < 0.2) || !(o.Factor(PairOf80) > 1) {
				t.Errorf("%s: 80 %% interval %v..%v (base %v..%v), α %v: want wider and α < 0.2", c.name, lo, hi, blo, bhi, alpha)
			}
			// Each close is beyond every past score, so β = 1/(n+1) with n
			// past scores: ACI's ideal set at α ≈ 0.2 is the whole line
			// (covers) while n ≤ 3, a miss from n = 4 on.
			near(t, "α after 4 covers and 36 misses", alpha, 0.2+4*ACIGamma*0.2-36*ACIGamma*0.8, 1e-12)
		} else {
			if !(lo > blo && hi < bhi) || !(alpha > 0.2) || !(o.Factor(PairOf80) < 1) {
				t.Errorf("%s: 80 %% interval %v..%v (base %v..%v), α %v: want narrower and α > 0.2", c.name, lo, hi, blo, bhi, alpha)
			}
			near(t, "α after 40 covers", alpha, 0.2+40*ACIGamma*0.2, 1e-12)
			// Every score is 1/8 of the half-width: the factor is that score.
			near(t, "factor", o.Factor(PairOf80), 1.0/8, 1e-12)
		}
	}
}

func TestLiveForecastsKeepOnePerDayWithQuantiles(t *testing.T) {
	a1, a2 := 101.0, 102.0
	q := make([]float64, NumLevels)
	for k, l := range Levels {
		q[k] = 90 + 20*l
	}
	d := closecast.MustParseDate("2026-02-01")
	ps := []closecast.Prediction{
		{Forecast: closecast.Forecast{Date: d + 1, Value: 2}, Model: "v2", Actual: &a2, Quantiles: q},
		{Forecast: closecast.Forecast{Date: d, Value: 1}, Model: "v1", Actual: &a1, Quantiles: q},
		{Forecast: closecast.Forecast{Date: d, Value: 3}, Model: "v3", Actual: &a1, Quantiles: q},
		{Forecast: closecast.Forecast{Date: d + 2, Value: 4}, Model: "v3", Actual: &a1},  // no quantiles
		{Forecast: closecast.Forecast{Date: d + 3, Value: 5}, Model: "v3", Quantiles: q}, // not scored
	}
	fs, err := LiveForecasts(ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Date != d || fs[0].Point != 3 || fs[1].Date != d+1 || fs[1].Actual != 102 || fs[1].Quantiles[20] != q[20] {
		t.Fatalf("LiveForecasts = %+v; want day d by v3 (the newest model), then d+1", fs)
	}
	bad := []closecast.Prediction{{Forecast: closecast.Forecast{Date: d}, Model: "v", Actual: &a1, Quantiles: q[:3]}}
	if _, err := LiveForecasts(bad); err == nil {
		t.Error("a short distribution was accepted")
	}
}

// TestLiveMethodsAreTheWalkForward: on the ledger's days the baselines'
// forecasts are exactly those of a walk-forward over the same bars, days
// without enough bars before them are skipped, and ScoreLive's figures are
// Score's on the same days.
func TestLiveMethodsAreTheWalkForward(t *testing.T) {
	s := garchSeries(400, 3)
	// Ledger days: one too early for the baselines, then three scattered.
	idx := []int{100, 300, 301, 350}
	fs := make([]LiveForecast, len(idx))
	for j, i := range idx {
		c := s.Bars[i-1].Close
		fs[j] = LiveForecast{Date: s.Bars[i].Date, Point: c, Actual: s.Bars[i].Close}
		for k, l := range Levels {
			fs[j].Quantiles[k] = c * math.Exp(0.1*(l-0.5))
		}
	}
	days, methods, skipped, err := LiveMethods(s, fs)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 || days.Len() != 3 || days.Dates[0] != fs[1].Date || days.Dates[2] != fs[3].Date || len(methods) != 7 {
		t.Fatalf("days %v, %d methods, skipped %d; want the last three days, 7 methods, 1 skipped", days.Dates, len(methods), skipped)
	}
	w, err := NewWalk(s, fs[1].Date, fs[3].Date, 1, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	walked, err := w.Run(NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	for b := range walked {
		m := methods[2+b]
		if m.Name != walked[b].Name || m.Forecasts[0] != walked[b].Forecasts[0] || m.Forecasts[1] != walked[b].Forecasts[1] || m.Forecasts[2] != walked[b].Forecasts[50] {
			t.Errorf("%s on the ledger's days differs from the walk-forward", walked[b].Name)
		}
	}
	if methods[0].Name != NameLiveModel || methods[0].Forecasts[0] != fs[1].Quantiles || methods[1].Name != NameLiveACI {
		t.Errorf("methods %s, %s; want the model's recorded quantiles then its ACI", methods[0].Name, methods[1].Name)
	}
	acc, err := ScoreLive(days, methods, days.Dates[0], days.Dates[2])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Score(days, methods, "")
	if err != nil {
		t.Fatal(err)
	}
	if acc.N != 3 || acc.Model.PinballPct != rep.Methods[0].PinballPct || acc.Model.Coverage80 != rep.Methods[0].Intervals[1].Coverage ||
		acc.Adaptive.Winkler80Pct != rep.Methods[1].Winkler80Pct || len(acc.Baselines) != 5 {
		t.Fatalf("ScoreLive %+v differs from Score", acc)
	}
	for _, b := range acc.Baselines {
		if b.PinballPct < acc.Best.PinballPct {
			t.Errorf("best baseline %s (%v) is not the lowest pinball: %s has %v", acc.Best.Method, acc.Best.PinballPct, b.Method, b.PinballPct)
		}
	}
	one, err := ScoreLive(days, methods, days.Dates[2], days.Dates[2])
	if err != nil || one.N != 1 || one.Model != nil || one.Best != nil {
		t.Errorf("one day: %+v, %v; want only n", one, err)
	}
}
