package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/chart"
	"github.com/closecast/closecast/evaluate"
)

// distributionReports runs issue 15's comparison (evaluate.Lineup: the
// model's conformal quantiles, the model adapted by ACI and FACI, the five
// baselines and GARCH-t+ACI; then the ensemble of four baselines and the
// ensemble adapted by ACI) one step ahead over one walk from the first
// range's first day to the last range's last, so the adaptation carries
// its history from range to range as it would live, and scores each range
// cut out of it against every baseline. A range the model cannot score
// out of sample (no calibration, or one that reaches into it) gets no
// report and the reason instead.
func distributionReports(m *artifact.Model, series closecast.Series, ranges []evalRange, results []evaluationJSON) error {
	lo, hi := ranges[0].from, ranges[0].to
	for _, r := range ranges {
		lo, hi = min(lo, r.from), max(hi, r.to)
	}
	fail := func(err error) {
		for k := range results {
			results[k].DistributionError = err.Error()
		}
	}
	w, err := evaluate.NewWalk(series, lo, hi, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		fail(err)
		return nil
	}
	methods, err := lineup(w, m)
	if err != nil {
		fail(err)
		return nil
	}
	for k, r := range ranges {
		days, ms, err := evaluate.Between(w.Days, methods, r.from, r.to)
		if err != nil {
			results[k].DistributionError = err.Error()
			continue
		}
		rep, err := evaluate.ScoreAgainstBaselines(days, ms, evaluate.BaselineNames())
		if err != nil {
			return fmt.Errorf("%s %s..%s: distribution scores: %w", r.name, r.from, r.to, err)
		}
		results[k].Distribution = rep
	}
	return nil
}

// lineup is the walk's comparison around m: a quantile head's own
// quantiles (out of sample from the day after its training range), else
// the model's conformal ones; then the ensemble of baselines and its ACI
// row (evaluate.WithEnsemble).
func lineup(w *evaluate.Walk, m *artifact.Model) ([]evaluate.Method, error) {
	model, err := methodOf(w, m, modelName(m))
	if err != nil {
		return nil, err
	}
	methods, err := w.LineupOf(model)
	if err != nil {
		return nil, err
	}
	return evaluate.WithEnsemble(w.Days, methods)
}

// modelName is the name of m's forecasts in its comparison.
func modelName(m *artifact.Model) string {
	if m.Pipeline.Quantiles != nil {
		return evaluate.NameQuantileHead
	}
	return evaluate.NameModel
}

// printDistribution prints one range's distribution scores: the table of
// every method and the Diebold–Mariano comparisons, or why there are none.
func printDistribution(w io.Writer, rep *evaluate.Report, why string) error {
	if rep == nil {
		if why != "" {
			fmt.Fprintf(w, "  no distribution scores: %s\n", why)
		}
		return nil
	}
	fmt.Fprintf(w, "  distribution scores, one step ahead, %d days (losses in %% of the last close; best baseline by pinball: %s):\n", rep.N, rep.Reference)
	if err := rep.WriteTable(w); err != nil {
		return err
	}
	fmt.Fprintln(w, "  Diebold-Mariano, each model against each baseline (negative favours the model):")
	return rep.WriteComparisons(w)
}

// writeCalibration draws dir/calibration.png for each range's report: the
// PIT histogram and the reliability diagram of the model and the best
// baseline, a panel pair per range. It returns the file written.
func writeCalibration(dir, model string, ranges []evalRange, results []evaluationJSON) (string, error) {
	var panels []chart.CalibrationPanel
	for k, r := range ranges {
		rep := results[k].Distribution
		if rep == nil {
			continue
		}
		p := chart.CalibrationPanel{Title: fmt.Sprintf("%s %s..%s (%d days)", r.name, rep.From, rep.To, rep.N)}
		for _, name := range []string{model, rep.Reference} {
			p.Methods = append(p.Methods, calibrationOf(*rep.Method(name)))
		}
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return "", fmt.Errorf("--plot: no distribution scores to draw (%s)", results[0].DistributionError)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("--plot: %w", err)
	}
	path := filepath.Join(dir, "calibration.png")
	return path, chart.Calibration(path, panels...)
}

// calibrationOf is one method's PIT counts and coverage by nominal level.
func calibrationOf(s evaluate.MethodScore) chart.CalibrationMethod {
	c := chart.CalibrationMethod{Name: s.Method, PIT: s.PIT[:]}
	for _, iv := range s.Intervals {
		c.Nominal = append(c.Nominal, float64(iv.Level))
		c.Observed = append(c.Observed, iv.Coverage)
	}
	return c
}
