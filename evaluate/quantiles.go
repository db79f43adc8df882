// Package evaluate judges probabilistic forecasts of the next daily close the
// way the forecasting literature does: proper scores (pinball, Winkler),
// interval coverage with its calibration tests (Kupiec, Christoffersen), PIT
// histograms and Diebold–Mariano comparisons, beside walk-forward naive
// baselines (Gaussian persistence, EWMA-t, GARCH(1,1)-t, empirical and
// EWMA-filtered empirical quantiles) scored on the same days.
//
// A forecast of one day is a Quantiles: the Levels-quantiles (τ = 0.025,
// 0.05, 0.10, …, 0.95, 0.975) of the day's close, made at an origin one (or
// h) days before. Baselines produce them as quantiles of the log return
// from the origin's close, turned into closes with Closes; a trained model
// gives its conformal quantiles (Walk.Model); ACI and FACI adapt any
// method's quantiles online from the outcomes before each day (Adapt).
// Lineup and ScoreAgainstBest run issue 15's comparison of all of them.
package evaluate

import (
	"fmt"
	"math"

	"github.com/closecast/closecast"
)

// NumLevels is the number of quantile levels of a forecast.
const NumLevels = closecast.NumDistributionLevels

// Levels are the quantile levels τ of a forecast, ascending: 0.025, then
// 0.05, 0.10, …, 0.95 (Levels[k] = k/20 for k = 1..19), then 0.975 — the
// levels of the forecast distributions the ledger keeps
// (closecast.DistributionLevels), so a live forecast is scored as a
// walk-forward one. The two outer levels make the 95 % central interval
// [q0.025, q0.975] a forecast of its own rather than an extrapolation; the
// mean pinball loss stays over the 19 inner levels (NumPinballLevels), as
// issue 15 defines it.
var Levels = closecast.DistributionLevels

// NumPinballLevels is how many levels MeanPinball averages over: the inner
// 0.05..0.95, Levels[1 : NumLevels-1].
const NumPinballLevels = NumLevels - 2

// medianIndex is the index of the 0.5 level in Levels.
const medianIndex = NumLevels / 2

// Quantiles is one day's quantile forecast: Quantiles[k] is the
// Levels[k]-quantile, ascending in k. Baselines fill it with quantiles of the
// log return from the origin; Closes turns those into quantiles of the
// close, the form every score takes.
type Quantiles [NumLevels]float64

// Median returns the 0.5-quantile, the point forecast of a quantile forecast.
func (q *Quantiles) Median() float64 { return q[medianIndex] }

// Closes returns the quantiles of the target close when q holds the
// quantiles of the log return to it and last is the origin's close:
// last·exp(q[k]).
// exp is increasing, so quantiles map to quantiles.
func (q *Quantiles) Closes(last float64) Quantiles {
	var c Quantiles
	for k, r := range q {
		c[k] = last * math.Exp(r)
	}
	return c
}

// Validate checks that q is finite and ascending (non-crossing quantiles).
func (q *Quantiles) Validate() error {
	for k, v := range q {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("quantile %v is %v", Levels[k], v)
		}
		if k > 0 && v < q[k-1] {
			return fmt.Errorf("quantile %v (%v) is below quantile %v (%v): quantiles cross", Levels[k], v, Levels[k-1], q[k-1])
		}
	}
	return nil
}

// IntervalLevels are the nominal coverages, in percent, of the central
// intervals the scores report.
var IntervalLevels = [...]int{50, 80, 90, 95}

// Interval returns the central interval [lo, hi] of nominal coverage level
// percent, one of IntervalLevels: 50 is [q0.25, q0.75], 80 [q0.10, q0.90],
// 90 [q0.05, q0.95] and 95 [q0.025, q0.975]. It panics on any other level,
// a programming error.
func (q *Quantiles) Interval(level int) (lo, hi float64) {
	switch level {
	case 50:
		return q[5], q[15]
	case 80:
		return q[2], q[18]
	case 90:
		return q[1], q[19]
	case 95:
		return q[0], q[20]
	}
	panic(fmt.Sprintf("evaluate: no central interval at %d %%", level))
}
