package evaluate

import (
	"errors"
	"math"
	"testing"

	"github.com/closecast/closecast"
)

// garchSeries is a daily series whose log returns are simulated GARCH(1,1)-t
// (truth), starting at 100 on 2020-01-01.
func garchSeries(n int, seed uint64) closecast.Series {
	r := simulateGARCH(truth, n-1, seed)
	bars := make([]closecast.Bar, n)
	c := 100.0
	for i := range bars {
		if i > 0 {
			c *= math.Exp(r[i-1])
		}
		bars[i] = closecast.Bar{Date: closecast.MustParseDate("2020-01-01").AddDays(i), Open: c, High: c, Low: c, Close: c}
	}
	return closecast.Series{Symbol: "SIM", Bars: bars}
}

func TestWalkLayout(t *testing.T) {
	s := garchSeries(400, 5)
	from, to := s.Bars[300].Date, s.Bars[309].Date
	w, err := NewWalk(s, from, to, 1, 250)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Targets) != 10 || w.Targets[0] != 300 || w.Days.Dates[9] != to {
		t.Fatalf("targets %v", w.Targets)
	}
	near(t, "return", w.Returns[299], math.Log(s.Bars[300].Close/s.Bars[299].Close), 0)
	near(t, "last", w.Days.Last[0], s.Bars[299].Close, 0)
	near(t, "actual", w.Days.Actual[0], s.Bars[300].Close, 0)
	// The tercile volatility is the persistence baseline's σ at the origin.
	var q Quantiles
	_ = (&Persistence{}).Forecast(w.Returns[:299], 1, &q)
	near(t, "volatility", w.Days.Volatility[0]*normalScores[18], q[18], 1e-15)

	if _, err := NewWalk(s, s.Bars[100].Date, to, 1, 250); !errors.Is(err, ErrNoTargets) {
		t.Errorf("too little history: %v", err)
	}
	if _, err := NewWalk(s, to+100, to+200, 1, 250); !errors.Is(err, ErrNoTargets) {
		t.Errorf("no bars in range: %v", err)
	}
}

// TestWalkForwardDoesNotLookAhead changes every close from a target on and
// checks that the forecasts of that target and the days before it are the
// same, bit for bit: each is made from the closes before its day alone.
// Two runs being equal also shows the walk is deterministic.
func TestWalkForwardDoesNotLookAhead(t *testing.T) {
	s := garchSeries(420, 9)
	from, to := s.Bars[380].Date, s.Bars[419].Date
	w, err := NewWalk(s, from, to, 1, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	base, err := w.Run(NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	cut := 400 // bar index; target k = cut−380 and before must not change
	bars := append([]closecast.Bar(nil), s.Bars...)
	for i := cut; i < len(bars); i++ {
		c := bars[i].Close * (1 + 0.3*float64(i%3))
		bars[i] = closecast.Bar{Date: bars[i].Date, Open: c, High: c, Low: c, Close: c}
	}
	w2, err := NewWalk(closecast.Series{Symbol: "SIM", Bars: bars}, from, to, 1, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	moved, err := w2.Run(NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	for m := range base {
		for k := 0; k <= cut-380; k++ {
			if base[m].Forecasts[k] != moved[m].Forecasts[k] {
				t.Errorf("%s: forecast %d changed when later closes changed", base[m].Name, k)
			}
		}
		if k := cut - 380 + 2; base[m].Forecasts[k] == moved[m].Forecasts[k] {
			t.Errorf("%s: forecast %d ignores the closes before it", base[m].Name, k)
		}
	}
	again, _ := w.Run(NewBaselines())
	for m := range base {
		for k := range base[m].Forecasts {
			if base[m].Forecasts[k] != again[m].Forecasts[k] {
				t.Fatalf("%s: run is not deterministic", base[m].Name)
			}
		}
	}
}

// TestGARCHBaselineCalibratedOnGARCHData walks 1,000 days of simulated
// GARCH(1,1)-t data: the GARCH-t baseline, the true model family, must
// cover its 80 % interval within 3 standard errors of 80 % (SE = 1.26 pp)
// and pass Kupiec at 1 %, have a flat PIT histogram, and beat on pinball
// loss the Gaussian persistence baseline, which ignores the volatility
// clustering.
func TestGARCHBaselineCalibratedOnGARCHData(t *testing.T) {
	s := garchSeries(2000, 13)
	w, err := NewWalk(s, s.Bars[1000].Date, s.Bars[1999].Date, 1, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	methods, err := w.Run([]Baseline{&Persistence{}, &GARCHT{}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Score(w.Days, methods, NameGARCHT)
	if err != nil {
		t.Fatal(err)
	}
	g, p := rep.Methods[1], rep.Methods[0]
	t.Logf("GARCH-t: 80 %% coverage %.1f, pinball %.4f %%; persistence: %.1f, %.4f %%; DM %+v",
		g.Interval(80).Coverage, g.PinballPct, p.Interval(80).Coverage, p.PinballPct, rep.Comparisons[0].Pinball)
	near(t, "GARCH-t 80 % coverage", g.Interval(80).Coverage, 80, 3*1.26)
	if g.Interval(80).Kupiec.P < 0.01 {
		t.Errorf("GARCH-t Kupiec p = %v on its own model's data", g.Interval(80).Kupiec.P)
	}
	// Its PIT histogram is flat: 100 days a bin, SD ≈ 9.5; allow ±30.
	for b, c := range g.PIT {
		if c < 70 || c > 130 {
			t.Errorf("GARCH-t PIT bin %d holds %d of 1000 days (histogram %v)", b, c, g.PIT)
		}
	}
	if !(g.PinballPct < p.PinballPct) {
		t.Errorf("GARCH-t pinball %v not below persistence %v on GARCH data", g.PinballPct, p.PinballPct)
	}
}
