package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/backtest"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/evaluate"
)

var backtestCmd = &command{
	name:    "backtest",
	summary: "Walk-forward backtest: retrain a config every K days, forecast one step ahead in between",
	usage:   "--config FILE|NAME --from D --to D --retrain-every K [--threads N] [--plot FILE.svg|png] [--csv FILE] [--json] [--quiet] [--shard I/N --results DIR | --collect --results DIR]",
	example: `  closecast backtest --config default --from 2025-05-01 --to 2025-07-31 --retrain-every 30
  closecast backtest --config my.yaml --from 2025-01-01 --to 2025-03-31 --retrain-every 7 --plot bt.svg
  closecast backtest --config default --from 2025-05-01 --to 2025-05-31 --retrain-every 10 --json

Fold k retrains the config on its data.from up to the day before the fold's
first day (the config's split and early stopping apply inside that range; its
validation window is not used), then forecasts each of the next K days one
step ahead from the real closes before it. Every metric (MAE, RMSE, MAPE,
sMAPE, MASE, direction) is reported over all forecast days and per fold,
beside persistence and the 7-day moving average on the same days.

Folds train in parallel, --threads at a time, each on one thread: the result
is the same for any --threads (the config's own threads setting is ignored).

Distributions (issue 15): every forecast day is also forecast as 21
quantiles by each fold's model (its conformal quantiles, or a quantile
head's own), the model adapted by ACI and FACI, the walk-forward baselines
(` + strings.Join(evaluate.BaselineNames(), ", ") + `),
` + evaluate.NameGARCHACI + `, ` + evaluate.NameEnsemble + ` (the equal-weight quantile average of
` + strings.Join(evaluate.EnsembleParts, ", ") + `) and ` + evaluate.NameEnsembleACI + `, and scored
overall and per fold, each model against each baseline ('closecast evaluate
--help' lists the scores). --json carries them under "distribution":
{"overall": report, "folds": [report, …], "fold_errors": […]}, a report as
evaluate's (below), or why they are missing under "distribution_error".

A global config (config/shipped/global.yaml: one network for several
markets) is backtested on its first market's folds: fold k retrains the
global model on every market's bars before its first day, then scores each
market's days with that market's scalers and calibration exactly as a
per-symbol backtest does. One report is printed per market, in the config's
order; --json prints {"markets": [report, …]}, each report as above with a
"symbol"; --plot FILE.svg draws FILE-<symbol>.svg per market; --csv is
refused (each market is read from the store and the embedded data).
  closecast backtest --config global --from 2025-05-01 --to 2026-03-31 --retrain-every 30

As an array job: each fold is a task (of a global config: every market's). Shard I of N trains folds I, I+N, …
and writes each to --results (a directory all shards share); --collect then
prints (and plots) exactly what one process would have.
  closecast backtest --config default --from 2025-01-01 --to 2025-06-30 --retrain-every 10 --shard 0/3 --results /shared/bt
  closecast backtest --config default --from 2025-01-01 --to 2025-06-30 --retrain-every 10 --collect --results /shared/bt --json

` + evaluate.JSONHelp,
	run: runBacktest,
}

func runBacktest(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	cfgPath := fs.String("config", "", "training config: a YAML `file`, or the name of an embedded one ("+joinNames()+")")
	var from, to dateFlag
	fs.Var(&from, "from", "first forecast `day` (YYYY-MM-DD)")
	fs.Var(&to, "to", "last forecast `day` (YYYY-MM-DD), inclusive")
	every := fs.Int("retrain-every", 0, "retrain every `K` days (bars): the length of each fold")
	threads := fs.Int("threads", runtime.NumCPU(), "folds trained at once, one thread each (does not change the result)")
	plot := fs.String("plot", "", "draw predicted vs actual (and persistence) to this `file` (.svg or .png; a global config draws FILE-<symbol> per market)")
	csv := fs.String("csv", "", "read bars from this CSV `file` (Date,Open,High,Low,Close,Volume) instead of the embedded data and store")
	asJSON := fs.Bool("json", false, `print one JSON object: {"n","from","to","model","persistence","ma7","retrain_every","config","folds":[…],"days":[…]} (MAPE in percent); a global config's is {"markets":[…]}, one per market`)
	quiet := fs.Bool("quiet", false, "no per-fold progress lines on stderr")
	sf := addShardFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *cfgPath == "":
		return fmt.Errorf("%w: --config is required", errUsage)
	case !from.set || !to.set:
		return fmt.Errorf("%w: --from and --to are required", errUsage)
	case to.d < from.d:
		return fmt.Errorf("%w: --to %s is before --from %s", errUsage, to.d, from.d)
	case *every < 1:
		return fmt.Errorf("%w: --retrain-every is required and must be ≥ 1", errUsage)
	case *threads < 1:
		return fmt.Errorf("%w: --threads must be ≥ 1", errUsage)
	}
	cfg, err := shipped.Load(*cfgPath)
	if err != nil {
		return err
	}
	var progress io.Writer
	if !*quiet {
		progress = e.stderr
	}
	opt := backtest.Options{From: from.d, To: to.d, RetrainEvery: *every, Workers: *threads, Progress: progress}
	if cfg.Global() {
		if *csv != "" {
			return fmt.Errorf("%w: config %s is a global model of %s: it reads each market from the store and embedded data (no --csv)", errUsage, cfg.Name, strings.Join(cfg.Symbols, ", "))
		}
		return backtestGlobal(ctx, e, sf, cfg, opt, *plot, *asJSON)
	}
	series, err := (&dataFlags{symbol: cfg.Symbol, csv: *csv}).load(ctx, e, false)
	if err != nil {
		return err
	}
	if last, _ := series.Last(); last < to.d {
		return fmt.Errorf("--to %s is after the last known close of %s (%s): run 'closecast fetch' first", to.d, cfg.Symbol, last)
	}
	r, err := backtestShard(ctx, e, sf, cfg, series, opt)
	if err != nil || r == nil {
		return err
	}
	backtestDistribution(r, series)
	if *plot != "" {
		if err := r.Plot(*plot, cfg.Symbol); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeIndentedJSON(e.stdout, r)
	}
	return printBacktest(e.stdout, cfg.Name, cfg.Symbol, r, *plot)
}

// printBacktest prints r, config name's backtest of symbol, as text.
func printBacktest(w io.Writer, name, symbol string, r *backtest.Result, plot string) error {
	fmt.Fprintf(w, "%s on %s\n", name, symbol)
	r.WriteText(w)
	if err := printBacktestDistribution(w, r); err != nil {
		return err
	}
	if plot != "" {
		fmt.Fprintf(w, "chart: %s\n", plot)
	}
	return nil
}

// writeIndentedJSON writes v as backtest's --json does.
func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// backtestGlobal backtests a global config (backtest.RunGlobal, sharded
// as sf says) and prints one report per market: as text, one after the
// other; as JSON, {"markets": [result, …]}; --plot FILE draws FILE-<symbol>
// for each market.
func backtestGlobal(ctx context.Context, e *env, sf *shardFlags, cfg config.Config, opt backtest.Options, plot string, asJSON bool) error {
	series := map[string]closecast.Series{}
	for _, sym := range cfg.Symbols {
		s, err := (&dataFlags{symbol: sym}).load(ctx, e, false)
		if err != nil {
			return err
		}
		if last, _ := s.Last(); last < opt.To {
			return fmt.Errorf("--to %s is after the last known close of %s (%s): run 'closecast fetch' first", opt.To, sym, last)
		}
		series[sym] = s
	}
	rs, err := backtestShardGlobal(ctx, e, sf, cfg, series, opt)
	if err != nil || rs == nil {
		return err
	}
	plots := make([]string, len(rs))
	for m, r := range rs {
		backtestDistribution(r, series[r.Symbol])
		if plot != "" {
			plots[m] = marketPlot(plot, r.Symbol)
			if err := r.Plot(plots[m], r.Symbol); err != nil {
				return err
			}
		}
	}
	if asJSON {
		return writeIndentedJSON(e.stdout, struct {
			Markets []*backtest.Result `json:"markets"`
		}{rs})
	}
	for m, r := range rs {
		if m > 0 {
			fmt.Fprintln(e.stdout)
		}
		if err := printBacktest(e.stdout, cfg.Name, r.Symbol, r, plots[m]); err != nil {
			return err
		}
	}
	return nil
}

// marketPlot is the chart file of one market of a global backtest:
// bt.svg → bt-eth-usd.svg.
func marketPlot(plot, symbol string) string {
	ext := filepath.Ext(plot)
	return strings.TrimSuffix(plot, ext) + "-" + strings.ToLower(symbol) + ext
}
