package evaluate_test

import (
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

// simplex returns every weight vector of n non-negative multiples of 1/steps summing to 1.
func simplex(n, steps int) [][]float64 {
	if n == 1 {
		return [][]float64{{1}}
	}
	var out [][]float64
	for k := 0; k <= steps; k++ {
		for _, rest := range simplexInts(n-1, steps-k) {
			w := []float64{float64(k) / float64(steps)}
			for _, r := range rest {
				w = append(w, float64(r)/float64(steps))
			}
			out = append(out, w)
		}
	}
	return out
}

func simplexInts(n, total int) [][]int {
	if n == 1 {
		return [][]int{{total}}
	}
	var out [][]int
	for k := 0; k <= total; k++ {
		for _, rest := range simplexInts(n-1, total-k) {
			out = append(out, append([]int{k}, rest...))
		}
	}
	return out
}

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
	head, err := w.QuantileHead("head", folds...)
	if err != nil {
		t.Fatal(err)
	}
	parts := append([]evaluate.Method{head}, base...)
	names := []string{"head"}
	for _, b := range base {
		names = append(names, b.Name)
	}
	methods := slices.Clone(parts)
	grid := simplex(len(parts), 4)
	for _, ws := range grid {
		if slices.Contains(ws, 1) {
			continue
		}
		m, err := evaluate.Combine(fmt.Sprint(ws), parts, ws)
		if err != nil {
			t.Fatal(err)
		}
		methods = append(methods, m)
	}
	rep, err := evaluate.ScoreAgainstBest(w.Days, methods, evaluate.BaselineNames())
	if err != nil {
		t.Fatal(err)
	}
	ms := slices.Clone(rep.Methods)
	slices.SortStableFunc(ms, func(a, b evaluate.MethodScore) int {
		return strings.Compare(fmt.Sprintf("%.9f", a.PinballPct), fmt.Sprintf("%.9f", b.PinballPct))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "order %v\n", names)
	for i, m := range ms {
		if i < 30 || !strings.HasPrefix(m.Method, "[") {
			fmt.Fprintf(&b, "%-40s %.6f %.4f %.1f %.1f/%.1f/%.1f\n", m.Method, m.PinballPct, m.Winkler80Pct, m.Interval(80).Coverage, m.Terciles[0].Coverage, m.Terciles[1].Coverage, m.Terciles[2].Coverage)
		}
	}
	t.Logf("%s..%s %d days, %d weight vectors\n%s", rep.From, rep.To, rep.N, len(grid), b.String())
}
