package evaluate

import (
	"math"
	"testing"

	"github.com/closecast/closecast"
)

func TestBaselinesAheadByHand(t *testing.T) {
	var q1, q4 Quantiles
	r := append(alternating(290, 0.01), 0.02, -0.02)
	// Persistence and the EWMA-based baselines scale σ by √h: ×2 at h = 4.
	for _, b := range []Baseline{&Persistence{}, &EWMAT{}, &Filtered{}} {
		if err := b.Forecast(r, 1, &q1); err != nil {
			t.Fatal(err)
		}
		if err := b.Forecast(r, 4, &q4); err != nil {
			t.Fatal(err)
		}
		for k := range q1 {
			near(t, b.Name()+" 4-day quantile", q4[k], 2*q1[k], 1e-15)
		}
	}
	// Empirical: overlapping h-day sums of the last 250 returns. Returns
	// ±0.01 alternating: every 2-day sum is 0; the 248 3-day sums are ±0.01,
	// 124 of each, so quantiles are −0.01 below the median, 0 at it, +0.01 above.
	r = alternating(300, 0.01)
	e := &Empirical{}
	if err := e.Forecast(r, 2, &q1); err != nil {
		t.Fatal(err)
	}
	if q1 != (Quantiles{}) {
		t.Errorf("2-day sums of ±0.01: quantiles %v, want all 0", q1)
	}
	if err := e.Forecast(r, 3, &q1); err != nil {
		t.Fatal(err)
	}
	for k := range q1 {
		want := 0.01 * float64(min(max(k-medianIndex, -1), 1))
		near(t, "3-day quantile", q1[k], want, 1e-15)
	}
	if err := e.Forecast(r, 126, &q1); err == nil {
		t.Error("h = 126 over 250 days: no error")
	}
	if err := e.Forecast(r, 0, &q1); err == nil {
		t.Error("h = 0: no error")
	}
}

func TestGARCHAheadVarianceByHand(t *testing.T) {
	p := GARCHParams{Omega: 1e-5, Alpha: 0.1, Beta: 0.8, Nu: 5}
	next := 4e-4
	near(t, "h=1", p.AheadVariance(next, 1), next, 0)
	// E[σ²_{T+2}] = ω + (α+β)σ²_{T+1}.
	near(t, "h=2", p.AheadVariance(next, 2), next+1e-5+0.9*next, 1e-18)
	// E[σ²_{T+3}] = ω + 0.9·E[σ²_{T+2}].
	e2 := 1e-5 + 0.9*next
	near(t, "h=3", p.AheadVariance(next, 3), next+e2+1e-5+0.9*e2, 1e-18)
	// In closed form: h·v̄ + (σ²_{T+1} − v̄)(1 − Pʰ)/(1 − P), v̄ = 1e-4, P = 0.9.
	near(t, "h=1000", p.AheadVariance(next, 1000), 1000*1e-4+3e-4*(1-math.Pow(0.9, 1000))/0.1, 1e-13)
	// Integrated to within rounding (BTC's fits): no cancellation, h·σ²_{T+1} + ω·h(h−1)/2.
	ig := GARCHParams{Omega: 2e-5, Alpha: 0.1, Beta: 0.9 - 1e-12, Nu: 3}
	near(t, "IGARCH h=1", ig.AheadVariance(next, 1), next, 0)
	near(t, "IGARCH h=5", ig.AheadVariance(next, 5), 5*next+2e-5*10, 1e-13)
}

// TestWalkAhead checks a 3-day walk: the origin is three bars before the
// target, each forecast is the baseline's from the returns up to the
// origin, closes after the origin do not change it, and Score runs
// Diebold–Mariano with the horizon's lags.
func TestWalkAhead(t *testing.T) {
	s := garchSeries(400, 21)
	from, to := s.Bars[350].Date, s.Bars[379].Date
	w, err := NewWalk(s, from, to, 3, 250)
	if err != nil {
		t.Fatal(err)
	}
	if w.Days.Horizon != 3 || w.Days.Last[0] != s.Bars[347].Close {
		t.Fatalf("horizon %d, last %v, want 3 and bar 347's close", w.Days.Horizon, w.Days.Last[0])
	}
	got, err := w.Forecast(&Empirical{})
	if err != nil {
		t.Fatal(err)
	}
	var r Quantiles
	_ = (&Empirical{}).Forecast(w.Returns[:347], 3, &r)
	if got[0] != r.Closes(s.Bars[347].Close) {
		t.Errorf("first forecast %v, want %v", got[0], r.Closes(s.Bars[347].Close))
	}
	// Change closes from bar 352 on: targets up to bar 354 (origin 351) keep their forecasts.
	bars := append([]closecast.Bar(nil), s.Bars...)
	for i := 352; i < len(bars); i++ {
		c := 2 * bars[i].Close
		bars[i] = closecast.Bar{Date: bars[i].Date, Open: c, High: c, Low: c, Close: c}
	}
	w2, _ := NewWalk(closecast.Series{Symbol: "SIM", Bars: bars}, from, to, 3, 250)
	moved, err := w2.Forecast(&Empirical{})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k <= 4; k++ {
		if moved[k] != got[k] {
			t.Errorf("target %d (origin bar %d) changed with closes after its origin", k, 347+k)
		}
	}
	if moved[5] == got[5] {
		t.Error("target 5 (origin bar 352) ignores its origin's close")
	}
	methods, err := w.Run([]Baseline{&Persistence{}, &Empirical{}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Score(w.Days, methods, NameEmpirical)
	if err != nil {
		t.Fatal(err)
	}
	pin := make([][]float64, 2)
	for m := range methods {
		for k, q := range methods[m].Forecasts {
			pin[m] = append(pin[m], MeanPinball(&q, w.Days.Actual[k])*100/w.Days.Last[k])
		}
	}
	want, _ := DieboldMariano(pin[1], pin[0], 3)
	if rep.Horizon != 3 || rep.Comparisons[0].Pinball == nil || math.Abs(rep.Comparisons[0].Pinball.Stat-want.Stat) > 1e-12 {
		t.Errorf("report horizon %d, DM %+v, want 3 and %+v", rep.Horizon, rep.Comparisons[0].Pinball, want)
	}
}
