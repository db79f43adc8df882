package evaluate

import (
	"context"
	"math"
	"slices"
	"strconv"
	"sync"
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
		o, err := LiveOnline(fs[:40], ACI{Gamma: ACIGamma})
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
	q := new(closecast.Distribution)
	for k, l := range Levels {
		q[k] = 90 + 20*l
	}
	flat := *q // valid, but its 0.45 quantile is its median: no width
	flat[9] = flat[10]
	d := closecast.MustParseDate("2026-02-01")
	ps := []closecast.Prediction{
		{Forecast: closecast.Forecast{Date: d + 1, Value: 2}, Model: "v2", Actual: &a2, Quantiles: q},
		{Forecast: closecast.Forecast{Date: d, Value: 1}, Model: "v1", Actual: &a1, Quantiles: q},
		{Forecast: closecast.Forecast{Date: d, Value: 3}, Model: "v3", Actual: &a1, Quantiles: q},
		{Forecast: closecast.Forecast{Date: d + 2, Value: 4}, Model: "v3", Actual: &a1},  // no quantiles
		{Forecast: closecast.Forecast{Date: d + 3, Value: 5}, Model: "v3", Quantiles: q}, // not scored
		{Forecast: closecast.Forecast{Date: d + 4, Value: 5}, Model: "v3", Actual: &a1, Quantiles: &flat},
	}
	fs, err := LiveForecasts(ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Date != d || fs[0].Point != 3 || fs[1].Date != d+1 || fs[1].Actual != 102 || fs[1].Quantiles[20] != q[20] {
		t.Fatalf("LiveForecasts = %+v; want day d by v3 (the newest model), then d+1 (not the flat d+4)", fs)
	}
	crossing := *q
	crossing[3] = crossing[4] + 1
	bad := []closecast.Prediction{{Forecast: closecast.Forecast{Date: d}, Model: "v", Actual: &a1, Quantiles: &crossing}}
	if _, err := LiveForecasts(bad); err == nil {
		t.Error("a crossing distribution was accepted")
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
	days, methods, skipped, err := LiveMethods(s, fs, ACI{Gamma: ACIGamma})
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
	// Refreshed day by day, reusing the days walked before, it is the same.
	known := map[closecast.Date]baselineDay{}
	if _, _, _, err := liveMethods(s, fs[:3], known, ACI{Gamma: ACIGamma}); err != nil || len(known) != 2 {
		t.Fatalf("first refresh: %d days walked, %v; want 2", len(known), err)
	}
	days2, methods2, _, err := liveMethods(s, fs, known, ACI{Gamma: ACIGamma})
	if err != nil || len(known) != 3 {
		t.Fatalf("second refresh: %d days walked, %v; want 3", len(known), err)
	}
	if !slices.Equal(days2.Dates, days.Dates) || !slices.Equal(days2.Last, days.Last) || !slices.Equal(days2.Volatility, days.Volatility) {
		t.Errorf("refreshed days %+v differ from %+v", days2, days)
	}
	for b := range methods {
		if methods2[b].Name != methods[b].Name || !slices.Equal(methods2[b].Forecasts, methods[b].Forecasts) {
			t.Errorf("refreshed %s differs", methods[b].Name)
		}
	}
	one, err := ScoreLive(days, methods, days.Dates[2], days.Dates[2])
	if err != nil || one.N != 1 || one.Model != nil || one.Best != nil {
		t.Errorf("one day: %+v, %v; want only n", one, err)
	}
}

// BenchmarkLiveMethods is the cost of one refresh of /api/accuracy's
// distribution scores (Live caches it until a new day is scored): the
// baselines walked forward over the ledger's days, GARCH refitted every
// RefitDays.
func BenchmarkLiveMethods(b *testing.B) {
	s := garchSeries(1400, 5)
	for _, n := range []int{30, 365} {
		fs := make([]LiveForecast, n)
		for j := range fs {
			i := len(s.Bars) - n + j
			c := s.Bars[i-1].Close
			fs[j] = LiveForecast{Date: s.Bars[i].Date, Point: c, Actual: s.Bars[i].Close}
			for k, l := range Levels {
				fs[j].Quantiles[k] = c * math.Exp(0.1*(l-0.5))
			}
		}
		b.Run(strconv.Itoa(n)+"days", func(b *testing.B) {
			for b.Loop() {
				if _, _, _, err := LiveMethods(s, fs, ACI{Gamma: ACIGamma}); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What Live does when one more day is scored: walk that day only.
		b.Run(strconv.Itoa(n)+"days_refresh", func(b *testing.B) {
			known := map[closecast.Date]baselineDay{}
			if _, _, _, err := liveMethods(s, fs, known, ACI{Gamma: ACIGamma}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				delete(known, fs[n-1].Date)
				if _, _, _, err := liveMethods(s, fs, known, ACI{Gamma: ACIGamma}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fakeLedger is a ScoredLedger over fixed predictions, counting the full
// reads (a refresh) apart from the newest-day probes.
type fakeLedger struct {
	ps    []closecast.Prediction // newest first
	reads int
}

func (f *fakeLedger) Scored(_ context.Context, _ string, days int) ([]closecast.Prediction, error) {
	if days == 1 {
		return f.ps[:1], nil
	}
	f.reads++
	return f.ps, nil
}

// seriesSource serves one series and its range.
type seriesSource struct{ s closecast.Series }

func (s seriesSource) Bars(_ context.Context, _ string, from, to closecast.Date) (closecast.Series, error) {
	return s.s.Between(from, to), nil
}

func (s seriesSource) Range(context.Context, string) (closecast.Date, closecast.Date, bool, error) {
	f, _ := s.s.First()
	l, _ := s.s.Last()
	return f, l, true, nil
}

// TestLiveRefreshesOnlyOnANewScoredDay: Live reads the whole ledger and
// walks the baselines again only when a newer day is scored, and its
// scores are ScoreLive's of LiveMethods.
func TestLiveRefreshesOnlyOnANewScoredDay(t *testing.T) {
	s := garchSeries(400, 9)
	var ps []closecast.Prediction
	for i := 399; i >= 390; i-- {
		c, a := s.Bars[i-1].Close, s.Bars[i].Close
		p := closecast.Prediction{Forecast: closecast.Forecast{Symbol: "SIM", Date: s.Bars[i].Date, Value: c}, Model: "m", LastClose: c, Actual: &a}
		p.Quantiles = new(closecast.Distribution)
		for k, l := range Levels {
			p.Quantiles[k] = c * math.Exp(0.05*(l-0.5))
		}
		ps = append(ps, p)
	}
	led := &fakeLedger{ps: ps[1:]} // up to the day before the last
	live := NewLive(led, seriesSource{s}, ACI{Gamma: ACIGamma})
	ctx := context.Background()
	a1, err := live.ScoreDistribution(ctx, "SIM", 30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.ScoreDistribution(ctx, "SIM", 30); err != nil || led.reads != 1 {
		t.Fatalf("two requests read the ledger %d times, %v; want once", led.reads, err)
	}
	led.ps = ps // a new day is scored
	a2, err := live.ScoreDistribution(ctx, "SIM", 30)
	if err != nil || led.reads != 2 || a1.N != 9 || a2.N != 10 {
		t.Fatalf("after a new scored day: %d reads, n %d then %d, %v; want 2 reads, 9 then 10 days", led.reads, a1.N, a2.N, err)
	}
	fs, err := LiveForecasts(ps)
	if err != nil {
		t.Fatal(err)
	}
	days, methods, _, err := LiveMethods(s.Between(fs[0].Date.AddDays(-1000), fs[9].Date), fs, ACI{Gamma: ACIGamma})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ScoreLive(days, methods, ps[0].Date.AddDays(-29), ps[0].Date)
	if err != nil {
		t.Fatal(err)
	}
	if *a2.Model != *want.Model || *a2.Best != *want.Best || *a2.Adaptive != *want.Adaptive || a2.Skipped != 0 {
		t.Errorf("Live scored %+v, ScoreLive %+v", a2, want)
	}
}

// TestLiveIsSafeForConcurrentUse: requests for the scores and the ACI
// state at once, across a refresh, agree (run with -race).
func TestLiveIsSafeForConcurrentUse(t *testing.T) {
	s := garchSeries(320, 4)
	var ps []closecast.Prediction
	for i := 319; i >= 310; i-- {
		c, a := s.Bars[i-1].Close, s.Bars[i].Close
		p := closecast.Prediction{Forecast: closecast.Forecast{Symbol: "SIM", Date: s.Bars[i].Date, Value: c}, Model: "m", LastClose: c, Actual: &a}
		p.Quantiles = new(closecast.Distribution)
		for k, l := range Levels {
			p.Quantiles[k] = c * math.Exp(0.05*(l-0.5))
		}
		ps = append(ps, p)
	}
	live := NewLive(&readOnlyLedger{ps: ps}, seriesSource{s}, ACI{Gamma: ACIGamma})
	var wg sync.WaitGroup
	res := make([]float64, 8)
	for g := range 8 {
		wg.Go(func() {
			if g%2 == 0 {
				a, err := live.ScoreDistribution(context.Background(), "SIM", 30)
				if err != nil || a.N != 10 {
					t.Errorf("goroutine %d: %+v, %v", g, a, err)
					return
				}
				res[g] = a.Model.PinballPct
			} else {
				o, err := live.Online(context.Background(), "SIM")
				if err != nil || o.N() != 10 {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
				res[g] = o.Alpha(PairOf80)
			}
		})
	}
	wg.Wait()
	for g := 2; g < 8; g++ {
		if res[g] != res[g%2] {
			t.Errorf("goroutine %d got %v, goroutine %d %v", g, res[g], g%2, res[g%2])
		}
	}
}

// readOnlyLedger is a ScoredLedger safe for concurrent use: it only reads.
type readOnlyLedger struct{ ps []closecast.Prediction }

func (l *readOnlyLedger) Scored(_ context.Context, _ string, days int) ([]closecast.Prediction, error) {
	if days == 1 {
		return l.ps[:1], nil
	}
	return l.ps, nil
}
