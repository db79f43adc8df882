package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/pipeline"
	"github.com/closecast/closecast/report"
)

var evaluateCmd = &command{
	name:    "evaluate",
	summary: "Walk-forward evaluation of a model over a date range, beside naive baselines, with interval coverage",
	usage:   "[--model DIR] [--symbol S] [--against DIR] [--from D --to D] [--horizon N] [--samples K] [--seed S] [--csv FILE] [--plot DIR] [--json]",
	example: `  closecast evaluate --from 2025-06-01 --to 2025-07-16
  closecast evaluate --model out/reference --from 2023-11-24 --to 2025-04-30 --json
  closecast evaluate --model out/eth --csv eth.csv --from 2025-01-01 --to 2025-03-31
  closecast evaluate                        # the model's own hold-out and validation windows
  closecast evaluate --horizon 7            # also 2..7 days ahead, vs persistence
  closecast evaluate --model out/global --symbol ETH-USD --against models/eth-usd

Every day in the range is forecast one step ahead from the real bars before it
(the model never sees the day it forecasts), and scored with MAE, RMSE, MAPE,
sMAPE, MASE (vs persistence) and direction hit rate, beside persistence
(tomorrow = today) and the 7-day moving average on the same days.

The model's 80 % intervals ([p10, p90], as 'predict' prints them) are scored
too: coverage is the percentage of days whose actual close fell inside (80
for a calibrated interval), width the mean p90 - p10. Both methods are
scored when the model has them: conformal (calibrated on the training
tail, volatility-scaled) and Monte-Carlo dropout (K passes; --samples 0
skips it).

--horizon N also scores multi-day forecasts: every day of the range is the
origin of an N-day forecast (recursive, or the model's direct head), and
step h is scored on the range's days h-1 days after their origin, beside
persistence from the origin (the last known close) and with the conformal
interval's coverage.

--symbol picks a global model's market (default: its first); --against DIR
scores another model of that market on the same days (one step ahead: MAE,
MAPE; its conformal distribution: coverage, pinball, Winkler) and tests the
model against it with Diebold-Mariano on absolute error and on pinball
loss (negative favours the model), under "against" in --json:
{"model", "evaluation", "point", "distribution", "scores", "error"}.

Without --from and --to, the ranges are the model's hold-out and validation
windows recorded in model.json, and --json prints {"holdout": …, "validation": …}.

Distributions (issue 15): every day is also forecast as 21 quantiles, one
step ahead, by the model (its conformal quantiles; a quantile model's own),
the model adapted online by ACI and FACI, five walk-forward baselines
(` + strings.Join(evaluate.BaselineNames(), ", ") + `) and
` + evaluate.NameGARCHACI + `, then ` + evaluate.NameEnsemble + `, the quantile average (level by level,
equal weights) of ` + strings.Join(evaluate.EnsembleParts, ", ") + `,
the combination chosen on rolling-origin folds inside the training part,
and ` + evaluate.NameEnsembleACI + `, it adapted by ACI. All are scored on the same days:
coverage of the 50/80/90/95 % intervals and of 80 % per volatility
tercile, mean pinball loss, Winkler 80/95, Kupiec and Christoffersen
p-values, and Diebold-Mariano tests of each model against each baseline
(on pinball loss and on absolute error).
One walk runs from the first range's first day to the last range's last,
so the adaptation has its history; a range the model saw in training gets
no distribution scores and says why. --plot DIR writes DIR/calibration.png:
the PIT histogram and the reliability diagram of the model and the best
baseline. --json carries the comparison under "distribution" (or why it
is missing under "distribution_error"):

` + evaluate.JSONHelp,
	run: runEvaluate,
}

// evaluationJSON is one range of evaluate's --json output: the existing
// keys (n, from, to, model, persistence, ma7) and "intervals", one entry
// per interval method scored, and with --horizon "horizon", one entry per
// step ahead.
type evaluationJSON struct {
	artifact.Evaluation
	Intervals []evaluate.Interval    `json:"intervals,omitempty"`
	Horizon   []evaluate.HorizonStep `json:"horizon,omitempty"`
	// Distribution is issue 15's comparison of distributions, one step
	// ahead (evaluate.JSONHelp); DistributionError says why it is missing.
	Distribution      *evaluate.Report `json:"distribution,omitempty"`
	DistributionError string           `json:"distribution_error,omitempty"`
	// Against compares the model with --against's on the same days.
	Against *againstJSON `json:"against,omitempty"`
}

// evalRange is one range to evaluate.
type evalRange struct {
	name     string // "walk-forward", "hold-out" or "validation"
	key      string // JSON key in windows mode
	from, to closecast.Date
}

func runEvaluate(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	modelDir := modelFlag(fs)
	var data dataFlags
	data.register(fs, true)
	dbFlag(fs, e)
	asJSON := fs.Bool("json", false, `print one JSON object: {"n","from","to","model","persistence","ma7","intervals"} (MAPE and coverage in percent); without --from/--to {"holdout": …, "validation": …}`)
	samples := fs.Int("samples", pipeline.DefaultSamples, "Monte-Carlo dropout passes per day for the interval's coverage (`K`; 0 = skip)")
	seed := fs.Uint64("seed", pipeline.DefaultSeed, "dropout `seed` of the interval (the seed predict uses by default)")
	horizon := fs.Int("horizon", 1, "also score forecasts 2..N `days` ahead")
	against := fs.String("against", "", "also score this model `directory` (e.g. models/btc-usd, the per-symbol model of a global model's market) on the same days, and test the model against it (see against in --json)")
	plotDir := fs.String("plot", "", "write calibration.png (PIT histogram and reliability diagram) to this `directory`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *horizon < 1 || *horizon > pipeline.MaxHorizon {
		return fmt.Errorf("%w: --horizon %d: want 1..%d", errUsage, *horizon, pipeline.MaxHorizon)
	}
	if data.from.set != data.to.set {
		return fmt.Errorf("%w: give both --from and --to, or neither (the model's hold-out and validation windows)", errUsage)
	}
	if *samples < 0 || *samples == 1 || *samples > pipeline.MaxSamples {
		return fmt.Errorf("%w: --samples %d: want 0 or 2..%d", errUsage, *samples, pipeline.MaxSamples)
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if m.Pipeline.Quantiles != nil && *horizon > 1 {
		return fmt.Errorf("%w: --horizon %d: a quantile head forecasts one day ahead", errUsage, *horizon)
	}
	if !isFlagSet(fs, "symbol") {
		data.symbol = m.Meta.Symbol
	}
	if m, err = modelFor(m, data.symbol); err != nil {
		return err
	}
	other, err := loadAgainst(*against, data.symbol)
	if err != nil {
		return err
	}
	var ranges []evalRange
	if data.from.set {
		ranges = []evalRange{{name: "walk-forward", from: data.from.d, to: data.to.d}}
	} else {
		ms := m.Meta.Metrics
		if ms.Holdout != nil {
			ranges = append(ranges, evalRange{"hold-out", "holdout", ms.Holdout.From, ms.Holdout.To})
		}
		if ms.Validation != nil {
			ranges = append(ranges, evalRange{"validation", "validation", ms.Validation.From, ms.Validation.To})
		}
		if len(ranges) == 0 {
			return fmt.Errorf("%w: the model records no hold-out or validation window; give --from and --to", errUsage)
		}
	}
	lo, hi := ranges[0].from, ranges[0].to
	for _, r := range ranges {
		lo, hi = min(lo, r.from), max(hi, r.to)
	}
	// Every bar from the first: the baselines of the distribution scores
	// fit on all the returns before each origin (EWMA-t's ν, GARCH), so
	// their forecasts depend on where the series starts.
	data.from.set = false
	data.to.d, data.to.set = hi, true
	series, err := data.load(ctx, e, false)
	if err != nil {
		return err
	}
	results := make([]evaluationJSON, len(ranges))
	fmt.Fprintf(e.stderr, "evaluating %s on %s: %d range(s)\n", m.Meta.Version, data.symbol, len(ranges))
	// The scoring is pure computation (minutes with many MC-dropout
	// samples): untilDone lets Ctrl-C or SIGTERM end the command at once.
	if err := untilDone(ctx, func() error {
		if err := evaluateRanges(m, series, ranges, results, *samples, *seed, *horizon); err != nil {
			return err
		}
		if err := distributionReports(m, series, ranges, results); err != nil {
			return err
		}
		return againstReports(m, other, series, ranges, results)
	}); err != nil {
		return err
	}
	if *plotDir != "" {
		path, err := writeCalibration(*plotDir, modelName(m), ranges, results)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "chart: %s\n", path)
	}
	return printEvaluation(e, m, data.symbol, ranges, results, *asJSON, *samples)
}

// evaluateRanges scores m on each range into results.
func evaluateRanges(m *artifact.Model, series closecast.Series, ranges []evalRange, results []evaluationJSON, samples int, seed uint64, horizon int) error {
	noDropout := m.Pipeline.Net.Config().Dropout == 0
	for k, r := range ranges {
		ev, _, err := evaluate.OneStep(m.Pipeline, series.Bars, r.from, r.to)
		if err != nil {
			return fmt.Errorf("%s %s..%s: %w", r.name, r.from, r.to, err)
		}
		results[k].Evaluation = ev
		var opts []evaluate.IntervalOptions
		if m.Pipeline.Calibration != nil {
			opts = append(opts, evaluate.IntervalOptions{Method: pipeline.IntervalConformal})
		}
		if samples > 0 && !noDropout {
			opts = append(opts, evaluate.IntervalOptions{Method: pipeline.IntervalMCDropout, Samples: samples, Seed: seed})
		}
		for _, o := range opts {
			iv, err := evaluate.IntervalCoverage(m.Pipeline, series.Bars, r.from, r.to, o)
			if err != nil {
				return fmt.Errorf("%s %s..%s: %s interval: %w", r.name, r.from, r.to, o.Method, err)
			}
			results[k].Intervals = append(results[k].Intervals, iv)
		}
		if horizon > 1 {
			steps, err := evaluate.Horizon(m.Pipeline, series.Bars, r.from, r.to, horizon)
			if err != nil {
				return fmt.Errorf("%s %s..%s: horizon: %w", r.name, r.from, r.to, err)
			}
			results[k].Horizon = steps
		}
	}
	return nil
}

// printEvaluation prints results, as text or JSON.
func printEvaluation(e *env, m *artifact.Model, symbol string, ranges []evalRange, results []evaluationJSON, asJSON bool, samples int) error {
	noDropout := m.Pipeline.Net.Config().Dropout == 0
	if asJSON {
		if ranges[0].key == "" { // --from/--to: one range, the existing layout
			return json.NewEncoder(e.stdout).Encode(results[0])
		}
		out := map[string]evaluationJSON{}
		for k, r := range ranges {
			out[r.key] = results[k]
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "%s on %s\n", m.Meta.Version, symbol)
	for k, r := range ranges {
		report.Evaluation(e.stdout, r.name, results[k].Evaluation)
		printIntervals(e.stdout, results[k].Intervals, m.Pipeline.Calibration != nil || m.Pipeline.Quantiles != nil, noDropout, samples) // a quantile head has its own quantiles, below
		printHorizon(e.stdout, results[k].Horizon, m.Pipeline.Outputs() > 1)
		if err := printDistribution(e.stdout, results[k].Distribution, results[k].DistributionError); err != nil {
			return err
		}
		printAgainst(e.stdout, results[k].Against)
	}
	return nil
}

// printHorizon prints one row per step ahead: the model and persistence
// from the origin, and the conformal coverage.
func printHorizon(w io.Writer, steps []evaluate.HorizonStep, direct bool) {
	if len(steps) == 0 {
		return
	}
	how := "recursive"
	if direct {
		how = "direct head"
	}
	fmt.Fprintf(w, "  days ahead (%s; persistence = the origin's last close):\n", how)
	fmt.Fprintf(w, "  %4s %5s %10s %10s %8s %8s %6s %6s %9s\n", "day", "n", "MAE", "pers.MAE", "MAPE%", "pers.%", "MASE", "dir%", "cover80%")
	for _, st := range steps {
		cov := "-"
		if st.Coverage != nil {
			cov = fmt.Sprintf("%.1f", *st.Coverage)
		}
		fmt.Fprintf(w, "  %4d %5d %10.2f %10.2f %8.2f %8.2f %6.3f %6.1f %9s\n", st.Step, st.N, st.Model.MAE, st.Persistence.MAE,
			st.Model.MAPE, st.Persistence.MAPE, st.Model.MASE, st.Model.Direction, cov)
	}
}

// printIntervals prints one coverage line per interval scored, and why a
// method is missing.
func printIntervals(w io.Writer, ivs []evaluate.Interval, calibrated, noDropout bool, samples int) {
	for _, iv := range ivs {
		how := "conformal, calibrated on the training tail"
		if iv.Method == pipeline.IntervalMCDropout {
			how = fmt.Sprintf("%d MC-dropout passes, seed %d", iv.Samples, iv.Seed)
		}
		fmt.Fprintf(w, "  %g %% interval (p10..p90, %s): covered %.1f %% of %d days, mean width %.2f (%.2f %% of the last close)\n",
			iv.Level, how, iv.Coverage, iv.N, iv.Width, iv.WidthPct)
	}
	if !calibrated {
		fmt.Fprintln(w, "  no conformal interval: the model was trained without a held-back tail to calibrate on")
	}
	switch {
	case noDropout:
		fmt.Fprintln(w, "  no MC-dropout interval: the model has no dropout")
	case samples == 0:
		fmt.Fprintln(w, "  no MC-dropout interval (--samples 0)")
	}
}
