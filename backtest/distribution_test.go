package backtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/evaluate"
)

// TestScoreDistributionUsesEachFoldsModel backtests a small config with a
// training tail long enough for every conformal level and checks the
// distribution scores: each fold's days are forecast by that fold's own
// model (handed back in Fold.Pipeline, calibrated before the fold), the
// scores of each fold and of all days are those of the fold models'
// conformal quantiles, and every model is compared with every baseline.
func TestScoreDistributionUsesEachFoldsModel(t *testing.T) {
	s := btc(t)
	cfg := small()
	cfg.Data.From = closecast.MustParseDate("2023-01-01")
	r, err := Run(t.Context(), cfg, s, Options{From: btFrom, To: btTo, RetrainEvery: 10, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ScoreDistribution(s); err != nil {
		t.Fatal(err)
	}
	d := r.Distribution
	if d.Overall.N != 20 || len(d.Folds) != 2 || d.FoldErrors != nil {
		t.Fatalf("overall %d days, %d fold reports, errors %v", d.Overall.N, len(d.Folds), d.FoldErrors)
	}
	wantMethods := append([]string{evaluate.NameModel, evaluate.NameModelACI, evaluate.NameModelFACI}, append(evaluate.BaselineNames(), evaluate.NameGARCHACI, evaluate.NameEnsemble, evaluate.NameEnsembleACI)...)
	for k, f := range r.Folds {
		if f.Pipeline == nil || f.Pipeline.Calibration == nil || f.Pipeline.Calibration.To >= f.From {
			t.Fatalf("fold %d: model %+v not handed back, or calibrated into its days", k, f.Pipeline)
		}
		// The fold's model alone, on the fold's days.
		w, err := evaluate.NewWalk(s, f.From, f.To, 1, evaluate.MinReturns(evaluate.NewBaselines()))
		if err != nil {
			t.Fatal(err)
		}
		own, err := w.Model(evaluate.NameModel, evaluate.ModelFold{Pipeline: f.Pipeline})
		if err != nil {
			t.Fatal(err)
		}
		alone, err := evaluate.Score(w.Days, []evaluate.Method{own}, "")
		if err != nil {
			t.Fatal(err)
		}
		rep := d.Folds[k]
		if rep.N != f.N || rep.From != f.From || rep.To != f.To {
			t.Errorf("fold %d report %d days %s..%s, fold %d days %s..%s", k, rep.N, rep.From, rep.To, f.N, f.From, f.To)
		}
		if got, want := rep.Method(evaluate.NameModel).PinballPct, alone.Methods[0].PinballPct; got != want {
			t.Errorf("fold %d: model pinball %v, its own model's %v", k, got, want)
		}
		var names []string
		for _, m := range rep.Methods {
			names = append(names, m.Method)
		}
		if !slices.Equal(names, wantMethods) {
			t.Errorf("fold %d methods %v, want %v", k, names, wantMethods)
		}
		if n := len(rep.Comparisons); n != 6*len(evaluate.BaselineNames()) {
			t.Errorf("fold %d: %d comparisons", k, n)
		}
	}
	// The folds' models differ: the first fold's on the second fold's days
	// would not score the same.
	w, err := evaluate.NewWalk(s, r.Folds[1].From, r.Folds[1].To, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	first, err := w.Model(evaluate.NameModel, evaluate.ModelFold{Pipeline: r.Folds[0].Pipeline})
	if err != nil {
		t.Fatal(err)
	}
	firstRep, err := evaluate.Score(w.Days, []evaluate.Method{first}, "")
	if err != nil {
		t.Fatal(err)
	}
	if firstRep.Methods[0].PinballPct == d.Folds[1].Method(evaluate.NameModel).PinballPct {
		t.Error("fold 1 scored as fold 0's model")
	}

	// The text has a line per fold for the model and for the ensemble,
	// each with its own pinball loss.
	var out strings.Builder
	if err := d.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	for k, rep := range d.Folds {
		for _, name := range []string{evaluate.NameModel, evaluate.NameEnsemble} {
			prefix := fmt.Sprintf("  %4d  %-23s %-9s", k, fmt.Sprintf("%s..%s", rep.From, rep.To), name)
			pinball := fmt.Sprintf(" %.4f ", rep.Method(name).PinballPct)
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) && strings.Contains(l, pinball) }) {
				t.Errorf("no line %q…%q in\n%s", prefix, pinball, out.String())
			}
		}
	}
}

// TestScoreDistributionOfQuantileHeads: a quantile config backtests as
// retrained quantile heads, and the distribution scores are the heads'
// own quantiles, each fold's from its own head.
func TestScoreDistributionOfQuantileHeads(t *testing.T) {
	s := btc(t)
	cfg, err := shipped.Load("quantile")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data.From = closecast.MustParseDate("2022-01-01")
	cfg.Units, cfg.Epochs = 4, 2
	r, err := Run(t.Context(), cfg, s, Options{From: btFrom, To: btTo, RetrainEvery: 10, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ScoreDistribution(s); err != nil {
		t.Fatal(err)
	}
	w, err := evaluate.NewWalk(s, btFrom, btTo, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	var heads []evaluate.QuantileHeadFold
	for _, f := range r.Folds {
		if f.Pipeline.Quantiles == nil {
			t.Fatal("fold model is not a quantile head")
		}
		heads = append(heads, evaluate.QuantileHeadFold{From: f.From, Pipeline: f.Pipeline, Holdout: f.From})
	}
	own, err := w.QuantileHead("own", heads...)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := evaluate.Score(w.Days, []evaluate.Method{own}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Distribution.Overall.Method(evaluate.NameModel).PinballPct, alone.Methods[0].PinballPct; got != want || r.Distribution.Overall.N != 20 {
		t.Errorf("pinball %v over %d days, the heads' own %v", got, r.Distribution.Overall.N, want)
	}
	// The ensemble of baselines sits beside the heads, as beside a
	// conformal model.
	base, err := w.Run(evaluate.NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	ens, err := evaluate.WithEnsemble(w.Days, base)
	if err != nil {
		t.Fatal(err)
	}
	ensAlone, err := evaluate.Score(w.Days, ens[len(base):], "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ensAlone.Methods {
		if m := r.Distribution.Overall.Method(s.Method); m == nil || m.PinballPct != s.PinballPct {
			t.Errorf("%s: %+v in the backtest, %v alone", s.Method, m, s.PinballPct)
		}
	}
}
