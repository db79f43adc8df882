package backtest

import (
	"context"
	"fmt"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/train"
)

// A global config's backtest (RunGlobal) has the folds of its first
// market's bars From..To (markets that trade every day, as BTC-USD and
// ETH-USD, share them). Fold k retrains the global model, as
// train.RunGlobal does, on every market's bars before the fold's first day
// (FoldConfig of the global config), then scores each market's days of the
// fold with that market's view of the model (artifact.Model.For: its own
// scalers and calibration) exactly as a per-symbol backtest scores its
// fold: one Result per market, in the config's order, each comparable day
// by day with a per-symbol backtest of that market.

// GlobalPart is one fold of a global backtest on its own: each market's
// Part, in the config's order. It is a sharded global backtest's task.
type GlobalPart struct {
	Fold    int    `json:"fold"`
	Markets []Part `json:"markets"`
}

// globalPlan is checkedPlan of a global config: on its first market's bars,
// every market's bars given.
func globalPlan(cfg config.Config, series map[string]closecast.Series, opt Options) ([]config.Range, error) {
	if !cfg.Global() {
		return nil, fmt.Errorf("backtest: config %s names one market (%s), not symbols", cfg.Name, cfg.Symbol)
	}
	for _, sym := range cfg.Symbols {
		if len(series[sym].Bars) == 0 {
			return nil, fmt.Errorf("backtest: no bars of %s, one of the global config's markets", sym)
		}
	}
	return checkedPlan(cfg, series[cfg.Symbols[0]], opt)
}

// globalFolds is a global config's foldRunner.
func globalFolds(cfg config.Config, series map[string]closecast.Series) foldRunner {
	return func(ctx context.Context, k int, span config.Range) ([]Fold, [][]Day, error) {
		fc := FoldConfig(cfg, span.From)
		past := map[string]closecast.Series{}
		for _, sym := range cfg.Symbols {
			s := series[sym]
			past[sym] = closecast.Series{Symbol: s.Symbol, Bars: s.Bars[:s.Search(span.From)]}
		}
		res, err := train.RunGlobal(ctx, fc, past, train.Options{})
		if err != nil {
			return nil, nil, err
		}
		if res.Interrupted {
			return nil, nil, context.Cause(ctx)
		}
		// For builds each market's pipeline from the metadata, which
		// training leaves to the encoder to fill (as train's artifact.Write
		// does before its views): encode once, weights untouched.
		if _, err := artifact.Encode(res.Model); err != nil {
			return nil, nil, err
		}
		folds, days := make([]Fold, len(cfg.Symbols)), make([][]Day, len(cfg.Symbols))
		for m, sym := range cfg.Symbols {
			view, err := res.Model.For(sym)
			if err != nil {
				return nil, nil, err
			}
			if folds[m], days[m], err = forecastFold(k, span, fc.ForSymbol(sym), view, series[sym]); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", sym, err)
			}
		}
		return folds, days, nil
	}
}

// RunGlobal backtests a global config: one Result per market of
// cfg.Symbols, in order. series maps each market to its bars, as Run's
// series.
func RunGlobal(ctx context.Context, cfg config.Config, series map[string]closecast.Series, opt Options) ([]*Result, error) {
	plan, err := globalPlan(cfg, series, opt)
	if err != nil {
		return nil, err
	}
	folds, days, err := runFolds(ctx, opt, plan, nil, cfg.Symbols, globalFolds(cfg, series))
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(cfg.Symbols))
	for m, sym := range cfg.Symbols {
		if out[m], err = assemble(cfg, series[sym], opt.RetrainEvery, folds[m], days[m]); err != nil {
			return nil, fmt.Errorf("%s: %w", sym, err)
		}
		out[m].Symbol = sym
	}
	return out, nil
}

// FoldsGlobal is Folds for a global config.
func FoldsGlobal(cfg config.Config, series map[string]closecast.Series, opt Options) (int, error) {
	plan, err := globalPlan(cfg, series, opt)
	return len(plan), err
}

// RunPartGlobal is RunPart for a global config: the folds k for which
// keep(k) holds, each with every market's Part.
func RunPartGlobal(ctx context.Context, cfg config.Config, series map[string]closecast.Series, opt Options, keep func(k int) bool) ([]GlobalPart, error) {
	plan, err := globalPlan(cfg, series, opt)
	if err != nil {
		return nil, err
	}
	folds, days, err := runFolds(ctx, opt, plan, keep, cfg.Symbols, globalFolds(cfg, series))
	if err != nil {
		return nil, err
	}
	var parts []GlobalPart
	for k := range plan {
		if !keep(k) {
			continue
		}
		gp := GlobalPart{Fold: k}
		for m, sym := range cfg.Symbols {
			p, err := partOf(cfg.ForSymbol(sym), sym, folds[m][k], days[m][k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sym, err)
			}
			gp.Markets = append(gp.Markets, p)
		}
		parts = append(parts, gp)
	}
	return parts, nil
}

// MergeGlobal is Merge for a global config: every fold's GlobalPart into
// the Results RunGlobal would have returned.
func MergeGlobal(cfg config.Config, series map[string]closecast.Series, opt Options, parts []GlobalPart) ([]*Result, error) {
	plan, err := globalPlan(cfg, series, opt)
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(cfg.Symbols))
	for m, sym := range cfg.Symbols {
		var ps []Part
		for _, gp := range parts {
			if len(gp.Markets) != len(cfg.Symbols) {
				return nil, fmt.Errorf("backtest: fold %d holds %d markets, the config %d (%v)", gp.Fold, len(gp.Markets), len(cfg.Symbols), cfg.Symbols)
			}
			ps = append(ps, gp.Markets[m])
		}
		if out[m], err = merge(cfg, series[sym], opt, plan, ps); err != nil {
			return nil, fmt.Errorf("%s: %w", sym, err)
		}
		out[m].Symbol = sym
	}
	return out, nil
}
