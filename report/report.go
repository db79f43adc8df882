// Package report presents a trained model: the text tables `closecast train`
// and `closecast evaluate` print, the mean ± std over seeds of --repeat, and
// the plots written beside an artifact.
package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/chart"
	"github.com/closecast/closecast/metrics"
)

// Training prints a model's training summary and its evaluations.
func Training(w io.Writer, m *artifact.Model) {
	md := m.Meta
	t := md.Training
	fmt.Fprintf(w, "%s: %s %s, %d params; %d epochs (%s, best %d), %.2f s/epoch, %.1f s on %d threads, %d training windows\n",
		md.Name, md.Symbol, md.Target, md.Architecture.Params, t.EpochsTrained, t.Stopped, t.BestEpoch,
		t.SecondsEpoch, t.Seconds, t.Threads, t.Windows)
	Evaluations(w, md.Metrics)
	if q := md.QuantileHead; q != nil {
		fmt.Fprintf(w, "quantiles: the head's own, %d levels %g..%g of %s (closecast evaluate scores them)\n", len(q.Levels), q.Levels[0], q.Levels[len(q.Levels)-1], q.Target)
	} else if c := md.Calibration; c != nil {
		fmt.Fprintf(w, "conformal intervals: calibrated on %d days, %s .. %s, for 1..%d days ahead (closecast evaluate reports their coverage)\n",
			len(c.Scores[0]), c.From, c.To, c.Horizon())
	} else {
		fmt.Fprintln(w, "conformal intervals: none (no held-back tail to calibrate on; early_stopping.monitor is not tail)")
	}
}

// Evaluations prints the hold-out and validation tables that are present.
func Evaluations(w io.Writer, ms artifact.Metrics) {
	if ms.Tuning != nil {
		Evaluation(w, "tuning (held-back tail of the training part)", *ms.Tuning)
	}
	if ms.Holdout != nil {
		Evaluation(w, "hold-out", *ms.Holdout)
	}
	if ms.Validation != nil {
		Evaluation(w, "validation", *ms.Validation)
	}
}

// Evaluation prints one evaluation: the model beside both baselines, then
// how it compares with persistence.
func Evaluation(w io.Writer, name string, ev artifact.Evaluation) {
	fmt.Fprintf(w, "%s: %d days, %s .. %s\n", name, ev.N, ev.From, ev.To)
	header(w)
	row(w, "model", ev.Model)
	row(w, "persistence", ev.Persistence)
	row(w, "ma7", ev.MA7)
	if line := VersusPersistence(ev); line != "" {
		fmt.Fprintf(w, "  model %s\n", line)
	}
}

// VersusPersistence says how an evaluation's model compares with
// persistence: by the Diebold–Mariano test stored with it, "level with
// persistence (MAE 1381.59 against 1382.93; Diebold–Mariano p = 0.43)" when
// p ≥ metrics.Significance, else "better than persistence by 3.1 % (…; …)"
// or "worse …"; an evaluation stored without the test (an older model.json)
// is judged by Versus's threshold instead.
func VersusPersistence(ev artifact.Evaluation) string {
	vp := ev.VersusPersistence
	if vp == nil {
		return Versus(ev.Model.MAE, ev.Persistence.MAE)
	}
	_, rel := metrics.Versus(ev.Model.MAE, ev.Persistence.MAE)
	figures := fmt.Sprintf("(MAE %.2f against %.2f; Diebold–Mariano p = %s)", ev.Model.MAE, ev.Persistence.MAE, strconv.FormatFloat(vp.P, 'g', 2, 64))
	return versusLine(metrics.Tested(vp.DM, vp.P), rel, figures, "")
}

// Versus says how a model's MAE compares with persistence's: "level with
// persistence (MAE 1381.59 against 1382.93)" when the two are closer than
// metrics.LevelTolerance, else "better than persistence by 3.1 % (…)" or
// "worse …". It is "" when either MAE is undefined.
func Versus(model, persistence float64) string {
	v, rel := metrics.Versus(model, persistence)
	figures := fmt.Sprintf("(MAE %.2f against %.2f)", model, persistence)
	return versusLine(v, rel, figures, fmt.Sprintf(": under %g %% apart", 100*metrics.LevelTolerance))
}

// versusLine words verdict v of a model against persistence, rel apart
// (model/persistence − 1), with the figures that back it; why is appended
// to a level verdict.
func versusLine(v metrics.Verdict, rel float64, figures, why string) string {
	switch v {
	case metrics.Level:
		return "level with persistence " + figures + why
	case metrics.Better:
		return fmt.Sprintf("better than persistence by %.1f %% %s", -100*rel, figures)
	case metrics.Worse:
		return fmt.Sprintf("worse than persistence by %.1f %% %s", 100*rel, figures)
	}
	return ""
}

func header(w io.Writer) {
	fmt.Fprintf(w, "  %-14s %10s %10s %7s %7s %6s %6s\n", "", "MAE", "RMSE", "MAPE%", "sMAPE%", "MASE", "dir%")
}

func row(w io.Writer, name string, m metrics.Metrics) {
	fmt.Fprintf(w, "  %-14s %10s %10s %7s %7s %6s %6s\n", name, cell(m.MAE, 2), cell(m.RMSE, 2), cell(m.MAPE, 2),
		cell(m.SMAPE, 2), cell(m.MASE, 3), cell(m.Direction, 1))
}

// Undefined is how a table shows a figure that is undefined for a method
// (NaN): a dash, never a number that could be read as a score.
const Undefined = "–"

// cell formats x with the given decimals, or Undefined when x is NaN or
// infinite.
func cell(x float64, decimals int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return Undefined
	}
	return strconv.FormatFloat(x, 'f', decimals, 64)
}

// RepeatSummary is the spread of every metric over several seeds.
type RepeatSummary struct {
	Seeds      int             `json:"seeds"`
	Tuning     *SummaryOfRange `json:"tuning,omitempty"`
	Holdout    *SummaryOfRange `json:"holdout,omitempty"`
	Validation *SummaryOfRange `json:"validation,omitempty"`
}

// SummaryOfRange summarises one evaluation range over seeds. The baselines
// do not depend on the seed and are reported once.
type SummaryOfRange struct {
	Mean        metrics.Metrics `json:"mean"`
	Std         metrics.Metrics `json:"std"`
	Median      metrics.Metrics `json:"median"`
	Persistence metrics.Metrics `json:"persistence"`
	MA7         metrics.Metrics `json:"ma7"`
}

// Summarize computes mean, sample std and median of every metric over runs.
func Summarize(runs []artifact.Metrics) RepeatSummary {
	s := RepeatSummary{Seeds: len(runs)}
	pick := func(get func(artifact.Metrics) *artifact.Evaluation) *SummaryOfRange {
		var ms []metrics.Metrics
		var last *artifact.Evaluation
		for _, r := range runs {
			if ev := get(r); ev != nil {
				ms = append(ms, ev.Model)
				last = ev
			}
		}
		if last == nil {
			return nil
		}
		mean, std := metrics.SummarizeMetrics(ms)
		return &SummaryOfRange{Mean: mean, Std: std, Median: median(ms), Persistence: last.Persistence, MA7: last.MA7}
	}
	s.Tuning = pick(func(m artifact.Metrics) *artifact.Evaluation { return m.Tuning })
	s.Holdout = pick(func(m artifact.Metrics) *artifact.Evaluation { return m.Holdout })
	s.Validation = pick(func(m artifact.Metrics) *artifact.Evaluation { return m.Validation })
	return s
}

func median(ms []metrics.Metrics) metrics.Metrics {
	field := func(get func(metrics.Metrics) float64) float64 {
		xs := make([]float64, len(ms))
		for i, m := range ms {
			xs[i] = get(m)
		}
		sort.Float64s(xs)
		return metrics.Quantile(xs, 0.5)
	}
	return metrics.Metrics{
		MAE:       field(func(m metrics.Metrics) float64 { return m.MAE }),
		RMSE:      field(func(m metrics.Metrics) float64 { return m.RMSE }),
		MAPE:      field(func(m metrics.Metrics) float64 { return m.MAPE }),
		SMAPE:     field(func(m metrics.Metrics) float64 { return m.SMAPE }),
		MASE:      field(func(m metrics.Metrics) float64 { return m.MASE }),
		Direction: field(func(m metrics.Metrics) float64 { return m.Direction }),
	}
}

// WriteSummary prints a RepeatSummary as mean ± std tables.
func WriteSummary(w io.Writer, s RepeatSummary) {
	show := func(name string, r *SummaryOfRange) {
		if r == nil {
			return
		}
		fmt.Fprintf(w, "%s over %d seeds:\n", name, s.Seeds)
		fmt.Fprintf(w, "  %-14s %21s %21s %15s %15s\n", "", "MAE", "RMSE", "MAPE%", "dir%")
		fmt.Fprintf(w, "  %-14s %10.2f ± %8.2f %10.2f ± %8.2f %6.2f ± %5.2f %6.1f ± %5.1f\n", "model mean±std",
			r.Mean.MAE, r.Std.MAE, r.Mean.RMSE, r.Std.RMSE, r.Mean.MAPE, r.Std.MAPE, r.Mean.Direction, r.Std.Direction)
		one := func(name string, m metrics.Metrics) {
			fmt.Fprintf(w, "  %-14s %21s %21s %15s %15s\n", name, cell(m.MAE, 2), cell(m.RMSE, 2), cell(m.MAPE, 2), cell(m.Direction, 1))
		}
		one("model median", r.Median)
		one("persistence", r.Persistence)
		one("ma7", r.MA7)
	}
	show("tuning", s.Tuning)
	show("hold-out", s.Holdout)
	show("validation", s.Validation)
}

// Plots returns a function writing a model's plots into an artifact
// directory: loss (train vs validation per epoch), and predicted vs actual
// over the hold-out and the validation window, each as SVG and PNG. The
// files render concurrently: rendering is most of the time `train` takes to
// save its artifact, also after a Ctrl-C.
func Plots(m *artifact.Model) func(dir string) error {
	return func(dir string) error {
		md := m.Meta
		epochs := make([]float64, len(md.LossCurve.Train))
		for i := range epochs {
			epochs[i] = float64(i + 1)
		}
		type plot struct {
			name, title, xlabel, ylabel string
			series                      []chart.Series
		}
		plots := []plot{{"loss", md.Name + ": loss per epoch", "epoch", "loss (" + md.Config.Loss + ", scaled)", []chart.Series{
			{Name: "train", X: epochs, Y: md.LossCurve.Train},
			{Name: "validation (" + md.Training.Monitor + ")", X: epochs, Y: md.LossCurve.Val}}}}
		for _, p := range []struct {
			name string
			pts  []artifact.Point
			ev   *artifact.Evaluation
		}{{"holdout", md.Predictions.Holdout, md.Metrics.Holdout}, {"validation", md.Predictions.Validation, md.Metrics.Validation}} {
			if len(p.pts) == 0 {
				continue
			}
			ts := make([]time.Time, len(p.pts))
			act, pred := make([]float64, len(p.pts)), make([]float64, len(p.pts))
			for i, pt := range p.pts {
				ts[i], act[i], pred[i] = pt.Date.Time(), pt.Actual, pt.Predicted
			}
			title := fmt.Sprintf("%s %s: %s, MAPE %.2f%% (persistence %.2f%%)", md.Symbol, p.name, md.Name, p.ev.Model.MAPE, p.ev.Persistence.MAPE)
			if math.IsNaN(p.ev.Model.MAPE) {
				title = fmt.Sprintf("%s %s: %s", md.Symbol, p.name, md.Name)
			}
			plots = append(plots, plot{p.name, title, "", "close", []chart.Series{
				{Name: "actual", Times: ts, Y: act},
				{Name: "predicted", Times: ts, Y: pred}}})
		}
		exts := []string{".svg", ".png"}
		errs := make([]error, len(plots)*len(exts))
		var wg sync.WaitGroup
		for i, p := range plots {
			for j, ext := range exts {
				wg.Go(func() {
					errs[i*len(exts)+j] = chart.Lines(filepath.Join(dir, p.name+ext), p.title, p.xlabel, p.ylabel, p.series...)
				})
			}
		}
		wg.Wait()
		return errors.Join(errs...)
	}
}
