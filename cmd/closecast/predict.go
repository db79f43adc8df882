package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/pipeline"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
)

var predictCmd = &command{
	name:    "predict",
	summary: "Forecast the close of a day from the model's window of closes ending the day before",
	usage:   "[--model DIR] [--date D] [--horizon N] [--interval auto|conformal|mc_dropout|ensemble|none] [--samples K] [--seed S] [--quantiles 10,50,90] [--symbol S] [--offline] [--csv FILE] [--json]",
	example: `  closecast predict                         # today's close (fetches the days the store lacks)
  closecast predict --offline               # the day after the last known close
  closecast predict --date 2025-07-20 --json
  closecast predict --offline --horizon 7   # a week ahead, with 80 % intervals
  closecast predict --model out/reference --date 2025-06-01 --samples 0
  closecast predict --offline --horizon 3 --interval ensemble --quantiles 5,50,95
  closecast predict --model out/global --symbol ETH-USD   # a global model's ETH-USD

The close of day D is predicted from the model's window of daily bars ending
D-1 (the last 'window' bars strictly before D). D can be any day from the
first with a full window to the day after the last known close. Days the
store lacks are fetched from Yahoo unless --offline.

--horizon N forecasts D .. D+N-1 recursively: each day's forecast is
appended as a synthetic bar (open = high = low = close = the forecast,
volume = the last real volume) and the window ending with it forecasts the
next day. A model trained with a direct multi-output head (config horizon)
gives its days from one pass instead. Day 1 is exactly the plain forecast.

Every forecast gets quantiles (default p10, p50, p90), made by --interval:
  conformal   the forecast widened by the model's own errors on its
              training tail (days it was not fitted on), scaled by the
              volatility of the last 30 days; calibrated for 1..30 days
              ahead (the shipped model covers 77-80 % at 80 %).
  mc_dropout  quantiles of K Monte-Carlo dropout passes (dropout kept on;
              --samples, default 100; seeded by --seed); each pass is its
              own recursive path. The model's doubt about its weights only:
              far too narrow for the market's daily moves.
  ensemble    the quantiles of closecast evaluate's naive-baseline
              ensemble: the equal-weight level-by-level average of
              EWMA-t, GARCH(1,1)-t, the 250-day empirical and the
              EWMA-filtered empirical quantiles, fitted on every return
              up to the day before D (a year at least) and rescaled from
              its close; D+h-1 gets the h-day-ahead quantiles (h up to
              125). The forecast stays the model's. Its levels are 2.5, 5,
              10, 15, ..., 90, 95, 97.5 only.
  auto        conformal when the model is calibrated, else mc_dropout
              (the default); none prints no interval.
A quantile head (closecast train --config quantile) forecasts one day ahead
and prints its own quantiles (interval auto): --quantiles may pick any of
its levels, 2.5, 5, 10, 15, ..., 90, 95, 97.5; its forecast is the median.
A global model (closecast train --config global) forecasts each of its
markets with that market's scalers and calibration: --symbol picks one
(default: its first).
Check how often an interval covers the actual close with 'closecast
evaluate' before trusting it.`,
	run: runPredict,
}

// predictionJSON is predict's --json output (the API's /predict body).
type predictionJSON struct {
	server.PredictResponse
	// Forecasts holds every day of the horizon (day 1 repeats the fields
	// above), each with its quantiles; absent for a plain one-day forecast
	// without samples.
	Forecasts []forecastJSON `json:"forecasts,omitempty"`
	// Interval says how the quantiles were made; absent without them.
	Interval *server.Interval `json:"interval,omitempty"`
}

// forecastJSON is one day of a horizon: {"date", "prediction", "p10",
// "p50", "p90", "actual"}; one "p<level>" key per quantile level, in
// percent ("p2.5" for 2.5 %), and "actual" only when the close is known.
type forecastJSON struct {
	Date       closecast.Date
	Prediction float64
	Levels     []float64 // percent
	Quantiles  []float64
	Actual     *float64
}

// MarshalJSON writes the keys in a fixed order: date, prediction, the
// quantiles by ascending level, actual.
func (f forecastJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"date":"%s","prediction":%s`, f.Date, jsonFloat(f.Prediction))
	for k, q := range f.Quantiles {
		fmt.Fprintf(&b, `,"%s":%s`, quantileKey(f.Levels[k]), jsonFloat(q))
	}
	if f.Actual != nil {
		fmt.Fprintf(&b, `,"actual":%s`, jsonFloat(*f.Actual))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func jsonFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// quantileKey names a level given in percent: 10 → "p10", 2.5 → "p2.5".
func quantileKey(pct float64) string { return "p" + strconv.FormatFloat(pct, 'f', -1, 64) }

// quantilesFlag is --quantiles: levels in percent, comma-separated,
// strictly ascending, each strictly between 0 and 100.
type quantilesFlag []float64

func (q *quantilesFlag) String() string {
	parts := make([]string, len(*q))
	for k, v := range *q {
		parts[k] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (q *quantilesFlag) Set(s string) error {
	var levels []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || math.IsNaN(v) {
			return fmt.Errorf("quantile %q is not a number (want percents such as 10,50,90)", part)
		}
		levels = append(levels, v)
	}
	frac := make([]float64, len(levels))
	for k, v := range levels {
		frac[k] = v / 100
	}
	if err := pipeline.ValidateLevels(frac); err != nil {
		return fmt.Errorf("quantiles %s: want percents strictly between 0 and 100, strictly ascending (e.g. 10,50,90)", s)
	}
	*q = levels
	return nil
}

func runPredict(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	modelDir := modelFlag(fs)
	var data dataFlags
	data.register(fs, false)
	dbFlag(fs, e)
	var date dateFlag
	fs.Var(&date, "date", "`day` whose close to forecast (default: today, or with --offline or --csv the day after the last known close)")
	offline := fs.Bool("offline", false, "never fetch from Yahoo; use the store and the embedded data only")
	asJSON := fs.Bool("json", false, `print the forecast as JSON (the same body as POST /predict, plus "forecasts" and "interval")`)
	horizon := fs.Int("horizon", 1, "forecast this many consecutive `days` from the date on (recursive after the first, or the model's direct head)")
	interval := fs.String("interval", pipeline.IntervalAuto, "how quantiles are made: `auto`, conformal, mc_dropout, ensemble or none")
	samples := fs.Int("samples", 0, "Monte-Carlo dropout passes behind an mc_dropout interval (`K`; default 100; 0 = no interval)")
	seed := fs.Uint64("seed", pipeline.DefaultSeed, "dropout `seed` of the intervals: the same seed gives the same interval")
	levels := quantilesFlag{10, 50, 90}
	fs.Var(&levels, "quantiles", "interval quantile `levels` in percent, comma-separated and ascending")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *interval {
	case pipeline.IntervalAuto, pipeline.IntervalConformal, pipeline.IntervalMCDropout, closecast.IntervalEnsemble, "none":
	default:
		return fmt.Errorf("%w: --interval %q: want auto, conformal, mc_dropout, ensemble or none", errUsage, *interval)
	}
	opt := pipeline.HorizonOptions{Horizon: *horizon, Interval: *interval, Samples: *samples, Seed: *seed}
	switch {
	case *interval == "none" || isFlagSet(fs, "samples") && *samples == 0:
		opt.Interval, opt.Samples = "", 0
	case *samples > 0 && !isFlagSet(fs, "interval"):
		opt.Interval = pipeline.IntervalMCDropout
	}
	for _, v := range levels {
		opt.Levels = append(opt.Levels, v/100)
	}
	if err := opt.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if opt.Interval == closecast.IntervalEnsemble {
		if _, err := predict.EnsembleLevels(opt.Levels); err != nil {
			return fmt.Errorf("%w: --quantiles: %v", errUsage, err)
		}
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if !isFlagSet(fs, "symbol") {
		data.symbol = m.Meta.Symbol
	}
	if m, err = modelFor(m, data.symbol); err != nil {
		return err
	}
	src, closeFn, err := data.source(e, !*offline)
	if err != nil {
		return err
	}
	defer closeFn()
	svc := predict.New(m, src)
	d := date.d
	switch {
	case date.set:
	case !*offline && data.csv == "":
		d = closecast.Today() // the days up to yesterday are fetched if missing
	default:
		last, err := svc.LastKnown(ctx, data.symbol)
		if err != nil {
			return err
		}
		d = last + 1
	}
	var p closecast.Prediction
	var h closecast.Horizon
	if opt.Horizon > 1 || opt.Interval != "" {
		h, err = svc.PredictHorizon(ctx, data.symbol, d, opt)
		p = h.First
	} else {
		p, err = svc.Predict(ctx, data.symbol, d)
	}
	if errors.Is(err, closecast.ErrUnavailable) {
		return fmt.Errorf("%w\n(--offline forecasts from the stored and embedded data only)", err)
	}
	if err != nil {
		return err
	}
	out := predictionJSON{PredictResponse: server.NewPredictResponse(p)}
	for _, day := range h.Days {
		f := forecastJSON{Date: day.Date, Prediction: day.Value, Quantiles: day.Quantiles, Actual: day.Actual}
		if day.Quantiles != nil {
			f.Levels = levels
		}
		out.Forecasts = append(out.Forecasts, f)
	}
	out.Interval = server.NewInterval(h, levels)
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "%s close on %s: %.2f (%+.2f, %+.2f%% vs last close %.2f on %s)\n",
		p.Symbol, p.Date, p.Value, out.Change, out.ChangePct, p.LastClose, p.InputTo)
	fmt.Fprintf(e.stdout, "  model %s, input window %s .. %s (%d days)\n", p.Model, p.InputFrom, p.InputTo, m.Pipeline.Window)
	if p.Actual != nil {
		fmt.Fprintf(e.stdout, "  actual close: %.2f (error %+.2f, %.2f%%)\n", *p.Actual, p.Value-*p.Actual, 100*abs(p.Value-*p.Actual) / *p.Actual)
	}
	if len(out.Forecasts) > 0 {
		printForecasts(e.stdout, out.Forecasts, levels, h)
	}
	return nil
}

// printForecasts prints the horizon as a table: date, forecast, one column
// per quantile, and the actual close where known.
func printForecasts(w io.Writer, fs []forecastJSON, levels []float64, h closecast.Horizon) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\tdate\tforecast\t")
	if h.Interval != "" {
		for _, l := range levels {
			fmt.Fprintf(tw, "%s\t", quantileKey(l))
		}
	}
	fmt.Fprint(tw, "actual\t\n")
	for _, f := range fs {
		fmt.Fprintf(tw, "\t%s\t%.2f\t", f.Date, f.Prediction)
		for _, q := range f.Quantiles {
			fmt.Fprintf(tw, "%.2f\t", q)
		}
		if f.Actual != nil {
			fmt.Fprintf(tw, "%.2f\t\n", *f.Actual)
		} else {
			fmt.Fprint(tw, "-\t\n")
		}
	}
	fmt.Fprintln(w)
	tw.Flush()
	switch h.Interval {
	case pipeline.IntervalMCDropout:
		fmt.Fprintf(w, "  quantiles of %d Monte-Carlo dropout paths (seed %d)", h.Samples, h.Seed)
	case pipeline.IntervalQuantileHead:
		fmt.Fprint(w, "  the quantile head's own quantiles (pinball-trained, EWMA-volatility scaled)")
	case closecast.IntervalEnsemble:
		fmt.Fprintf(w, "  quantiles of the naive-baseline ensemble (EWMA-t, GARCH(1,1)-t, empirical and filtered 250 days), fitted on the returns up to %s", h.First.InputTo)
	case pipeline.IntervalConformal:
		c := h.Calibration
		fmt.Fprintf(w, "  conformal quantiles, calibrated on %d days (%s .. %s) the model was not fitted on", len(c.Scores[0]), c.From, c.To)
	default:
		fmt.Fprint(w, "  no interval (--interval none, or a model without calibration or dropout)")
	}
	if len(fs) > 1 {
		how := "recursive forecasts"
		if h.Direct {
			how = "from the model's direct head"
		}
		fmt.Fprintf(w, "; days after the first are %s", how)
	}
	fmt.Fprintln(w)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
