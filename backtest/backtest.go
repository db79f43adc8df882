// Package backtest answers "how would this config have done if it had been
// retrained as time went by": a walk-forward backtest on an expanding
// window, and the champion/challenger duel of `closecast retrain`.
//
// Folds. The forecast days are the bars dated From..To, in order; fold k
// holds bars k·K .. k·K+K−1 of them (K = RetrainEvery; the last fold may be
// shorter). For BTC-USD and other crypto a bar is a calendar day; for a
// market with weekends and holidays K counts trading days, so every fold has
// days to forecast. Fold k's model is trained, with the config's own split,
// early stopping and scaler fit, on the config's data.from up to the day
// before the fold's first forecast day (data.to is moved there; the
// config's validation window is dropped, since it may lie in the future of
// the fold). Training is handed only the bars before that day, so nothing
// later can leak into weights, scalers or early stopping. Every day of the
// fold is then forecast one step ahead from the real closes before it
// (evaluate.OneStep), beside persistence and the 7-day moving average, and,
// when the fold's model is calibrated (a config that holds back a tail),
// given its conformal 80 % interval: the backtest's coverage is then an
// out-of-sample check of intervals recalibrated as time goes by.
//
// Concurrency. Folds are independent: Workers of them train at once, each on
// one thread, and results are stored by fold index. Training is
// bit-identical for the same seed, data and thread count, so a backtest's
// result does not depend on Workers or on scheduling.
package backtest

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/metrics"
	"github.com/closecast/closecast/pipeline"
	"github.com/closecast/closecast/train"
)

// Options configure a backtest.
type Options struct {
	// From and To bound the forecast days, inclusive.
	From, To closecast.Date
	// RetrainEvery is K: the number of forecast days (bars) per fold, ≥ 1.
	RetrainEvery int
	// Workers is how many folds train at once; 0 means runtime.NumCPU().
	// It changes the wall time only, never the result.
	Workers int
	// Progress receives one line per trained fold; nil is silent. Lines
	// arrive in completion order, which may differ from fold order.
	Progress io.Writer
}

// Day is one forecast day: the actual close, the model's forecast, both
// baselines' forecasts and, for a calibrated fold model, its conformal
// 80 % interval P10..P90 (both 0, and absent in JSON, without one).
type Day struct {
	Date        closecast.Date `json:"date"`
	Fold        int            `json:"fold"`
	Actual      float64        `json:"actual"`
	Predicted   float64        `json:"predicted"`
	Persistence float64        `json:"persistence"`
	MA7         float64        `json:"ma7"`
	P10         float64        `json:"p10,omitempty"`
	P90         float64        `json:"p90,omitempty"`
}

// Fold is one retraining point and the days its model forecast.
type Fold struct {
	Index int `json:"index"`
	// Train is the data range the fold's model was trained on: the
	// config's data.from .. the day before From. TrainedTo is the date of
	// the last bar the training actually received.
	Train     config.Range   `json:"train"`
	TrainedTo closecast.Date `json:"trained_to"`
	// Training is the fold model's training record (epochs, early stopping).
	Training artifact.Training `json:"training"`
	// Evaluation covers the fold's forecast days: N, From, To and the
	// model's and baselines' metrics on them.
	artifact.Evaluation
	// Coverage is the percentage of the fold's days whose actual close lay
	// in the conformal 80 % interval; nil for an uncalibrated model.
	Coverage *float64 `json:"coverage,omitempty"`
	// Pipeline is the fold's trained model, handed back for scores that
	// need its forecasts (ScoreDistribution); not part of the JSON.
	Pipeline *pipeline.Pipeline `json:"-"`
}

// Result is a backtest. Its embedded Evaluation scores every forecast day
// of every fold together (N, From, To, model, persistence, ma7), so the JSON
// form is {"n","from","to","model","persistence","ma7","retrain_every",
// "config","folds":[…],"days":[…]}.
type Result struct {
	artifact.Evaluation
	RetrainEvery int    `json:"retrain_every"`
	Config       string `json:"config"`
	// Symbol is the market scored, for one market of a global config's
	// backtest (RunGlobal); empty for a per-symbol config's.
	Symbol string `json:"symbol,omitempty"`
	// Coverage is the percentage of all forecast days whose actual close
	// lay in their fold model's conformal 80 % interval; nil when the
	// folds' models are not calibrated.
	Coverage *float64 `json:"coverage,omitempty"`
	Folds    []Fold   `json:"folds"`
	Days     []Day    `json:"days"`
	// Distribution is issue 15's comparison of the fold models'
	// distributions with the baselines, once ScoreDistribution ran.
	Distribution *Distribution `json:"distribution,omitempty"`
	// DistributionError says why Distribution is missing.
	DistributionError string `json:"distribution_error,omitempty"`
}

// Plan returns the folds' first and last forecast day for the bars of
// series dated from..to, K bars per fold. It is what Run trains on; a
// caller may use it to show or check the schedule before training.
func Plan(series closecast.Series, from, to closecast.Date, k int) ([]config.Range, error) {
	if k < 1 {
		return nil, fmt.Errorf("backtest: retrain every %d days: must be ≥ 1", k)
	}
	if to < from {
		return nil, fmt.Errorf("backtest: to %s is before from %s", to, from)
	}
	days := series.Between(from, to).Bars
	if len(days) == 0 {
		return nil, fmt.Errorf("backtest: no bars of %s between %s and %s", series.Symbol, from, to)
	}
	var folds []config.Range
	for i := 0; i < len(days); i += k {
		j := min(i+k, len(days)) - 1
		folds = append(folds, config.Range{From: days[i].Date, To: days[j].Date})
	}
	return folds, nil
}

// FoldConfig returns cfg as fold training uses it for a fold whose first
// forecast day is first: data.to is the day before, no validation window,
// one training thread.
func FoldConfig(cfg config.Config, first closecast.Date) config.Config {
	cfg.Data.To = first - 1
	cfg.Validation = config.Validation{}
	cfg.Threads = 1
	return cfg
}

// Run backtests cfg on series (which must hold the config's data.from, the
// warm-up before it, and every bar up to opt.To). The context cancels
// training between batches; the first failing fold cancels the others and
// its error is returned.
func Run(ctx context.Context, cfg config.Config, series closecast.Series, opt Options) (*Result, error) {
	plan, err := checkedPlan(cfg, series, opt)
	if err != nil {
		return nil, err
	}
	folds, days, err := runFolds(ctx, opt, plan, nil, nil, symbolFolds(cfg, series))
	if err != nil {
		return nil, err
	}
	return assemble(cfg, series, opt.RetrainEvery, folds[0], days[0])
}

// foldRunner trains fold k, forecasting span, and returns its Fold and
// Days in each market the backtest scores (one for a per-symbol config).
type foldRunner func(ctx context.Context, k int, span config.Range) ([]Fold, [][]Day, error)

// symbolFolds is a per-symbol config's foldRunner.
func symbolFolds(cfg config.Config, series closecast.Series) foldRunner {
	return func(ctx context.Context, k int, span config.Range) ([]Fold, [][]Day, error) {
		fc := FoldConfig(cfg, span.From)
		m, err := trainFold(ctx, fc, series, span.From)
		if err != nil {
			return nil, nil, err
		}
		f, days, err := forecastFold(k, span, fc, m, series)
		if err != nil {
			return nil, nil, err
		}
		return []Fold{f}, [][]Day{days}, nil
	}
}

// checkedPlan is Plan for opt, refused when its first fold has nothing to
// train on.
func checkedPlan(cfg config.Config, series closecast.Series, opt Options) ([]config.Range, error) {
	plan, err := Plan(series, opt.From, opt.To, opt.RetrainEvery)
	if err != nil {
		return nil, err
	}
	if plan[0].From <= cfg.Data.From {
		return nil, fmt.Errorf("backtest: first forecast day %s is not after the config's data.from %s: nothing to train on", plan[0].From, cfg.Data.From)
	}
	return plan, nil
}

// runFolds trains and forecasts the folds of plan for which keep holds
// (every fold when keep is nil) with run, opt.Workers at a time; the
// others are left zero. Its results are indexed [market][fold], symbols
// naming the markets of a global backtest in progress lines (nil for a
// per-symbol one).
func runFolds(ctx context.Context, opt Options, plan []config.Range, keep func(k int) bool, symbols []string, run foldRunner) ([][]Fold, [][][]Day, error) {
	var todo []int
	for k := range plan {
		if keep == nil || keep(k) {
			todo = append(todo, k)
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = max(1, min(workers, len(todo)))

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	markets := max(1, len(symbols))
	folds := make([][]Fold, markets)
	days := make([][][]Day, markets)
	for m := range markets {
		folds[m], days[m] = make([]Fold, len(plan)), make([][]Day, len(plan))
	}
	var progressMu sync.Mutex
	done := 0 // folds finished, under progressMu
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				t0 := time.Now()
				fs, ds, err := run(ctx, k, plan[k])
				if err != nil {
					cancel(fmt.Errorf("fold %d (%s..%s): %w", k, plan[k].From, plan[k].To, err))
					continue
				}
				for m := range fs {
					folds[m][k], days[m][k] = fs[m], ds[m]
				}
				if opt.Progress != nil {
					f := fs[0]
					scores := fmt.Sprintf("MAPE %.3f%% (persistence %.3f%%)", f.Model.MAPE, f.Persistence.MAPE)
					if symbols != nil {
						scores = ""
						for m, f := range fs {
							scores += fmt.Sprintf("; %s MAPE %.3f%% (persistence %.3f%%)", symbols[m], f.Model.MAPE, f.Persistence.MAPE)
						}
						scores = scores[2:]
					}
					progressMu.Lock()
					done++
					fmt.Fprintf(opt.Progress, "fold %d (%d/%d done): trained on %s..%s (%d epochs, %s) in %.1fs; %s..%s %s\n",
						k, done, len(todo), f.Train.From, f.TrainedTo, f.Training.EpochsTrained, f.Training.Stopped,
						time.Since(t0).Seconds(), f.From, f.To, scores)
					progressMu.Unlock()
				}
			}
		}()
	}
feed:
	for _, k := range todo {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	// The first failing fold cancelled the rest with its error as the
	// cause (their own errors are consequences); else the caller may have
	// cancelled.
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	return folds, days, nil
}

// forecastFold forecasts the days of fold k (span) of series with m, the
// fold's model trained with fc on the bars before its first day, and their
// conformal intervals when the model is calibrated.
func forecastFold(k int, span config.Range, fc config.Config, m *artifact.Model, series closecast.Series) (Fold, []Day, error) {
	p := m.Pipeline
	ev, pts, err := evaluate.OneStep(p, series.Bars, span.From, span.To)
	if err != nil {
		return Fold{}, nil, err
	}
	// Evaluate skips days without enough history before them; a backtest
	// must forecast every day it planned, or say why not.
	if want := series.Between(span.From, span.To).Len(); ev.N != want {
		return Fold{}, nil, fmt.Errorf("only %d of its %d days have the %d bars of history a forecast reads", ev.N, want, p.History())
	}
	f := Fold{
		Index:      k,
		Train:      fc.Data,
		TrainedTo:  m.Meta.DataRange.To,
		Training:   m.Meta.Training,
		Evaluation: ev,
		Pipeline:   p,
	}
	days := make([]Day, len(pts))
	inside := 0
	for j, pt := range pts {
		days[j] = Day{Date: pt.Date, Fold: k, Actual: pt.Actual, Predicted: pt.Predicted}
		if p.Calibration == nil {
			continue
		}
		i := series.Index(pt.Date)
		o, err := p.Forecast(series.Bars, i, pt.Date, pipeline.HorizonOptions{Horizon: 1, Interval: pipeline.IntervalConformal, Levels: []float64{0.1, 0.9}})
		if err != nil {
			return Fold{}, nil, fmt.Errorf("interval of %s: %w", pt.Date, err)
		}
		q := o.Days[0].Quantiles
		days[j].P10, days[j].P90 = q[0], q[1]
		if pt.Actual >= q[0] && pt.Actual <= q[1] {
			inside++
		}
	}
	if p.Calibration != nil {
		f.Coverage = percent(inside, len(days))
	}
	return f, days, nil
}

// percent returns 100·k/n.
func percent(k, n int) *float64 {
	v := 100 * float64(k) / float64(n)
	return &v
}

// assemble joins the folds' forecasts in fold order and scores them all.
func assemble(cfg config.Config, series closecast.Series, k int, folds []Fold, foldDays [][]Day) (*Result, error) {
	closes := series.Closes()
	var idx []int
	var days []Day
	banded, inside := 0, 0
	for _, fd := range foldDays {
		for _, d := range fd {
			i := series.Index(d.Date)
			if i < 0 {
				return nil, fmt.Errorf("backtest: forecast day %s is not a bar of the series", d.Date)
			}
			idx = append(idx, i)
			days = append(days, d)
			if d.P90 > 0 {
				banded++
				if d.Actual >= d.P10 && d.Actual <= d.P90 {
					inside++
				}
			}
		}
	}
	persistence, err := metrics.Persistence(closes, idx)
	if err != nil {
		return nil, err
	}
	ma7, err := metrics.MovingAverage(closes, idx, 7)
	if err != nil {
		return nil, err
	}
	actual, pred := make([]float64, len(days)), make([]float64, len(days))
	for j := range days {
		days[j].Persistence, days[j].MA7 = persistence[j], ma7[j]
		actual[j], pred[j] = days[j].Actual, days[j].Predicted
	}
	r := &Result{
		Evaluation: artifact.Evaluation{
			N: len(days), From: days[0].Date, To: days[len(days)-1].Date,
			Model:       metrics.Compute(actual, pred, persistence),
			Persistence: metrics.Compute(actual, persistence, persistence),
			MA7:         metrics.Compute(actual, ma7, persistence),
		},
		RetrainEvery: k,
		Config:       cfg.Name,
		Folds:        folds,
		Days:         days,
	}
	r.VersusPersistence = evaluate.Versus(actual, pred, persistence)
	if banded == len(days) {
		r.Coverage = percent(inside, banded)
	}
	return r, nil
}

// trainFold trains fc (a FoldConfig) on the bars of series dated before
// first, and only on those: later bars are cut off before training sees
// the series, so no scaler, window or early-stopping check can read them.
func trainFold(ctx context.Context, fc config.Config, series closecast.Series, first closecast.Date) (*artifact.Model, error) {
	past := closecast.Series{Symbol: series.Symbol, Bars: series.Bars[:series.Search(first)]}
	res, err := train.Run(ctx, fc, past, train.Options{})
	if err != nil {
		return nil, err
	}
	if res.Interrupted {
		return nil, context.Cause(ctx)
	}
	return res.Model, nil
}
