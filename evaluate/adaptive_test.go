package evaluate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/closecast/closecast"
)

func TestACIUpdateByHand(t *testing.T) {
	// α = 0.2, γ = 0.005: covered (β = 0.5 ≥ α) → α + 0.005·0.2; missed
	// (β = 0.1 < α) → α − 0.005·0.8; β equal to α counts as covered.
	tr := ACI{Gamma: 0.005}.Tracker(0.2)
	near(t, "α1", tr.Alpha(), 0.2, 0)
	tr.Update(0.5)
	near(t, "α2 after a cover", tr.Alpha(), 0.201, 1e-15)
	tr.Update(0.1)
	near(t, "α3 after a miss", tr.Alpha(), 0.197, 1e-15)
	tr.Update(0.197)
	near(t, "α4 after β = α", tr.Alpha(), 0.198, 1e-15)
}

func TestFACIUpdateByHand(t *testing.T) {
	// Two experts, γ = 0.01 and 0.1, α = 0.2, I = 100: σ = 1/200 and
	// η = √(3/100)·√((ln 200 + 2)/(0.8²·0.2³ + 0.2²·0.8³)).
	tr := FACI{Gammas: []float64{0.01, 0.1}, Interval: 100}.Tracker(0.2)
	eta := math.Sqrt(0.03) * math.Sqrt((math.Log(200)+2)/(0.64*0.008+0.04*0.512))
	sigma := 1.0 / 200
	near(t, "α1", tr.Alpha(), 0.2, 1e-15)
	// β = 0.1: both experts (at 0.2) miss and lose alike, so the weights
	// stay equal; α¹ = 0.2 − 0.01·0.8 = 0.192, α² = 0.2 − 0.1·0.8 = 0.12.
	tr.Update(0.1)
	near(t, "α2", tr.Alpha(), (0.192+0.12)/2, 1e-15)
	// β = 0.15: expert 1 (0.192) misses, loss 0.2·(−0.042) + 0.042 = 0.0336;
	// expert 2 (0.12) covers, loss 0.2·0.03 = 0.006, and gains weight.
	// Then α¹ = 0.192 − 0.008 = 0.184, α² = 0.12 + 0.1·0.2 = 0.14.
	tr.Update(0.15)
	w1, w2 := math.Exp(-eta*0.0336), math.Exp(-eta*0.006)
	p1 := (1-sigma)*w1/(w1+w2) + sigma/2
	p2 := (1-sigma)*w2/(w1+w2) + sigma/2
	near(t, "α3", tr.Alpha(), p1*0.184+p2*0.14, 1e-14)
	if !(p2 > p1) {
		t.Errorf("the covering expert's weight %v is not above the missing one's %v", p2, p1)
	}
}

func TestConformalFactorAndBetaByHand(t *testing.T) {
	s := []float64{0.5, 1, 2, 4}
	for _, c := range []struct{ alpha, want float64 }{
		{0.2, 4},   // ⌈5·0.8⌉ = 4th
		{0.4, 2},   // ⌈5·0.6⌉ = 3rd
		{0.1, 4},   // ⌈4.5⌉ = 5 > n: the largest
		{0.9, 0.5}, // ⌈0.5⌉ = 1st
		{1, 0},     // 0th: onto the median
	} {
		near(t, "factor", conformalFactor(s, c.alpha), c.want, 0)
	}
	near(t, "factor without history", conformalFactor(nil, 0.2), 1, 0)
	// β = 1 − (scores below s)/(n+1): 1.5 has two below, so it is held at
	// α < 0.6 (⌈5(1−α)⌉ ≥ 3, factor ≥ 2) and missed at 0.6 (factor 1).
	near(t, "β(1.5)", coveredAbove(s, 1.5), 0.6, 1e-15)
	near(t, "β(5)", coveredAbove(s, 5), 0.2, 1e-15)
	near(t, "β(0.5)", coveredAbove(s, 0.5), 1, 0)
	if !(conformalFactor(s, 0.59) >= 1.5) || conformalFactor(s, 0.6) >= 1.5 {
		t.Error("β(1.5) = 0.6 disagrees with the factors either side of it")
	}
	// Conformity: distance from the median in half-widths, per side.
	for _, c := range []struct{ y, want float64 }{{12, 1}, {13, 1.5}, {9, 0.5}, {6, 2}} {
		got, err := conformity(8, 10, 12, c.y)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "conformity", got, c.want, 1e-15)
	}
	if _, err := conformity(10, 10, 12, 9); err == nil {
		t.Error("a base interval with no width below its median: no error")
	}
}

// jumpDays returns n days whose log return from a close of 100 is
// Gaussian with σ = 0.01 before day jump and 0.03 from it, and a base
// method that forecasts σ = 0.01 throughout: calibrated before the jump,
// far too narrow after it.
func jumpDays(n, jump int, seed uint64) (Days, Method) {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := Days{Horizon: 1, Dates: make([]closecast.Date, n), Actual: make([]float64, n), Last: make([]float64, n), Volatility: make([]float64, n)}
	base := Method{Name: "base", Forecasts: make([]Quantiles, n)}
	var z Quantiles
	scale(&z, 0.01, &normalScores)
	for k := range n {
		sigma := 0.01
		if k >= jump {
			sigma = 0.03
		}
		d.Dates[k] = closecast.MustParseDate("2020-01-01").AddDays(k)
		d.Last[k], d.Volatility[k] = 100, sigma
		d.Actual[k] = 100 * math.Exp(sigma*rng.NormFloat64())
		base.Forecasts[k] = z.Closes(100)
	}
	return d, base
}

// coverage80 returns the percentage of days from..n−1 inside m's 80 % interval.
func coverage80(d Days, m Method, from int) float64 {
	in := 0
	for k := from; k < d.Len(); k++ {
		lo, hi := m.Forecasts[k].Interval(80)
		if Covered(lo, hi, d.Actual[k]) {
			in++
		}
	}
	return 100 * float64(in) / float64(d.Len()-from)
}

// TestAdaptRestoresCoverageAfterAVolatilityJump: the volatility triples
// after 400 of 1000 days; the base method keeps its old σ and covers about
// a third of the days with its 80 % interval. ACI (the literature's γ) and
// FACI (the paper's grid) bring the coverage of the final 500 days back to
// 80 % within three binomial standard errors of that many days.
func TestAdaptRestoresCoverageAfterAVolatilityJump(t *testing.T) {
	const n, jump = 1000, 400
	days, base := jumpDays(n, jump, 11)
	half := n / 2
	tol := 3 * 100 * math.Sqrt(0.8*0.2/float64(n-half))
	if c := coverage80(days, base, half); c > 50 {
		t.Fatalf("the base covers %.1f %% of the final half: the set-up does not under-cover", c)
	}
	// The online conformal quantile alone (γ = 0, α fixed) is dragged down
	// by the 400 calm days' scores: the moving α is what restores coverage.
	if fixed, err := Adapt(days, base, ACI{Gamma: 0}); err != nil {
		t.Fatal(err)
	} else if c := coverage80(days, fixed, half); c > 80-tol {
		t.Fatalf("γ = 0 covers %.1f %% of the final half: the set-up does not need ACI", c)
	}
	for _, a := range []Adaptation{ACI{Gamma: ACIGamma}, FACI{Gammas: FACIGammas, Interval: FACIInterval}} {
		m, err := Adapt(days, base, a)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != "base+"+a.Name() {
			t.Errorf("name %q", m.Name)
		}
		if c := coverage80(days, m, half); math.Abs(c-80) > tol {
			t.Errorf("%s: 80 %% coverage of the final %d days %.1f %%, want 80 ± %.1f", a.Name(), n-half, c, tol)
		} else {
			t.Logf("%s: 80 %% coverage of the final %d days %.1f %% (base %.1f %%)", a.Name(), n-half, c, coverage80(days, base, half))
		}
		for k := range m.Forecasts {
			if err := m.Forecasts[k].Validate(); err != nil {
				t.Fatalf("%s day %d: %v", a.Name(), k, err)
			}
		}
	}
}

// TestAdaptIsWalkForward: an outcome changes no forecast made before it
// is known: for h = 1 not day t's own, for h = 2 neither day t+1's.
func TestAdaptIsWalkForward(t *testing.T) {
	for _, h := range []int{1, 2} {
		days, base := jumpDays(120, 60, 3)
		days.Horizon = h
		a := ACI{Gamma: 0.05}
		before, err := Adapt(days, base, a)
		if err != nil {
			t.Fatal(err)
		}
		const tt = 80
		days.Actual[tt] *= 1.5 // a far outlier on day tt
		after, err := Adapt(days, base, a)
		if err != nil {
			t.Fatal(err)
		}
		for k := range before.Forecasts {
			same := before.Forecasts[k] == after.Forecasts[k]
			if k < tt+h && !same {
				t.Errorf("h=%d: day %d's forecast changed with day %d's outcome", h, k, tt)
			}
			if k == tt+h && same {
				t.Errorf("h=%d: day %d's forecast ignores day %d's outcome", h, k, tt)
			}
		}
	}
}
