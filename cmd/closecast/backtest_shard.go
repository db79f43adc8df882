package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/backtest"
	"github.com/closecast/closecast/config"
)

// backtestShard runs the backtest as sf says: every fold (the Result), one
// shard's folds written to --results (nil Result: nothing more to print),
// or --collect's merge of every shard's folds (the Result).
func backtestShard(ctx context.Context, e *env, sf *shardFlags, cfg config.Config, series closecast.Series, opt backtest.Options) (*backtest.Result, error) {
	job := jobName("backtest", cfg.Name, cfg.Symbol, opt.From, opt.To, opt.RetrainEvery)
	return shardFolds(ctx, e, sf, job, foldJob[backtest.Part, *backtest.Result]{
		count: func() (int, error) { return backtest.Folds(cfg, series, opt) },
		part: func(keep func(int) bool) ([]backtest.Part, error) {
			return backtest.RunPart(ctx, cfg, series, opt, keep)
		},
		index: func(p backtest.Part) int { return p.Fold.Index },
		merge: func(ps []backtest.Part) (*backtest.Result, error) { return backtest.Merge(cfg, series, opt, ps) },
		run:   func() (*backtest.Result, error) { return backtest.Run(ctx, cfg, series, opt) },
	})
}

// backtestShardGlobal is backtestShard for a global config: one Result per
// market, a task per fold holding every market's.
func backtestShardGlobal(ctx context.Context, e *env, sf *shardFlags, cfg config.Config, series map[string]closecast.Series, opt backtest.Options) ([]*backtest.Result, error) {
	job := jobName("backtest", cfg.Name, strings.Join(cfg.Symbols, ","), opt.From, opt.To, opt.RetrainEvery)
	return shardFolds(ctx, e, sf, job, foldJob[backtest.GlobalPart, []*backtest.Result]{
		count: func() (int, error) { return backtest.FoldsGlobal(cfg, series, opt) },
		part: func(keep func(int) bool) ([]backtest.GlobalPart, error) {
			return backtest.RunPartGlobal(ctx, cfg, series, opt, keep)
		},
		index: func(p backtest.GlobalPart) int { return p.Fold },
		merge: func(ps []backtest.GlobalPart) ([]*backtest.Result, error) {
			return backtest.MergeGlobal(cfg, series, opt, ps)
		},
		run: func() ([]*backtest.Result, error) { return backtest.RunGlobal(ctx, cfg, series, opt) },
	})
}

// foldJob is a backtest as shardFolds runs it: its number of folds, the
// parts (P) of the folds a shard owns, a part's fold, the merge of every
// fold's part into the result (R), and the whole run in one process.
type foldJob[P, R any] struct {
	count func() (int, error)
	part  func(keep func(int) bool) ([]P, error)
	index func(P) int
	merge func([]P) (R, error)
	run   func() (R, error)
}

// shardFolds runs j as sf says (see backtestShard); a shard returns R's
// zero value.
func shardFolds[P, R any](ctx context.Context, e *env, sf *shardFlags, job string, j foldJob[P, R]) (R, error) {
	var r R
	sh, err := sf.resolve(e.getenv)
	if err != nil {
		return r, err
	}
	switch {
	case sf.collect:
		n, err := j.count()
		if err != nil {
			return r, err
		}
		raws, err := collectTasks(sf.results, job, n)
		if err != nil {
			return r, err
		}
		parts := make([]P, n)
		for i, raw := range raws {
			if err := json.Unmarshal(raw, &parts[i]); err != nil {
				return r, fmt.Errorf("task %d: %w", i, err)
			}
		}
		return j.merge(parts)
	case sh.Count > 0:
		n, err := j.count()
		if err != nil {
			return r, err
		}
		var parts []P
		err = untilDone(ctx, func() (err error) {
			parts, err = j.part(sh.owns)
			return err
		})
		if err != nil {
			return r, err
		}
		for _, p := range parts {
			if err := writeTask(sf.results, job, j.index(p), n, p); err != nil {
				return r, err
			}
		}
		fmt.Fprintf(e.stdout, "shard %s: %d of %d folds written to %s\n", sh, len(parts), n, sf.results)
		return r, nil
	}
	err = untilDone(ctx, func() (err error) {
		r, err = j.run()
		return err
	})
	return r, err
}
