package evaluate

import (
	"math"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/metrics"
)

// Versus tests one-step forecasts of actual by a model against a baseline's
// (persistence's, in OneStep): DieboldMariano on their daily absolute
// errors at h = 1, with metrics.Tested's verdict. It is nil when the test is
// undefined (too few days, no variance in the error differences, a
// non-finite forecast), and readers then fall back to
// metrics.LevelTolerance.
func Versus(actual, model, baseline []float64) *artifact.Versus {
	if len(model) != len(actual) || len(baseline) != len(actual) {
		return nil
	}
	lm, lb := make([]float64, len(actual)), make([]float64, len(actual))
	for t, a := range actual {
		lm[t], lb[t] = math.Abs(model[t]-a), math.Abs(baseline[t]-a)
	}
	dm, err := DieboldMariano(lm, lb, 1)
	v := metrics.Tested(dm.Stat, dm.P)
	if err != nil || v == metrics.Undefined {
		return nil
	}
	return &artifact.Versus{DM: dm.Stat, P: dm.P, N: len(actual), Verdict: v.String()}
}
