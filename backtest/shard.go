package backtest

import (
	"context"
	"fmt"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config"
)

// Part is one fold's outcome on its own: what a shard of a backtest run as
// an array job hands over to Merge.
type Part struct {
	Fold Fold  `json:"fold"`
	Days []Day `json:"days"`
}

// Folds returns the number of folds Run would train for opt: the task
// list a sharded backtest divides.
func Folds(cfg config.Config, series closecast.Series, opt Options) (int, error) {
	plan, err := checkedPlan(cfg, series, opt)
	return len(plan), err
}

// RunPart trains and forecasts only the folds k for which keep(k) holds,
// exactly as Run does them, and returns them in fold order.
func RunPart(ctx context.Context, cfg config.Config, series closecast.Series, opt Options, keep func(k int) bool) ([]Part, error) {
	plan, err := checkedPlan(cfg, series, opt)
	if err != nil {
		return nil, err
	}
	folds, days, err := runFolds(ctx, cfg, series, opt, plan, keep)
	if err != nil {
		return nil, err
	}
	var parts []Part
	for k := range plan {
		if keep(k) {
			parts = append(parts, Part{Fold: folds[k], Days: days[k]})
		}
	}
	return parts, nil
}

// Merge assembles every fold's Part, from however many RunPart calls, into
// the Result that Run would have returned. parts must hold each fold of
// opt's plan exactly once, in any order.
func Merge(cfg config.Config, series closecast.Series, opt Options, parts []Part) (*Result, error) {
	plan, err := checkedPlan(cfg, series, opt)
	if err != nil {
		return nil, err
	}
	folds := make([]Fold, len(plan))
	days := make([][]Day, len(plan))
	seen := make([]bool, len(plan))
	for _, p := range parts {
		k := p.Fold.Index
		switch {
		case k < 0 || k >= len(plan):
			return nil, fmt.Errorf("backtest: fold %d is not in the plan of %d folds", k, len(plan))
		case seen[k]:
			return nil, fmt.Errorf("backtest: fold %d given twice", k)
		case p.Fold.From != plan[k].From || p.Fold.To != plan[k].To:
			return nil, fmt.Errorf("backtest: fold %d forecast %s..%s, the plan says %s..%s", k, p.Fold.From, p.Fold.To, plan[k].From, plan[k].To)
		}
		seen[k] = true
		folds[k], days[k] = p.Fold, p.Days
	}
	for k, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("backtest: fold %d (%s..%s) is missing", k, plan[k].From, plan[k].To)
		}
	}
	return assemble(cfg, series, opt.RetrainEvery, folds, days)
}
