package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/backtest"
	"github.com/closecast/closecast/config"
)

// backtestShard runs the backtest as sf says: every fold (the Result), one
// shard's folds written to --results (nil Result: nothing more to print),
// or --collect's merge of every shard's folds (the Result).
func backtestShard(ctx context.Context, e *env, sf *shardFlags, cfg config.Config, series closecast.Series, opt backtest.Options) (*backtest.Result, error) {
	sh, err := sf.resolve(e.getenv)
	if err != nil {
		return nil, err
	}
	job := jobName("backtest", cfg.Name, cfg.Symbol, opt.From, opt.To, opt.RetrainEvery)
	var r *backtest.Result
	switch {
	case sf.collect:
		n, err := backtest.Folds(cfg, series, opt)
		if err != nil {
			return nil, err
		}
		raws, err := collectTasks(sf.results, job, n)
		if err != nil {
			return nil, err
		}
		parts := make([]backtest.Part, n)
		for i, raw := range raws {
			if err := json.Unmarshal(raw, &parts[i]); err != nil {
				return nil, fmt.Errorf("task %d: %w", i, err)
			}
		}
		return backtest.Merge(cfg, series, opt, parts)
	case sh.Count > 0:
		n, err := backtest.Folds(cfg, series, opt)
		if err != nil {
			return nil, err
		}
		var parts []backtest.Part
		err = untilDone(ctx, func() (err error) {
			parts, err = backtest.RunPart(ctx, cfg, series, opt, sh.owns)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			if err := writeTask(sf.results, job, p.Fold.Index, n, p); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(e.stdout, "shard %s: %d of %d folds written to %s\n", sh, len(parts), n, sf.results)
		return nil, nil
	}
	err = untilDone(ctx, func() (err error) {
		r, err = backtest.Run(ctx, cfg, series, opt)
		return err
	})
	return r, err
}
