package evaluate

import (
	"fmt"
	"math"
	"slices"
)

// Adaptive conformal inference on top of any method's quantiles.
//
// Design. A method's quantile set holds ten central intervals, one per
// pair of levels (τ, 1−τ) for τ = 0.025, 0.05, 0.10, …, 0.45, of nominal
// miscoverage α = 2τ (0.05 for the 95 % interval, 0.20 for the 80 %, …).
// Each is adapted on its own, as Gibbs & Candès (2021) adapt one interval:
//
//   - The conformity score of day t for a pair is how far the outcome y lay
//     from the base median m in units of the base interval's half on that
//     side: s = (y − m)/(hi − m) above the median, (m − y)/(m − lo) below.
//     The base interval covers y exactly when s ≤ 1.
//   - The adapted interval at level α_t is m − Q·(m − lo) .. m + Q·(hi − m),
//     Q the conformal quantile of the scores of the days whose outcomes are
//     known (the ⌈(n+1)(1−α_t)⌉-th smallest of n, as pipeline.Calibration).
//     So the base method supplies the shape and the local scale of each
//     day's interval, and the past outcomes its calibration: on a
//     calibrated base, Q stays near 1.
//   - α_t moves online: ACI (α_{t+1} = α_t + γ(α − err_t)) or FACI (a
//     weighted mix of ACI experts with different γ), from the outcomes
//     before day t alone.
//
// The ten adapted intervals need not nest (each has its own α_t), so the
// adapted quantiles are sorted, the monotone rearrangement of Chernozhukov,
// Fernández-Val & Galichon (2010), which never increases the pinball loss
// of a quantile set. The median is the base's.
//
// Edge cases of the quantile: with no past score the interval is the
// base's (Q = 1); ⌈(n+1)(1−α_t)⌉ > n (α_t ≤ 1/(n+1), where ACI's ideal
// interval is the whole line) uses the largest past score; ⌈(n+1)(1−α_t)⌉
// < 1 (α_t near 1) collapses the interval onto the median. err_t and β_t
// (below) are those of ACI's ideal sets, so ACI's long-run coverage
// guarantee holds except on the days the outcome lies beyond every past
// score, which a finite interval cannot help.

// Adaptive settings, fixed from the literature before any evaluation.
const (
	// ACIGamma is ACI's step size γ, the value Gibbs & Candès (2021) use
	// in their experiments.
	ACIGamma = 0.005
	// FACIInterval is the interval length I of FACI's regret bound (Gibbs
	// & Candès 2022), which sets its learning rate η and its weight
	// mixing σ = 1/(2I): about a year of daily data, as the empirical
	// baselines' window.
	FACIInterval = 250
)

// FACIGammas are FACI's candidate step sizes, the grid of Gibbs & Candès
// (2022): 0.001·2^j, j = 0..7.
var FACIGammas = []float64{0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128}

// An Adaptation makes the online trackers of the miscoverage level of one
// central interval: ACI or FACI.
type Adaptation interface {
	// Name is the suffix of an adapted method's name: "aci", "faci".
	Name() string
	// Tracker returns a fresh tracker of an interval of nominal
	// miscoverage alpha.
	Tracker(alpha float64) Tracker
}

// A Tracker follows α_t, the miscoverage level to ask of the next
// interval, from the outcomes so far.
type Tracker interface {
	// Alpha returns α_t.
	Alpha() float64
	// Update takes the outcome of the day Alpha was read for, as β_t: the
	// largest level α whose interval still held the outcome (the day
	// missed at α_t exactly when α_t > β_t).
	Update(beta float64)
}

// ACI is adaptive conformal inference (Gibbs & Candès 2021) with step
// size Gamma: α_{t+1} = α_t + γ(α − err_t), err_t = 1 when day t's
// interval missed. Over T days its miss rate is within
// (max(α_1, 1−α_1) + γ)/(γT) of α whatever the data.
type ACI struct{ Gamma float64 }

// Name implements Adaptation.
func (ACI) Name() string { return "aci" }

// Tracker implements Adaptation.
func (a ACI) Tracker(alpha float64) Tracker {
	return &aciTracker{target: alpha, gamma: a.Gamma, alpha: alpha}
}

type aciTracker struct{ target, gamma, alpha float64 }

func (t *aciTracker) Alpha() float64 { return t.alpha }

func (t *aciTracker) Update(beta float64) { t.alpha = aciStep(t.alpha, t.target, t.gamma, beta) }

// aciStep returns α + γ(target − err), err = [α > β].
func aciStep(alpha, target, gamma, beta float64) float64 {
	err := 0.0
	if alpha > beta {
		err = 1
	}
	return alpha + gamma*(target-err)
}

// FACI is fully adaptive conformal inference (Gibbs & Candès 2022): one
// ACI expert per step size in Gammas, all updated every day, and α_t their
// average weighted by exponential reweighting of each expert's pinball
// loss ℓ(β_t, α^i_t) = α(β_t − α^i_t) − min(0, β_t − α^i_t), with the
// paper's learning rate η = √(3/I)·√((ln(kI) + 2)/((1−α)²α³ + α²(1−α)³))
// and mixing σ = 1/(2I) for k experts and interval length I. The
// weighted average (rather than a randomly drawn expert) keeps the
// forecasts deterministic.
type FACI struct {
	Gammas   []float64
	Interval int // I
}

// Name implements Adaptation.
func (FACI) Name() string { return "faci" }

// Tracker implements Adaptation.
func (f FACI) Tracker(alpha float64) Tracker {
	k, in := float64(len(f.Gammas)), float64(f.Interval)
	t := &faciTracker{
		target: alpha, gammas: f.Gammas,
		eta:    math.Sqrt(3/in) * math.Sqrt((math.Log(k*in)+2)/((1-alpha)*(1-alpha)*alpha*alpha*alpha+alpha*alpha*(1-alpha)*(1-alpha)*(1-alpha))),
		sigma:  1 / (2 * in),
		alphas: make([]float64, len(f.Gammas)), w: make([]float64, len(f.Gammas)),
	}
	for i := range t.alphas {
		t.alphas[i], t.w[i] = alpha, 1/k
	}
	return t
}

type faciTracker struct {
	target, eta, sigma float64
	gammas, alphas, w  []float64 // w sums to 1
}

func (t *faciTracker) Alpha() float64 {
	a := 0.0
	for i, w := range t.w {
		a += w * t.alphas[i]
	}
	return a
}

func (t *faciTracker) Update(beta float64) {
	sum := 0.0
	for i, a := range t.alphas {
		d := beta - a
		loss := t.target*d - min(0, d)
		t.w[i] *= math.Exp(-t.eta * loss)
		sum += t.w[i]
		t.alphas[i] = aciStep(a, t.target, t.gammas[i], beta)
	}
	k := float64(len(t.w))
	for i := range t.w {
		t.w[i] = (1-t.sigma)*t.w[i]/sum + t.sigma/k
	}
}

// conformity returns the score of outcome y for the central interval
// [lo, hi] around the median m: y's distance from m in units of the
// interval's half on y's side.
func conformity(lo, m, hi, y float64) (float64, error) {
	if y >= m {
		if !(hi > m) {
			return 0, fmt.Errorf("the base interval [%v, %v] has no width above its median", lo, hi)
		}
		return (y - m) / (hi - m), nil
	}
	if !(m > lo) {
		return 0, fmt.Errorf("the base interval [%v, %v] has no width below its median", lo, hi)
	}
	return (m - y) / (m - lo), nil
}

// conformalFactor returns Q of the design above: the ⌈(n+1)(1−α)⌉-th
// smallest of the n ascending scores, 1 without scores, the largest score
// above n and 0 below 1. The tolerance keeps (n+1)(1−α) from rounding up
// past an integer it equals.
func conformalFactor(sorted []float64, alpha float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 1
	}
	k := int(math.Ceil(float64(n+1)*(1-alpha) - 1e-9))
	switch {
	case k > n:
		return sorted[n-1]
	case k < 1:
		return 0
	}
	return sorted[k-1]
}

// coveredAbove returns β, the largest miscoverage level whose conformal
// interval holds score s given the n ascending past scores: the interval
// at α holds s iff s ≤ the ⌈(n+1)(1−α)⌉-th smallest (the line itself
// beyond n), which is iff α < 1 − r/(n+1) with r the number of past
// scores below s.
func coveredAbove(sorted []float64, s float64) float64 {
	r, _ := slices.BinarySearch(sorted, s) // scores < s
	return 1 - float64(r)/float64(len(sorted)+1)
}

// numPairs is the number of central intervals in a Quantiles: pairs
// (Levels[i], Levels[NumLevels−1−i]), i < numPairs.
const numPairs = NumLevels / 2

// Adapt returns base's forecasts of days adapted online by a (see the
// design above), named base.Name+"+"+a.Name(). The forecast of day k uses
// the outcomes of days 0..k−h alone (h = days.Horizon): days must be
// consecutive bars, as a Walk's, so that day k−h's close is the close at
// day k's origin. For h > 1, day j's β is read against the scores known
// when its outcome arrives rather than when it was forecast (h−1 days
// more), a small departure from ACI's one-step bookkeeping. The points
// stay the base's.
func Adapt(days Days, base Method, a Adaptation) (Method, error) {
	n, h := days.Len(), days.Horizon
	if len(base.Forecasts) != n {
		return Method{}, fmt.Errorf("method %s has %d forecasts for %d days", base.Name, len(base.Forecasts), n)
	}
	if h < 1 {
		return Method{}, fmt.Errorf("days: horizon %d, want ≥ 1", h)
	}
	out := Method{Name: base.Name + "+" + a.Name(), Forecasts: make([]Quantiles, n), Points: base.Points}
	o := NewOnline(a)
	for k := range n {
		if j := k - h; j >= 0 {
			if err := o.Observe(&base.Forecasts[j], days.Actual[j]); err != nil {
				return Method{}, fmt.Errorf("%s, %s: %w", base.Name, days.Dates[j], err)
			}
		}
		out.Forecasts[k] = o.Apply(&base.Forecasts[k])
	}
	return out, nil
}
