package evaluate

import (
	"math"
	"testing"
)

// alternating returns ±c, n of them.
func alternating(n int, c float64) []float64 {
	r := make([]float64, n)
	for j := range r {
		r[j] = c
		if j%2 == 1 {
			r[j] = -c
		}
	}
	return r
}

func TestPersistenceIsGaussianWithThe30DaySigma(t *testing.T) {
	// 100 returns of which the last 30 alternate ±0.02: mean 0, sample σ =
	// 0.02·√(30/29); the earlier returns must not matter.
	r := append(alternating(70, 0.5), alternating(30, 0.02)...)
	var q Quantiles
	if err := (&Persistence{}).Forecast(r, 1, &q); err != nil {
		t.Fatal(err)
	}
	sigma := 0.02 * math.Sqrt(30.0/29)
	near(t, "median", q.Median(), 0, 1e-15)
	near(t, "q0.90", q[18], sigma*1.2815515655446004, 1e-12)
	near(t, "q0.05", q[1], -sigma*1.6448536269514722, 1e-12)
	// The outer levels are exact Gaussian quantiles, not extrapolations.
	near(t, "q0.025", q[0], -sigma*1.959963984540054, 1e-12)
	near(t, "q0.975", q[20], sigma*1.959963984540054, 1e-12)
	if err := (&Persistence{}).Forecast(r[:29], 1, &q); err == nil {
		t.Error("29 returns: no error")
	}
}

func TestEWMAVariancesByHand(t *testing.T) {
	// Seed: mean square of the (three) returns = 0.05/3; then
	// v1 = 0.94·v0 + 0.06·0.01, v2 = 0.94·v1, v3 = 0.94·v2 + 0.06·0.04.
	v := EWMAVariances([]float64{0.1, 0, 0.2}, 0.94, nil)
	v0 := 0.05 / 3
	v1 := 0.94*v0 + 0.06*0.01
	v2 := 0.94 * v1
	v3 := 0.94*v2 + 0.06*0.04
	for j, want := range []float64{v0, v1, v2, v3} {
		near(t, "v", v[j], want, 1e-17)
	}
}

func TestEmpiricalQuantilesOfTheLast250(t *testing.T) {
	// The last 250 returns are 1..250 ×0.001, in a scrambled order; numpy's
	// linear rule puts the τ-quantile at 0.001·(1 + 249τ).
	r := alternating(50, 9) // older returns, outside the window
	for j := range 250 {
		r = append(r, 0.001*float64((j*97)%250+1))
	}
	var q Quantiles
	b := &Empirical{}
	if err := b.Forecast(r, 1, &q); err != nil {
		t.Fatal(err)
	}
	for k, tau := range Levels {
		near(t, "quantile", q[k], 0.001*(1+249*tau), 1e-12)
	}
	if r[len(r)-1] != 0.001*float64((249*97)%250+1) {
		t.Error("Forecast reordered the caller's returns")
	}
}

func TestFilteredRescalesStandardisedReturns(t *testing.T) {
	// Returns ±c throughout keep the EWMA variance at c² (seeded with the
	// mean square c²), so the standardised returns are ±1, 125 of each, and
	// the next σ is c: quantiles −c below the median, +c above, 0 at it.
	const c = 0.03
	r := alternating(400, c)
	var q Quantiles
	if err := (&Filtered{}).Forecast(r, 1, &q); err != nil {
		t.Fatal(err)
	}
	for k := range q {
		want := -c
		if k == 10 {
			want = 0
		} else if k > 10 {
			want = c
		}
		near(t, "quantile", q[k], want, 1e-12)
	}
	// Doubling the last return (−c to −2c) makes one standardised return −2,
	// which no quantile from 0.025 to 0.975 reaches (the 0.025 one sits at
	// rank 1 + 249·0.025 = 7.2 of 250), and scales the next σ to
	// √(0.94c² + 0.06·4c²) = c·√1.18.
	r[len(r)-1] *= 2
	_ = (&Filtered{}).Forecast(r, 1, &q)
	near(t, "q0.95 after a shock", q[19], c*math.Sqrt(1.18), 1e-12)
	near(t, "q0.025 after a shock", q[0], -c*math.Sqrt(1.18), 1e-12)
}

// TestFittedBaselinesRefitOnSchedule checks that EWMA-t and GARCH-t fit on
// the last multiple of RefitDays returns, that their quantiles are the
// next σ times the standardised-t quantiles of the fitted ν, and that a
// forecast does not depend on the forecasts made before it.
func TestFittedBaselinesRefitOnSchedule(t *testing.T) {
	r := simulateGARCH(truth, 700, 3)
	ew, ga := &EWMAT{}, &GARCHT{}
	var q Quantiles
	for n := 655; n <= 661; n++ {
		for _, b := range []Baseline{ew, ga} {
			if err := b.Forecast(r[:n], 1, &q); err != nil {
				t.Fatal(err)
			}
		}
		wantFit := n / 30 * 30
		if ew.fittedOn != wantFit || ga.fittedOn != wantFit {
			t.Fatalf("n=%d: fitted on %d and %d returns, want %d", n, ew.fittedOn, ga.fittedOn, wantFit)
		}
	}
	// The last forecast (n = 661) by a fresh GARCHT equals the walked one.
	var fresh Quantiles
	g2 := &GARCHT{}
	if err := g2.Forecast(r[:661], 1, &fresh); err != nil {
		t.Fatal(err)
	}
	if fresh != q {
		t.Errorf("fresh forecast %v differs from walked %v", fresh, q)
	}
	v := ga.Params.Variances(r[:661], meanSquare(r[:660]), nil)
	z := tScores(ga.Params.Nu)
	near(t, "GARCH q0.90", q[18], math.Sqrt(v[661])*z[18], 1e-15)
	near(t, "GARCH q0.975", q[20], math.Sqrt(v[661])*z[20], 1e-15)
	if !(ew.Nu > 2 && ew.Nu < 30) {
		t.Errorf("EWMA-t ν = %v on t(5)-GARCH data", ew.Nu)
	}
	_ = ew.Forecast(r[:661], 1, &q)
	ev := EWMAVariances(r[:661], Lambda, nil)
	near(t, "EWMA-t q0.10", q[2], math.Sqrt(ev[661])*tScores(ew.Nu)[2], 1e-15)
}

func TestTScoresAreUnitVariance(t *testing.T) {
	// As ν grows the standardised t approaches the normal; at ν = 5 its
	// 0.95 quantile is t₅(0.95)·√(3/5) = 2.015048373333024·0.7745966692414834
	// and its 0.975 quantile t₅(0.975)·√(3/5) = 2.570581835636314·√0.6.
	z := tScores(5)
	near(t, "t5 q0.95", z[19], 2.015048373333024*math.Sqrt(0.6), 1e-9)
	near(t, "t5 q0.975", z[20], 2.570581835636314*math.Sqrt(0.6), 1e-9)
	z = tScores(1e7)
	near(t, "t∞ q0.95", z[19], normalScores[19], 1e-6)
	near(t, "t∞ q0.025", z[0], normalScores[0], 1e-6)
}
