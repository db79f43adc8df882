package backtest

import (
	"fmt"
	"io"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/evaluate"
)

// Distribution is issue 15's comparison over a backtest: each fold's
// retrained model as its conformal quantiles (each fold recalibrated on
// its own training tail), adapted by ACI and FACI, beside the five
// walk-forward baselines and GARCH-t+ACI, one step ahead on the same days
// (evaluate.Lineup), and the ensemble of four baselines with its ACI row
// (evaluate.WithEnsemble), every model against every baseline
// (evaluate.ScoreAgainstBaselines).
type Distribution struct {
	// Overall scores every forecast day of the backtest.
	Overall *evaluate.Report `json:"overall"`
	// Folds scores each fold's days, in fold order, cut out of the same
	// walk (the adaptation carries its history across folds); nil for a
	// fold too short to score (FoldErrors says why).
	Folds      []*evaluate.Report `json:"folds"`
	FoldErrors []string           `json:"fold_errors,omitempty"`
}

// ScoreDistribution runs issue 15's comparison on r's forecast days with
// its fold models, over series (the series r was run on, from its first
// bar: the baselines fit on every return before each origin), and sets
// r.Distribution. Every fold model must be calibrated.
func (r *Result) ScoreDistribution(series closecast.Series) error {
	folds := make([]evaluate.ModelFold, len(r.Folds))
	for k, f := range r.Folds {
		if f.Pipeline == nil {
			return fmt.Errorf("backtest distribution: fold %d has no model", k)
		}
		folds[k] = evaluate.ModelFold{From: f.From, Pipeline: f.Pipeline}
	}
	w, err := evaluate.NewWalk(series, r.From, r.To, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		return fmt.Errorf("backtest distribution: %w", err)
	}
	methods, err := r.lineup(w, folds)
	if err != nil {
		return fmt.Errorf("backtest distribution: %w", err)
	}
	baselines := evaluate.BaselineNames()
	d := &Distribution{}
	if d.Overall, err = evaluate.ScoreAgainstBaselines(w.Days, methods, baselines); err != nil {
		return fmt.Errorf("backtest distribution: %w", err)
	}
	for k, f := range r.Folds {
		days, ms, err := evaluate.Between(w.Days, methods, f.From, f.To)
		var rep *evaluate.Report
		if err == nil {
			rep, err = evaluate.ScoreAgainstBaselines(days, ms, baselines)
		}
		d.Folds = append(d.Folds, rep)
		if err != nil {
			if d.FoldErrors == nil {
				d.FoldErrors = make([]string, len(r.Folds))
			}
			d.FoldErrors[k] = err.Error()
		}
	}
	r.Distribution = d
	return nil
}

// lineup is the walk's comparison around the fold models: quantile heads'
// own quantiles (Walk.QuantileHead, each out of sample from the day after
// its training range), else conformal quantiles (Walk.Model); then the
// ensemble of four baselines and its ACI row (evaluate.WithEnsemble).
func (r *Result) lineup(w *evaluate.Walk, folds []evaluate.ModelFold) ([]evaluate.Method, error) {
	methods, err := r.modelLineup(w, folds)
	if err != nil {
		return nil, err
	}
	return evaluate.WithEnsemble(w.Days, methods)
}

// modelLineup is lineup without the ensemble rows.
func (r *Result) modelLineup(w *evaluate.Walk, folds []evaluate.ModelFold) ([]evaluate.Method, error) {
	if folds[0].Pipeline.Quantiles == nil {
		return w.Lineup(folds...)
	}
	heads := make([]evaluate.QuantileHeadFold, len(folds))
	for k, f := range folds {
		heads[k] = evaluate.QuantileHeadFold{From: f.From, Pipeline: f.Pipeline, Holdout: r.Folds[k].TrainedTo + 1}
	}
	model, err := w.QuantileHead(evaluate.NameModel, heads...)
	if err != nil {
		return nil, err
	}
	return w.LineupOf(model)
}

// WriteText prints the overall tables (evaluate.Report.WriteTable and the
// Diebold–Mariano comparisons), then two lines per fold, one for the
// model and one for the ensemble (evaluate.NameEnsemble): its 80 %
// coverage, mean pinball loss and 80 % Winkler score beside the fold's
// best baseline's, and its Diebold–Mariano test on pinball loss against
// that baseline.
func (d *Distribution) WriteText(w io.Writer) error {
	o := d.Overall
	fmt.Fprintf(w, "\ndistribution scores, one step ahead, %d days, each fold's own model (its conformal quantiles, or a quantile head's own; losses in %% of the last close; best baseline by pinball: %s):\n", o.N, o.Reference)
	if err := o.WriteTable(w); err != nil {
		return err
	}
	fmt.Fprintln(w, "Diebold-Mariano, each model against each baseline (negative favours the model):")
	if err := o.WriteComparisons(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nper fold, the model and the ensemble against the fold's best baseline:\n  %4s  %-23s %-9s %7s %9s %10s  %-20s %7s %9s %10s  %s\n",
		"fold", "days", "method", "cov80", "pinball%", "winkler80%", "best baseline", "cov80", "pinball%", "winkler80%", "DM pinball (p)")
	for k, rep := range d.Folds {
		if rep == nil {
			fmt.Fprintf(w, "  %4d  %s\n", k, d.FoldErrors[k])
			continue
		}
		b := rep.Method(rep.Reference)
		for _, name := range []string{evaluate.NameModel, evaluate.NameEnsemble} {
			m := rep.Method(name)
			if m == nil {
				continue
			}
			dm := "-"
			for _, c := range rep.Comparisons {
				if c.Model == name && c.Baseline == rep.Reference && c.Pinball != nil {
					dm = fmt.Sprintf("%+.2f (%.3f)", c.Pinball.Stat, c.Pinball.P)
				}
			}
			fmt.Fprintf(w, "  %4d  %-23s %-9s %7.1f %9.4f %10.3f  %-20s %7.1f %9.4f %10.3f  %s\n", k, fmt.Sprintf("%s..%s", rep.From, rep.To), name,
				m.Interval(80).Coverage, m.PinballPct, m.Winkler80Pct, rep.Reference, b.Interval(80).Coverage, b.PinballPct, b.Winkler80Pct, dm)
		}
	}
	return nil
}
