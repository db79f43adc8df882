package evaluate

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Test is the outcome of a likelihood-ratio or Diebold–Mariano test: its
// statistic and p-value.
type Test struct {
	Stat float64 `json:"stat"` // LR ~ χ²(1) for Kupiec and Christoffersen; the HLN-corrected DM statistic for Diebold–Mariano
	P    float64 `json:"p"`    // p-value; small rejects the null hypothesis
}

// xlogy returns x·ln(y) with 0·ln(0) = 0, the convention of the binomial
// likelihoods below.
func xlogy(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(y)
}

// chi2p returns the p-value of a χ²(1) statistic.
func chi2p(lr float64) float64 { return distuv.ChiSquared{K: 1}.Survival(lr) }

// Kupiec is Kupiec's (1995) proportion-of-failures test that misses out of n
// days match the nominal miss rate p (0 < p < 1; 0.2 for an 80 % interval):
//
//	LR = −2 ln[(1−p)^(n−x) p^x] + 2 ln[(1−x/n)^(n−x) (x/n)^x] ~ χ²(1),
//
// x = misses. It fails for n < 1, misses outside 0..n or p outside (0, 1).
func Kupiec(misses, n int, p float64) (Test, error) {
	if n < 1 || misses < 0 || misses > n || !(p > 0 && p < 1) {
		return Test{}, fmt.Errorf("kupiec: %d misses in %d days at miss rate %v", misses, n, p)
	}
	x, m := float64(misses), float64(n-misses)
	ph := x / float64(n)
	lr := -2*(xlogy(m, 1-p)+xlogy(x, p)) + 2*(xlogy(m, 1-ph)+xlogy(x, ph))
	lr = max(lr, 0) // rounding can leave −1e-13 where LR is 0
	return Test{Stat: lr, P: chi2p(lr)}, nil
}

// Transitions counts the transitions of a miss sequence: n[i][j] is the
// number of days t ≥ 1 with miss[t−1] = i and miss[t] = j (1 = miss).
func Transitions(miss []bool) (n [2][2]int) {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	for t := 1; t < len(miss); t++ {
		n[b(miss[t-1])][b(miss[t])]++
	}
	return n
}

// Christoffersen is Christoffersen's (1998) independence test of a miss
// sequence (miss[t] true when day t's outcome fell outside the interval):
// a first-order Markov chain against independence, on the transition
// counts n of Transitions,
//
//	LR = −2 ln[(1−π)^(n00+n10) π^(n01+n11)]
//	     + 2 ln[(1−π01)^n00 π01^n01 (1−π11)^n10 π11^n11] ~ χ²(1),
//
// π01 = n01/(n00+n01), π11 = n11/(n10+n11), π = (n01+n11)/(n00+n01+n10+n11),
// with 0·ln 0 = 0. A sequence without a miss, or with misses only, has LR 0
// (p = 1): it holds no evidence of clustering. It fails for fewer than two days.
func Christoffersen(miss []bool) (Test, error) {
	if len(miss) < 2 {
		return Test{}, fmt.Errorf("christoffersen: %d days, need at least 2", len(miss))
	}
	n := Transitions(miss)
	n00, n01, n10, n11 := float64(n[0][0]), float64(n[0][1]), float64(n[1][0]), float64(n[1][1])
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	pi01, pi11 := ratio(n01, n00+n01), ratio(n11, n10+n11)
	pi := (n01 + n11) / (n00 + n01 + n10 + n11)
	lr := -2*(xlogy(n00+n10, 1-pi)+xlogy(n01+n11, pi)) +
		2*(xlogy(n00, 1-pi01)+xlogy(n01, pi01)+xlogy(n10, 1-pi11)+xlogy(n11, pi11))
	lr = max(lr, 0)
	return Test{Stat: lr, P: chi2p(lr)}, nil
}

// ErrDMUndefined is wrapped when a Diebold–Mariano test has no statistic:
// too few days for the horizon, or a loss differential without variance
// (e.g. two identical forecasts).
var ErrDMUndefined = errors.New("diebold-mariano test undefined")

// DieboldMariano tests equal predictive accuracy of a model and a baseline
// from their per-day losses (same days, same order; absolute error for point
// forecasts, mean pinball loss for quantile forecasts) of h-step-ahead
// forecasts, h ≥ 1. With d_t = lossModel[t] − lossBaseline[t],
//
//	V̂  = γ̂0 + 2 Σ_{k=1}^{h−1} (1 − k/h) γ̂k     (Newey–West, Bartlett weights, h−1 lags;
//	                                             γ̂k = (1/n) Σ_{t>k} (d_t − d̄)(d_{t−k} − d̄))
//	DM = d̄ / sqrt(V̂/n)
//	DM* = DM · sqrt((n + 1 − 2h + h(h−1)/n) / n)   (Harvey, Leybourne & Newbold 1997)
//
// and the two-sided p-value of DM* under Student-t with n−1 degrees of
// freedom. Stat is DM*: negative means the model's losses are lower (the
// model is better), positive that the baseline's are.
func DieboldMariano(lossModel, lossBaseline []float64, h int) (Test, error) {
	n := len(lossModel)
	if n != len(lossBaseline) {
		return Test{}, fmt.Errorf("diebold-mariano: %d model losses against %d baseline losses", n, len(lossBaseline))
	}
	if h < 1 || n < 2 || n <= 2*h {
		return Test{}, fmt.Errorf("%w: %d days at horizon %d", ErrDMUndefined, n, h)
	}
	fn := float64(n)
	mean := 0.0
	for t := range n {
		mean += lossModel[t] - lossBaseline[t]
	}
	mean /= fn
	gamma := func(k int) float64 {
		s := 0.0
		for t := k; t < n; t++ {
			s += (lossModel[t] - lossBaseline[t] - mean) * (lossModel[t-k] - lossBaseline[t-k] - mean)
		}
		return s / fn
	}
	v := gamma(0)
	for k := 1; k < h; k++ {
		v += 2 * (1 - float64(k)/float64(h)) * gamma(k)
	}
	if !(v > 0) {
		return Test{}, fmt.Errorf("%w: the loss differential has no variance", ErrDMUndefined)
	}
	fh := float64(h)
	dm := mean / math.Sqrt(v/fn) * math.Sqrt((fn+1-2*fh+fh*(fh-1)/fn)/fn)
	p := 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: fn - 1}.Survival(math.Abs(dm))
	return Test{Stat: dm, P: p}, nil
}
