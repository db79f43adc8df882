package main

import (
	"fmt"
	"io"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
)

// nameAgainst names --against's model in its comparison with the model.
const nameAgainst = "against"

// againstJSON is evaluate's comparison of the model with --against's on
// one range's days: how a global model fares against the per-symbol model
// of the same market.
type againstJSON struct {
	// Model is the other model's version.
	Model string `json:"model"`
	// Evaluation are its one-step scores (MAE, MAPE, … beside the same
	// baselines), as the model's at the top level.
	Evaluation artifact.Evaluation `json:"evaluation"`
	// Point is the Diebold–Mariano test of the model's daily absolute
	// errors against the other's (negative: the model's are lower).
	Point *artifact.Versus `json:"point,omitempty"`
	// Distribution is the Diebold–Mariano test of the model's conformal
	// quantiles against the other's, on pinball loss and on absolute
	// error (Model "model", Baseline "against"); Scores are the other's
	// distribution scores on the same days (coverage, pinball, Winkler).
	Distribution *evaluate.Comparison  `json:"distribution,omitempty"`
	Scores       *evaluate.MethodScore `json:"scores,omitempty"`
	// Error says why the distribution comparison is missing.
	Error string `json:"error,omitempty"`
}

// loadAgainst reads --against's model as the model of symbol; nil without
// the flag. A single-market model of another market is refused: its
// scores on symbol's days would compare nothing.
func loadAgainst(dir, symbol string) (*artifact.Model, error) {
	if dir == "" {
		return nil, nil
	}
	m, err := loadModel(dir)
	if err != nil {
		return nil, err
	}
	v, err := m.For(symbol)
	if err != nil {
		return nil, fmt.Errorf("%w: --against %s: %v", errUsage, dir, err)
	}
	if v.Meta.Symbol != symbol {
		return nil, fmt.Errorf("%w: --against %s is %s's model (%s), not %s's", errUsage, dir, v.Meta.Symbol, v.Meta.Version, symbol)
	}
	return v, nil
}

// againstReports scores other beside m on every range into results: one
// step ahead (its Evaluation and the Diebold–Mariano test on absolute
// errors), and, when both are calibrated out of sample on the range, their
// conformal distributions over one walk as distributionReports makes them.
func againstReports(m, other *artifact.Model, series closecast.Series, ranges []evalRange, results []evaluationJSON) error {
	if other == nil {
		return nil
	}
	for k, r := range ranges {
		_, pm, err := evaluate.OneStep(m.Pipeline, series.Bars, r.from, r.to)
		if err != nil {
			return fmt.Errorf("%s %s..%s: %w", r.name, r.from, r.to, err)
		}
		theirs, po, err := evaluate.OneStep(other.Pipeline, series.Bars, r.from, r.to)
		if err != nil {
			return fmt.Errorf("--against %s %s..%s: %w", r.name, r.from, r.to, err)
		}
		actual, a, b := make([]float64, len(pm)), make([]float64, len(pm)), make([]float64, len(po))
		for j := range pm {
			actual[j], a[j] = pm[j].Actual, pm[j].Predicted
		}
		for j := range po {
			b[j] = po[j].Predicted
		}
		results[k].Against = &againstJSON{Model: other.Meta.Version, Evaluation: theirs, Point: evaluate.Versus(actual, a, b)}
	}
	lo, hi := ranges[0].from, ranges[0].to
	for _, r := range ranges {
		lo, hi = min(lo, r.from), max(hi, r.to)
	}
	fail := func(err error) {
		for k := range results {
			results[k].Against.Error = err.Error()
		}
	}
	w, err := evaluate.NewWalk(series, lo, hi, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		fail(err)
		return nil
	}
	ours, err := methodOf(w, m, evaluate.NameModel)
	if err != nil {
		fail(err)
		return nil
	}
	theirs, err := methodOf(w, other, nameAgainst)
	if err != nil {
		fail(err)
		return nil
	}
	for k, r := range ranges {
		days, ms, err := evaluate.Between(w.Days, []evaluate.Method{ours, theirs}, r.from, r.to)
		if err != nil {
			results[k].Against.Error = err.Error()
			continue
		}
		rep, err := evaluate.Score(days, ms, evaluate.NameModel)
		if err != nil {
			return fmt.Errorf("%s %s..%s: scores against %s: %w", r.name, r.from, r.to, other.Meta.Version, err)
		}
		results[k].Against.Scores = rep.Method(nameAgainst)
		results[k].Against.Distribution = &rep.Comparisons[0]
	}
	return nil
}

// methodOf is m's forecasts of w's targets under name: a quantile head's
// own quantiles, else the model's conformal ones.
func methodOf(w *evaluate.Walk, m *artifact.Model, name string) (evaluate.Method, error) {
	if m.Pipeline.Quantiles == nil {
		return w.Model(name, evaluate.ModelFold{Pipeline: m.Pipeline})
	}
	return w.QuantileHead(name, evaluate.QuantileHeadFold{Pipeline: m.Pipeline, Holdout: m.Meta.TrainRange.To + 1})
}

// printAgainst prints one range's comparison with --against's model.
func printAgainst(w io.Writer, a *againstJSON) {
	if a == nil {
		return
	}
	ev := a.Evaluation
	fmt.Fprintf(w, "  against %s on the same %d days (one step): MAE %.2f, MAPE %.3f %%", a.Model, ev.N, ev.Model.MAE, ev.Model.MAPE)
	if a.Point != nil {
		fmt.Fprintf(w, "; model vs it, DM on absolute error %+.2f (p %.3f): %s", a.Point.DM, a.Point.P, a.Point.Verdict)
	}
	fmt.Fprintln(w)
	if a.Scores == nil {
		fmt.Fprintf(w, "  no distribution comparison: %s\n", a.Error)
		return
	}
	s := a.Scores
	cov := "-"
	if iv := s.Interval(80); iv != nil {
		cov = fmt.Sprintf("%.1f %%", iv.Coverage)
	}
	fmt.Fprintf(w, "  its conformal distribution: coverage80 %s, pinball %.4f %%, Winkler80 %.3f %%", cov, s.PinballPct, s.Winkler80Pct)
	if c := a.Distribution; c != nil && c.Pinball != nil {
		fmt.Fprintf(w, "; model vs it, DM on pinball %s", formatDM(c.Pinball))
	} else if c != nil && c.Error != "" {
		fmt.Fprintf(w, "; no DM test on pinball: %s", c.Error)
	}
	fmt.Fprintln(w)
}

// formatDM formats a Diebold–Mariano test as "stat (p value)".
func formatDM(t *evaluate.Test) string { return fmt.Sprintf("%+.2f (p %.3f)", t.Stat, t.P) }
