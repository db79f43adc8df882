package metrics

import (
	"math"
	"testing"
)

func TestVersus(t *testing.T) {
	for _, c := range []struct {
		model, baseline float64
		want            Verdict
	}{
		{1381.59, 1382.93, Level}, // the shipped model's hold-out: 0.1 % apart
		{1327.27, 1313.91, Level}, // its validation: 1.0 % apart
		{100 * (1 - LevelTolerance), 100, Better},
		{100 * (1 - LevelTolerance/2), 100, Level},
		{100 * (1 + LevelTolerance), 100, Worse},
		{100 * (1 + LevelTolerance/2), 100, Level},
		{50, 100, Better},
		{150, 100, Worse},
		{100, 100, Level},
		{math.NaN(), 100, Undefined},
		{100, math.NaN(), Undefined},
		{100, 0, Undefined},
	} {
		got, rel := Versus(c.model, c.baseline)
		if got != c.want {
			t.Errorf("Versus(%v, %v) = %v (rel %v), want %v", c.model, c.baseline, got, rel, c.want)
		}
		if got != Undefined && math.Abs(rel-(c.model/c.baseline-1)) > 1e-15 {
			t.Errorf("Versus(%v, %v) rel = %v, want %v", c.model, c.baseline, rel, c.model/c.baseline-1)
		}
	}
	for v, w := range map[Verdict]string{Level: "level", Better: "better", Worse: "worse", Undefined: "undefined"} {
		if v.String() != w {
			t.Errorf("%d.String() = %q, want %q", v, v.String(), w)
		}
	}
}

func TestSame(t *testing.T) {
	a := Metrics{MAE: 1, RMSE: 2, MAPE: 3, SMAPE: 4, MASE: 1, Direction: math.NaN()}
	if b := a; !a.Same(b) || a == b {
		t.Errorf("Same(%+v, itself) = %v (== says %v): an undefined figure must match an undefined one", a, a.Same(b), a == b)
	}
	b := a
	b.Direction = 0
	if a.Same(b) || b.Same(a) {
		t.Error("undefined direction reported the same as 0")
	}
	b = a
	b.MAE = 1.5
	if a.Same(b) {
		t.Error("different MAE reported the same")
	}
}

func TestTested(t *testing.T) {
	for _, c := range []struct {
		stat, p float64
		want    Verdict
	}{
		{-0.48, 0.63, Level}, // the shipped BTC-USD model's hold-out
		{-3, 0.003, Better},
		{3, 0.003, Worse},
		{-2, Significance, Level}, // p = 0.05 is level, not better
		{2, Significance - 1e-9, Worse},
		{0, 1, Level},
		{math.NaN(), 0.5, Undefined},
		{-3, math.NaN(), Undefined},
		{math.Inf(-1), 0, Undefined},
	} {
		if got := Tested(c.stat, c.p); got != c.want {
			t.Errorf("Tested(%v, %v) = %v, want %v", c.stat, c.p, got, c.want)
		}
	}
}
