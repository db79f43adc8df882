package evaluate

import (
	"errors"
	"math"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s = %.12g, want %.12g (±%g)", name, got, want, tol)
	}
}

func TestLevels(t *testing.T) {
	if Levels[0] != 0.025 || Levels[1] != 0.05 || Levels[10] != 0.5 || Levels[19] != 0.95 || Levels[20] != 0.975 {
		t.Fatalf("Levels = %v", Levels)
	}
	for k := 1; k < NumLevels; k++ {
		if !(Levels[k] > Levels[k-1]) {
			t.Fatalf("Levels not ascending: %v", Levels)
		}
	}
}

func TestPinballHandCases(t *testing.T) {
	// y above q: τ·(y−q); below: (1−τ)·(q−y).
	near(t, "τ=0.1, y−q=+2", Pinball(0.1, 10, 12), 0.2, 1e-15)
	near(t, "τ=0.1, y−q=−2", Pinball(0.1, 10, 8), 1.8, 1e-15)
	near(t, "τ=0.9, y−q=−2", Pinball(0.9, 10, 8), 0.2, 1e-15)
	near(t, "τ=0.5 is half the absolute error", Pinball(0.5, 3, 7), 2, 0)
	near(t, "exact hit", Pinball(0.3, 5, 5), 0, 0)

	// Quantiles q(τ) = 20τ (so q0.05..q0.95 are 1..19) and y = 10 (the
	// median): level j/20 has loss (j/20)(10−j) below and (1−j/20)(j−10)
	// above. By hand:
	// Σ_{j=1}^{9} (j/20)(10−j) + Σ_{j=11}^{19} (1−j/20)(j−10)
	// = (1/20)Σ j(10−j) + (1/20)Σ_{m=1}^{9} (10−m)m = 2·165/20 = 16.5; mean 16.5/19.
	q := ramp(0, 20)
	near(t, "mean pinball", MeanPinball(&q, 10), 16.5/19, 1e-14)
	// The outer levels 0.025 and 0.975 are not in the mean: moving them
	// (keeping the order) changes nothing.
	q[0], q[20] = -100, 100
	near(t, "mean pinball without the outer levels", MeanPinball(&q, 10), 16.5/19, 1e-14)
}

func TestWinklerHandCases(t *testing.T) {
	// 80 % interval [90, 110], α = 0.2: width 20, plus 2/0.2 = 10 per unit missed.
	near(t, "inside", Winkler(90, 110, 0.2, 100), 20, 0)
	near(t, "on the edge", Winkler(90, 110, 0.2, 110), 20, 0)
	near(t, "3 below", Winkler(90, 110, 0.2, 87), 20+10*3, 1e-12)
	near(t, "5 above", Winkler(90, 110, 0.2, 115), 20+10*5, 1e-12)
	// 95 %: 2/0.05 = 40 per unit.
	near(t, "95 %, 1 above", Winkler(-1, 1, 0.05, 2), 2+40, 1e-12)
}

func TestIntervalsReadOffTheLevels(t *testing.T) {
	q := ramp(0, 20) // q(τ) = 20τ
	// The 95 % interval is read off q0.025 and q0.975, not extrapolated.
	for _, c := range []struct {
		level  int
		lo, hi float64
	}{{50, 5, 15}, {80, 2, 18}, {90, 1, 19}, {95, 0.5, 19.5}} {
		lo, hi := q.Interval(c.level)
		if lo != c.lo || hi != c.hi {
			t.Errorf("Interval(%d) = [%v, %v], want [%v, %v]", c.level, lo, hi, c.lo, c.hi)
		}
	}
}

func TestClosesAndValidate(t *testing.T) {
	var r Quantiles
	for k := range r {
		r[k] = 0.01 * float64(k-10)
	}
	c := r.Closes(200)
	near(t, "median close", c.Median(), 200, 0)
	near(t, "q0.95 close", c[19], 200*math.Exp(0.09), 1e-12)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c[5] = c[4] - 1
	if err := c.Validate(); err == nil {
		t.Error("crossing quantiles validated")
	}
	c[5] = math.NaN()
	if err := c.Validate(); err == nil {
		t.Error("NaN quantile validated")
	}
}

// ramp returns the quantiles a + b·τ at Levels.
func ramp(a, b float64) (q Quantiles) {
	for k, tau := range Levels {
		q[k] = a + b*tau
	}
	return q
}

// uniformQuantiles are the quantiles of U(0, 1): q(τ) = τ.
func uniformQuantiles() Quantiles { return Quantiles(Levels) }

func TestPITHistogramOfUniformData(t *testing.T) {
	// Outcomes evenly spread over (0, 1) under a U(0, 1) forecast fill the
	// ten bins exactly equally.
	q := uniformQuantiles()
	var hist [PITBins]int
	const n = 1000
	for i := range n {
		hist[PITBin(&q, (float64(i)+0.5)/n)]++
	}
	for b, c := range hist {
		if c != n/PITBins {
			t.Errorf("bin %d holds %d, want %d (histogram %v)", b, c, n/PITBins, hist)
		}
	}
	// Boundaries: F(y) in [0.1b, 0.1b+0.1) lands in bin b; the top bin is closed.
	for _, c := range []struct {
		y   float64
		bin int
	}{{0, 0}, {0.0999, 0}, {0.1, 1}, {0.55, 5}, {0.95, 9}, {1, 9}, {-5, 0}, {5, 9}} {
		if got := PITBin(&q, c.y); got != c.bin {
			t.Errorf("PITBin(%v) = %d, want %d", c.y, got, c.bin)
		}
	}
}

func TestTerciles(t *testing.T) {
	vol := []float64{0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6}
	want := []int{1, 0, 2, 0, 2, 0, 2, 1, 1}
	got := make([]int, len(vol))
	Terciles(vol, got)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Terciles(%v) = %v, want %v", vol, got, want)
		}
	}
	// Ties are broken by day order, so equal volatilities still split 3/3/3... here 2/2/2.
	Terciles([]float64{1, 1, 1, 1, 1, 1}, got[:6])
	if w := []int{0, 0, 1, 1, 2, 2}; [6]int(got[:6]) != [6]int(w) {
		t.Errorf("tied terciles = %v, want %v", got[:6], w)
	}
}

func TestKupiecHandComputed(t *testing.T) {
	// 30 misses in 100 days of an 80 % interval (p = 0.2):
	// LR = −2[70 ln 0.8 + 30 ln 0.2] + 2[70 ln 0.7 + 30 ln 0.3] = 5.633511519056668
	// (by hand, with a calculator), and P(χ²(1) > LR) = erfc(√(LR/2)) = 0.017620299883603.
	k, err := Kupiec(30, 100, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "LR", k.Stat, 5.633511519056668, 1e-12)
	near(t, "p", k.P, math.Erfc(math.Sqrt(5.633511519056668/2)), 1e-12)
	near(t, "p", k.P, 0.017620299883603, 1e-12)

	// Exactly the nominal rate: LR 0, p 1. No misses: LR = −2n ln(1−p).
	if k, _ := Kupiec(20, 100, 0.2); k.Stat != 0 || k.P != 1 {
		t.Errorf("nominal rate: %+v, want LR 0 p 1", k)
	}
	k, _ = Kupiec(0, 50, 0.2)
	near(t, "LR of no misses", k.Stat, -100*math.Log(0.8), 1e-12)
	k, _ = Kupiec(50, 50, 0.2)
	near(t, "LR of misses only", k.Stat, -100*math.Log(0.2), 1e-12)

	for _, bad := range [][3]float64{{1, 0, 0.2}, {-1, 10, 0.2}, {11, 10, 0.2}, {1, 10, 0}, {1, 10, 1}} {
		if _, err := Kupiec(int(bad[0]), int(bad[1]), bad[2]); err == nil {
			t.Errorf("Kupiec%v: no error", bad)
		}
	}
}

// TestKupiecReproducesTheNonRejectionTable checks the 5 %-level
// non-rejection regions of Kupiec's test (miss counts N with LR < 3.841)
// tabulated in Kupiec (1995), "Techniques for verifying the accuracy of
// risk measurement models", J. Derivatives 3(2), and reproduced in
// Jorion, "Value at Risk" (the backtesting chapter): e.g. for p = 0.05 and
// T = 255 days, 6 < N < 21.
func TestKupiecReproducesTheNonRejectionTable(t *testing.T) {
	table := []struct {
		p      float64
		days   int
		lo, hi int // lo < N < hi is not rejected; lo = −1: no lower bound tabulated
	}{
		{0.01, 255, -1, 7}, {0.01, 510, 1, 11}, {0.01, 1000, 4, 17},
		{0.025, 255, 2, 12}, {0.025, 510, 6, 21}, {0.025, 1000, 15, 36},
		{0.05, 255, 6, 21}, {0.05, 510, 16, 36}, {0.05, 1000, 37, 65},
		{0.075, 255, 11, 28}, {0.075, 510, 27, 51}, {0.075, 1000, 59, 92},
		{0.10, 255, 16, 36}, {0.10, 510, 38, 65}, {0.10, 1000, 81, 120},
	}
	for _, r := range table {
		// The table prints "N < 7" for p = 0.01, T = 255, without a lower
		// bound; N = 0 has LR = −510 ln 0.99 = 5.13 > 3.84, so only the
		// upper bound is checked there.
		for x := max(r.lo, 1); x <= r.hi; x++ {
			k, err := Kupiec(x, r.days, r.p)
			if err != nil {
				t.Fatal(err)
			}
			inside := x > r.lo && x < r.hi
			if (k.P > 0.05) != inside {
				t.Errorf("p=%v T=%d N=%d: LR %.4f p-value %.4f, table says rejected=%v", r.p, r.days, x, k.Stat, k.P, !inside)
			}
		}
	}
}

func TestChristoffersenHandCounted(t *testing.T) {
	// 0 0 0 1 1 1 0 0 0 0 1 1: transitions 00 00 01 11 11 10 00 00 00 01 11,
	// counted by hand: n00 = 5, n01 = 2, n10 = 1, n11 = 3. π01 = 2/7,
	// π11 = 3/4, π = 5/11, and
	// LR = −2[6 ln(6/11) + 5 ln(5/11)] + 2[5 ln(5/7) + 2 ln(2/7) + ln(1/4) + 3 ln(3/4)]
	//    = 2.2837478493424204, p = erfc(√(LR/2)) = 0.13073561395322472.
	miss := bits("000111000011")
	if n := Transitions(miss); n != [2][2]int{{5, 2}, {1, 3}} {
		t.Fatalf("Transitions = %v", n)
	}
	c, err := Christoffersen(miss)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "LR", c.Stat, 2.2837478493424204, 1e-12)
	near(t, "p", c.P, 0.13073561395322472, 1e-12)

	// Misses whose next-day rate equals the overall one: π01 = π11 = π = 1/3, LR 0.
	c, _ = Christoffersen(bits("0011000100"))
	near(t, "independent LR", c.Stat, 0, 1e-12)
	// Perfect alternation is maximal dependence (π01 = 1, π11 = 0): LR = −2·9·ln(1/2)·... by hand
	// n01 = 5, n10 = 4, π = 5/9: LR = −2[4 ln(4/9) + 5 ln(5/9)] + 0.
	c, _ = Christoffersen(bits("0101010101"))
	near(t, "alternating LR", c.Stat, -2*(4*math.Log(4.0/9)+5*math.Log(5.0/9)), 1e-12)
	// No misses at all: no evidence either way.
	if c, _ := Christoffersen(bits("00000")); c.Stat != 0 || c.P != 1 {
		t.Errorf("no misses: %+v", c)
	}
	if _, err := Christoffersen(bits("1")); err == nil {
		t.Error("one day: no error")
	}
}

func bits(s string) []bool {
	out := make([]bool, len(s))
	for i := range s {
		out[i] = s[i] == '1'
	}
	return out
}

// dmCase builds model and baseline losses whose differential is d.
func dmCase(d []float64) (model, base []float64) {
	for i, v := range d {
		b := 1 + 0.1*float64(i%3)
		base = append(base, b)
		model = append(model, b+v)
	}
	return model, base
}

func TestDieboldMarianoOneStepByHand(t *testing.T) {
	// d = 0.5 −0.5 1.5 0.5 1 0: mean 0.5, deviations 0 −1 1 0 0.5 −0.5,
	// γ0 = 2.5/6, DM = 0.5/√(γ0/6) = 3/√2.5; HLN with h = 1 multiplies by
	// √(5/6), so DM* = √3 exactly. Two-sided p under t(5):
	// 1 − (2/π)(θ + sinθ(cosθ + (2/3)cos³θ)), θ = atan(√3/√5), = 0.1438108087116038.
	model, base := dmCase([]float64{0.5, -0.5, 1.5, 0.5, 1, 0})
	dm, err := DieboldMariano(model, base, 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "DM*", dm.Stat, math.Sqrt(3), 1e-12)
	near(t, "p", dm.P, 0.1438108087116038, 1e-10)
	// Swapping model and baseline flips the sign: negative means the model is better.
	dm2, _ := DieboldMariano(base, model, 1)
	near(t, "swapped DM*", dm2.Stat, -math.Sqrt(3), 1e-12)
	near(t, "swapped p", dm2.P, dm.P, 1e-15)
}

func TestDieboldMarianoMultiStepByHand(t *testing.T) {
	// h = 3, d = 1 3 2 0 −1 1 2 0 (n = 8): mean 1, deviations 0 2 1 −1 −2 0 1 −1,
	// γ0 = 12/8, γ1 = 2/8, γ2 = −6/8; Bartlett weights 1 − k/3:
	// V̂ = 1.5 + 2(2/3)(0.25) + 2(1/3)(−0.75) = 4/3, DM = 1/√(V̂/8) = √6;
	// HLN: (8 + 1 − 6 + 6/8)/8 = 0.46875, DM* = √(6·0.46875) = √2.8125.
	// p under t(7): 1 − (2/π)(θ + sinθ(c + (2/3)c³ + (8/15)c⁵)), c = cosθ,
	// θ = atan(DM*/√7), = 0.13743405286759014.
	model, base := dmCase([]float64{1, 3, 2, 0, -1, 1, 2, 0})
	dm, err := DieboldMariano(model, base, 3)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "DM*", dm.Stat, math.Sqrt(2.8125), 1e-12)
	near(t, "p", dm.P, 0.13743405286759014, 1e-10)
}

func TestDieboldMarianoUndefined(t *testing.T) {
	same := []float64{1, 2, 3, 4, 5}
	if _, err := DieboldMariano(same, same, 1); !errors.Is(err, ErrDMUndefined) {
		t.Errorf("identical losses: %v, want ErrDMUndefined", err)
	}
	if _, err := DieboldMariano(same, same[:4], 1); err == nil {
		t.Error("mismatched lengths: no error")
	}
	if _, err := DieboldMariano(same, []float64{0, 1, 0, 1, 0}, 3); !errors.Is(err, ErrDMUndefined) {
		t.Errorf("n = 5 at h = 3: %v, want ErrDMUndefined", err)
	}
}
