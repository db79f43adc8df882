package evaluate

import (
	"slices"
	"strings"
	"testing"
)

// line returns the quantile set a + b·k, k = 0..NumLevels−1.
func line(a, b float64) Quantiles {
	var q Quantiles
	for k := range q {
		q[k] = a + b*float64(k)
	}
	return q
}

// TestCombineKnownAnswer averages two hand-made quantile sets level by
// level: 100 + k and 110 + 3k with weights 0.25 and 0.75 give
// 107.5 + 2.5k on day 0; day 1 swaps the sets' roles.
func TestCombineKnownAnswer(t *testing.T) {
	a := Method{Name: "a", Forecasts: []Quantiles{line(100, 1), line(110, 3)}}
	b := Method{Name: "b", Forecasts: []Quantiles{line(110, 3), line(100, 1)}}
	c, err := Combine("c", []Method{a, b}, []float64{0.25, 0.75})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "c" || len(c.Forecasts) != 2 || c.Points != nil {
		t.Fatalf("combination %+v", c)
	}
	for k := range NumLevels {
		near(t, "day 0", c.Forecasts[0][k], 107.5+2.5*float64(k), 1e-12)
		near(t, "day 1", c.Forecasts[1][k], 102.5+1.5*float64(k), 1e-12)
	}
	// The pinball loss is convex in the quantile: the average's loss is at
	// most the weighted mean of the parts' (here strictly less, as the
	// outcome 112 lies between the parts' medians 110 and 140 at some
	// levels and not at others).
	y := 112.0
	pc, pa, pb := MeanPinball(&c.Forecasts[0], y), MeanPinball(&a.Forecasts[0], y), MeanPinball(&b.Forecasts[0], y)
	if !(pc < 0.25*pa+0.75*pb) {
		t.Errorf("pinball of the average %v, of the parts %v and %v", pc, pa, pb)
	}
	// Weight 1 on one method is that method.
	one, err := Combine("one", []Method{a, b}, []float64{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.Forecasts, b.Forecasts) {
		t.Errorf("weights 0, 1: %v, want b's %v", one.Forecasts, b.Forecasts)
	}
}

// TestCombinePoints: a part with its own point forecasts makes the
// combination's points the weighted mean of each part's (its Points, the
// other's median).
func TestCombinePoints(t *testing.T) {
	a := Method{Name: "a", Forecasts: []Quantiles{line(100, 1)}, Points: []float64{200}}
	b := Method{Name: "b", Forecasts: []Quantiles{line(100, 2)}} // median 120
	c, err := Combine("c", []Method{a, b}, []float64{0.5, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Points) != 1 {
		t.Fatalf("points %v", c.Points)
	}
	near(t, "point", c.Points[0], 160, 1e-12)
}

func TestCombineRefuses(t *testing.T) {
	a := Method{Name: "a", Forecasts: []Quantiles{line(100, 1)}}
	short := Method{Name: "short"}
	for _, c := range []struct {
		methods []Method
		weights []float64
		want    string
	}{
		{nil, nil, "no methods"},
		{[]Method{a, a}, []float64{1}, "1 weights for 2 methods"},
		{[]Method{a, a}, []float64{0.6, 0.6}, "sum to"},
		{[]Method{a, a}, []float64{1.5, -0.5}, "want ≥ 0"},
		{[]Method{a, short}, []float64{0.5, 0.5}, "0 forecasts"},
	} {
		if _, err := Combine("c", c.methods, c.weights); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v with %v: error %v, want %q", c.methods, c.weights, err, c.want)
		}
	}
}

// TestWithEnsemble: on a walk over simulated GARCH-t returns, the
// ensemble is the level-by-level mean of the four EnsembleParts' forecasts
// computed here by hand, and its ACI row is Adapt of it; a lineup without
// one of the parts is an error that names it.
func TestWithEnsemble(t *testing.T) {
	s := garchSeries(400, 7)
	w, err := NewWalk(s, s.Bars[320].Date, s.Bars[399].Date, 1, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	base, err := w.Run(NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	got, err := WithEnsemble(w.Days, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(base)+2 || got[len(base)].Name != NameEnsemble || got[len(base)+1].Name != NameEnsembleACI {
		t.Fatalf("methods %d, last %s %s", len(got), got[len(got)-2].Name, got[len(got)-1].Name)
	}
	byName := map[string]Method{}
	for _, m := range base {
		byName[m.Name] = m
	}
	e := got[len(base)]
	for k := range w.Targets {
		for j := range NumLevels {
			want := (byName[NameEWMAT].Forecasts[k][j] + byName[NameGARCHT].Forecasts[k][j] +
				byName[NameEmpirical].Forecasts[k][j] + byName[NameFiltered].Forecasts[k][j]) / 4
			near(t, "ensemble", e.Forecasts[k][j], want, 1e-9*want)
		}
	}
	aci, err := Adapt(w.Days, e, ACI{Gamma: ACIGamma})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[len(base)+1].Forecasts, aci.Forecasts) {
		t.Error("the ensemble's ACI row is not Adapt of the ensemble")
	}
	if _, err := WithEnsemble(w.Days, base[:2]); err == nil || !strings.Contains(err.Error(), NameGARCHT) {
		t.Errorf("without GARCH-t: error %v", err)
	}
}
