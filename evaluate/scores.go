package evaluate

import (
	"cmp"
	"slices"
)

// Pinball returns the pinball (quantile) loss of the τ-quantile forecast q
// for the outcome y: max(τ(y − q), (τ − 1)(y − q)).
func Pinball(tau, q, y float64) float64 {
	if d := y - q; d >= 0 {
		return tau * d
	} else {
		return (tau - 1) * d
	}
}

// MeanPinball returns the pinball loss of q for y averaged over the
// NumPinballLevels levels 0.05, 0.10, …, 0.95 (not the outer 0.025 and
// 0.975, so the figure stays the one issue 15 defines), in the unit of y.
// Averaged over a fine grid of levels it approximates CRPS/2.
func MeanPinball(q *Quantiles, y float64) float64 {
	s := 0.0
	for k := 1; k <= NumPinballLevels; k++ {
		s += Pinball(Levels[k], q[k], y)
	}
	return s / NumPinballLevels
}

// Winkler returns the Winkler (interval) score of the central interval
// [lo, hi] of nominal coverage 1 − alpha for the outcome y: its width plus
// 2/alpha times the distance by which y falls outside it. Lower is better;
// it rewards narrow intervals and penalises misses in proportion to their
// size.
func Winkler(lo, hi, alpha, y float64) float64 {
	s := hi - lo
	if y < lo {
		s += 2 / alpha * (lo - y)
	} else if y > hi {
		s += 2 / alpha * (y - hi)
	}
	return s
}

// Covered reports whether y lies in the closed interval [lo, hi].
func Covered(lo, hi, y float64) bool { return lo <= y && y <= hi }

// PITBins is the number of bins of a PIT histogram.
const PITBins = 10

// PITBin returns the bin, 0..PITBins−1, of the probability integral transform
// F(y) of the outcome y under the quantile forecast q, found from the rank of
// y among the quantiles at 0.05, 0.10, …, 0.95 (no interpolation of the
// quantile function): with r the number of those ≤ y (0..19), F(y) lies in
// [0.05r, 0.05(r+1)), and since every bin of width 0.1 is exactly two such
// intervals, the bin is min(⌊r/2⌋, 9) whatever the forecast distribution
// between its quantiles (the outer 0.025 and 0.975 split bins 0 and 9 and
// so never change the bin). For a calibrated forecast each bin holds 10 %
// of the days.
func PITBin(q *Quantiles, y float64) int {
	r := 0
	for k := 1; k <= NumPinballLevels; k++ {
		if q[k] <= y {
			r++
		}
	}
	return min(r/2, PITBins-1)
}

// Terciles splits days into three equal-size groups by vol (one value per
// day; the caller's per-day volatility, e.g. the 30-day realised volatility
// at the origin): out[k] is 0 for the calmest third, 1 for the middle and 2
// for the most volatile. Ranks break ties by day order, so the split is
// deterministic; the group of rank r (0-based, of n) is ⌊3r/n⌋. out must
// have len(vol) elements.
func Terciles(vol []float64, out []int) {
	n := len(vol)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(vol[a], vol[b]) })
	for r, i := range order {
		out[i] = 3 * r / n
	}
}
