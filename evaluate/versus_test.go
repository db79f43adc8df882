package evaluate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/metrics"
)

// versusCase builds n days of a random walk, persistence's forecasts (the
// previous close) and a model's forecasts of the form actual + scale·noise.
func versusCase(n int, scale float64, seed uint64) (actual, model, persistence []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	actual, model, persistence = make([]float64, n), make([]float64, n), make([]float64, n)
	prev := 100.0
	for t := range n {
		persistence[t] = prev
		actual[t] = prev + r.NormFloat64()
		model[t] = actual[t] + scale*r.NormFloat64()
		prev = actual[t]
	}
	return actual, model, persistence
}

// Known answers: a model whose errors are a quarter of persistence's is
// better, one with four times its errors is worse, and persistence plus a
// jitter a hundredth of the daily move is level: the data cannot tell it
// from persistence.
func TestVersusPersistenceVerdicts(t *testing.T) {
	const n = 200
	actual, good, persistence := versusCase(n, 0.25, 1)
	_, bad, _ := versusCase(n, 4, 1)
	r := rand.New(rand.NewPCG(2, 2))
	tied := make([]float64, n)
	for i, p := range persistence {
		tied[i] = p + 0.01*r.NormFloat64() // persistence, jittered: level
	}
	for _, c := range []struct {
		name  string
		model []float64
		want  metrics.Verdict
	}{
		{"good", good, metrics.Better},
		{"bad", bad, metrics.Worse},
		{"tied", tied, metrics.Level},
	} {
		v := Versus(actual, c.model, persistence)
		if v == nil {
			t.Fatalf("%s: Versus = nil", c.name)
		}
		if v.Verdict != c.want.String() || v.N != n {
			t.Errorf("%s: verdict %q over %d days (DM %.3f, p %.3g), want %q over %d", c.name, v.Verdict, v.N, v.DM, v.P, c.want, n)
		}
		// The statistic is DieboldMariano's on the absolute errors, h = 1.
		lm, lb := make([]float64, n), make([]float64, n)
		for i := range actual {
			lm[i], lb[i] = math.Abs(c.model[i]-actual[i]), math.Abs(persistence[i]-actual[i])
		}
		want, err := DieboldMariano(lm, lb, 1)
		if err != nil || v.DM != want.Stat || v.P != want.P {
			t.Errorf("%s: DM %v p %v, DieboldMariano gives %+v, %v", c.name, v.DM, v.P, want, err)
		}
		t.Logf("%s: DM %.3f, p %.3g", c.name, v.DM, v.P)
		if (c.want == metrics.Level) != (v.P >= metrics.Significance) {
			t.Errorf("%s: p = %v with verdict %q", c.name, v.P, v.Verdict)
		}
	}
}

// An undefined test is nil, so readers fall back to the threshold: too few
// days, identical forecasts (no variance) or a NaN forecast.
func TestVersusPersistenceUndefined(t *testing.T) {
	actual, model, persistence := versusCase(50, 1, 3)
	nanModel := append([]float64(nil), model...)
	nanModel[7] = math.NaN()
	for name, v := range map[string]*artifact.Versus{
		"two days":  Versus(actual[:2], model[:2], persistence[:2]),
		"identical": Versus(actual, persistence, persistence),
		"NaN":       Versus(actual, nanModel, persistence),
		"lengths":   Versus(actual, model[:10], persistence),
	} {
		if v != nil {
			t.Errorf("%s: Versus = %+v, want nil", name, *v)
		}
	}
}
