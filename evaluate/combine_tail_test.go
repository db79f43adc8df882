package evaluate_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/train"
)

// simplex returns every weight vector of n non-negative multiples of
// 1/steps that sum to 1.
func simplex(n, steps int) [][]float64 {
	var out [][]float64
	for _, ks := range compositions(n, steps) {
		w := make([]float64, n)
		for i, k := range ks {
			w[i] = float64(k) / float64(steps)
		}
		out = append(out, w)
	}
	return out
}

// compositions returns every n-tuple of non-negative integers summing to
// total, in lexicographic order.
func compositions(n, total int) [][]int {
	if n == 1 {
		return [][]int{{total}}
	}
	var out [][]int
	for k := 0; k <= total; k++ {
		for _, rest := range compositions(n-1, total-k) {
			out = append(out, append([]int{k}, rest...))
		}
	}
	return out
}

// TestEnsembleTail reproduces the choice of the ensemble (evaluate's
// combine.go says why and with what figures) on the training part alone:
// quantile heads (config/shipped/quantile.yaml) retrained every 30 days
// on the bars before each fold and the five walk-forward baselines
// forecast every day of 2020-11-24..2023-11-23 one step ahead (the
// training tail, 2023-04-28..2023-11-23, is its last 210 days; the
// hold-out starts the day after), every quantile average of those six
// with weights in multiples of 1/4 is scored by mean pinball loss, and the
// best must be the equal-weight average of EnsembleParts. It logs the
// grid's best 30 vectors, the single methods, and the training tail's
// scores (go test ./evaluate/ -run EnsembleTail -v). Everything here is
// deterministic (seeded training on the config's threads), so the result
// does not change from run to run.
func TestEnsembleTail(t *testing.T) {
	cfg, err := shipped.Load("quantile")
	if err != nil {
		t.Fatal(err)
	}
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	from, to := closecast.MustParseDate("2020-11-24"), closecast.MustParseDate("2023-11-23")
	folds, err := train.QuantileHeadBacktest(context.Background(), cfg, s, from, to, 30)
	if err != nil {
		t.Fatal(err)
	}
	w, err := evaluate.NewWalk(s, from, to, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	base, err := w.Run(evaluate.NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	head, err := w.QuantileHead(evaluate.NameQuantileHead, folds...)
	if err != nil {
		t.Fatal(err)
	}
	parts := append([]evaluate.Method{head}, base...)
	var names []string
	for _, m := range parts {
		names = append(names, m.Name)
	}
	// The chosen weights, in the order of parts.
	chosen := make([]float64, len(parts))
	for i, n := range names {
		if slices.Contains(evaluate.EnsembleParts, n) {
			chosen[i] = 1 / float64(len(evaluate.EnsembleParts))
		}
	}
	methods := slices.Clone(parts)
	grid := simplex(len(parts), 4)
	for _, ws := range grid {
		if slices.Contains(ws, 1) { // a single method, already in parts
			continue
		}
		m, err := evaluate.Combine(fmt.Sprint(ws), parts, ws)
		if err != nil {
			t.Fatal(err)
		}
		methods = append(methods, m)
	}
	rep, err := evaluate.Score(w.Days, methods, "")
	if err != nil {
		t.Fatal(err)
	}
	ms := slices.Clone(rep.Methods)
	slices.SortStableFunc(ms, func(a, b evaluate.MethodScore) int { return cmp.Compare(a.PinballPct, b.PinballPct) })
	var b strings.Builder
	fmt.Fprintf(&b, "weights in the order %v\n%-32s %9s %11s %6s %s\n", names, "weights", "pinball%", "winkler80%", "cov80", "calm/mid/wild")
	for i, m := range ms {
		if i < 30 || !strings.HasPrefix(m.Method, "[") {
			fmt.Fprintf(&b, "%-32s %9.5f %11.3f %6.1f %.1f/%.1f/%.1f\n", m.Method, m.PinballPct, m.Winkler80Pct, m.Interval(80).Coverage, m.Terciles[0].Coverage, m.Terciles[1].Coverage, m.Terciles[2].Coverage)
		}
	}
	t.Logf("rolling-origin folds inside the training part, %s..%s, %d days, %d weight vectors, by mean pinball:\n%s", rep.From, rep.To, rep.N, len(grid), b.String())
	if rep.N != 1095 || len(grid) != 126 {
		t.Errorf("%d days, %d weight vectors; want 1095 and 126", rep.N, len(grid))
	}
	if best := ms[0].Method; best != fmt.Sprint(chosen) {
		t.Errorf("the best weights on the training part are %s (%.5f %%), not the ensemble's %v", best, ms[0].PinballPct, chosen)
	}

	// The training tail alone, with the ensemble and its ACI row as the
	// commands show them.
	withE, err := evaluate.WithEnsemble(w.Days, parts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ name, from, to string }{{"rolling-origin folds", "2020-11-24", "2023-11-23"}, {"training tail", "2023-04-28", "2023-11-23"}} {
		days, ms, err := evaluate.Between(w.Days, withE, closecast.MustParseDate(r.from), closecast.MustParseDate(r.to))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := evaluate.ScoreAgainstBest(days, ms, evaluate.BaselineNames())
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := rep.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s..%s, %d days; best baseline by pinball: %s\n%s", r.name, rep.From, rep.To, rep.N, rep.Reference, b.String())
	}
}
