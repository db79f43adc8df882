package train

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
)

// PrepareGlobal builds the datasets of a global config, one per market in
// cfg.Symbols order: each is exactly Prepare of the market's per-symbol
// config (config.ForSymbol) on its own series, so its windows, its split
// and its scalers (fitted on its own training windows, never another
// market's bars) are those a per-symbol model of the same recipe has.
// series maps every market to its bars.
func PrepareGlobal(cfg config.Config, series map[string]closecast.Series) ([]*Dataset, error) {
	ss, err := marketSeries(cfg, series)
	if err != nil {
		return nil, err
	}
	out := make([]*Dataset, len(ss))
	for k, sym := range cfg.Symbols {
		ds, err := Prepare(cfg.ForSymbol(sym), ss[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sym, err)
		}
		out[k] = ds
	}
	return out, nil
}

// marketSeries returns the bars of every market of a global config, in
// cfg.Symbols order, from series.
func marketSeries(cfg config.Config, series map[string]closecast.Series) ([]closecast.Series, error) {
	if !cfg.Global() {
		return nil, fmt.Errorf("train: config %s names one market (%s), not symbols", cfg.Name, cfg.Symbol)
	}
	out := make([]closecast.Series, len(cfg.Symbols))
	for k, sym := range cfg.Symbols {
		s, ok := series[sym]
		if !ok || len(s.Bars) == 0 {
			return nil, fmt.Errorf("train: no bars of %s, one of the global config's markets (%s)", sym, strings.Join(cfg.Symbols, ", "))
		}
		if s.Symbol != "" && s.Symbol != sym {
			return nil, fmt.Errorf("train: the bars given for %s are %s's", sym, s.Symbol)
		}
		out[k] = s
	}
	return out, nil
}

// pool concatenates parts, market after market: the trainer shuffles the
// pooled windows every epoch (config shuffle), so one batch mixes markets.
func pool(parts []part) part {
	var out part
	for _, p := range parts {
		out.x = append(out.x, p.x...)
		out.y = append(out.y, p.y...)
		out.n += p.n
	}
	return out
}

// RunGlobal trains a global config: one network fitted on the pooled
// training windows of every market (each scaled by its own scalers, see
// PrepareGlobal), early stopping watching the pooled tails (every market's
// held-back tail), then scored market by market exactly as Run scores a
// per-symbol model (its tuning tail, which calibrates its conformal
// intervals, its hold-out and the validation window), so each market's
// scores compare day by day with its per-symbol model's. The artifact's
// top level is the first market's, and Meta.Markets lists all (see
// package artifact). Same seed, data and threads → same weights.
//
// series maps every market to its bars, covering the validation window
// and the history before it as Run's series does.
func RunGlobal(ctx context.Context, cfg config.Config, series map[string]closecast.Series, opt Options) (*Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if cfg.Target == config.TargetLogReturnEWMAZ {
		return runGlobalQuantileHead(ctx, cfg, series, opt)
	}
	if cfg.EarlyStopping.Monitor != config.MonitorTail {
		return nil, fmt.Errorf("train: config %s: a global model stops early on its markets' training tails (early_stopping.monitor %q), not %q",
			cfg.Name, config.MonitorTail, cfg.EarlyStopping.Monitor)
	}
	sets, err := PrepareGlobal(cfg, series)
	if err != nil {
		return nil, err
	}
	net, trainer, tc, err := Build(cfg)
	if err != nil {
		return nil, err
	}
	fits, tails := make([]part, len(sets)), make([]part, len(sets))
	for k, ds := range sets {
		fit := ds.Train - ds.Tail
		fits[k].x, fits[k].y, fits[k].n = ds.Part(0, fit)
		tails[k].x, tails[k].y, tails[k].n = ds.Part(fit, ds.Train)
		if fits[k].n < 1 || tails[k].n < 1 {
			return nil, fmt.Errorf("train: %s: a %d-day horizon leaves %d training and %d validation windows", cfg.Symbols[k], cfg.Horizon, fits[k].n, tails[k].n)
		}
	}
	fitPart, valPart := pool(fits), pool(tails)
	f, err := fitEpochs(ctx, cfg, net, trainer, fitPart, valPart, opt.Progress)
	if err != nil {
		return nil, err
	}
	models := make([]*artifact.Model, len(sets))
	windows := make([]int, len(sets))
	for k, ds := range sets {
		sym := cfg.Symbols[k]
		ds.Pipeline.Net = f.net
		models[k] = newModel(cfg.ForSymbol(sym), ds, tc, f, fitPart.n, opt)
		if err := score(models[k], cfg.ForSymbol(sym), ds, series[sym].Bars); err != nil {
			return nil, fmt.Errorf("%s: %w", sym, err)
		}
		windows[k] = fits[k].n
	}
	return &Result{Model: assemble(cfg, models, windows), Interrupted: f.interrupted}, nil
}

// runGlobalQuantileHead trains a global quantile head (config/shipped/
// quantile.yaml's recipe on several markets): each market's windows,
// input scaler and EWMA-standardised targets exactly as TrainQuantileHead
// builds them, pooled into one network, early stopping on the pooled
// tails, then each market scored as runQuantileHead scores a per-symbol head.
func runGlobalQuantileHead(ctx context.Context, cfg config.Config, series map[string]closecast.Series, opt Options) (*Result, error) {
	ss, err := marketSeries(cfg, series)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	ws := make([]*quantileWindows, len(ss))
	for k, sym := range cfg.Symbols {
		if ws[k], err = quantileHeadWindows(cfg.ForSymbol(sym), ss[k]); err != nil {
			return nil, fmt.Errorf("%s: %w", sym, err)
		}
	}
	fits, err := fitQuantileHead(ctx, cfg, ws)
	if err != nil {
		return nil, err
	}
	seconds := time.Since(t0).Seconds()
	models := make([]*artifact.Model, len(fits))
	windows := make([]int, len(fits))
	for k, fit := range fits {
		if models[k], err = quantileModel(cfg.ForSymbol(cfg.Symbols[k]), ss[k], fit, seconds, opt); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Symbols[k], err)
		}
		windows[k] = fit.Train - fit.Tail
	}
	return &Result{Model: assemble(cfg, models, windows)}, nil
}

// assemble makes the per-market models of one global network (each
// trained on windows[k] of its own windows) one artifact: the first
// market's at the top level, every market in Meta.Markets, the pooled
// window counts in Meta.Training.
func assemble(cfg config.Config, models []*artifact.Model, windows []int) *artifact.Model {
	first := models[0]
	fit, tail := 0, 0
	for k, m := range models {
		md, p := m.Meta, m.Pipeline
		first.Meta.Markets = append(first.Meta.Markets, artifact.Market{
			Symbol: md.Symbol, Scaler: scalerOf(p.Inputs.Min, p.Inputs.Max),
			TargetScaler: scalerOf(p.Output.Min, p.Output.Max), Calibration: p.Calibration,
			TrainRange: md.TrainRange, DataRange: md.DataRange, DataSHA256: md.DataSHA256,
			Windows: windows[k], TailWindows: md.Training.TailWindows, Metrics: md.Metrics, Predictions: md.Predictions,
		})
		fit, tail = fit+windows[k], tail+md.Training.TailWindows
	}
	first.Meta.Config = cfg
	first.Meta.Training.Windows, first.Meta.Training.TailWindows = fit, tail
	return first
}

// scalerOf is a scaler's parameters as model.json stores them (copies, so
// the artifact does not alias the pipeline).
func scalerOf(lo, hi []float64) artifact.Scaler {
	return artifact.Scaler{Min: slices.Clone(lo), Max: slices.Clone(hi)}
}
