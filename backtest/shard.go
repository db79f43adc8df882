package backtest

import (
	"context"
	"fmt"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/pipeline"
)

// Part is one fold's outcome on its own: what a shard of a backtest run as
// an array job hands over to Merge.
type Part struct {
	Fold Fold  `json:"fold"`
	Days []Day `json:"days"`
	// Model is the fold's trained model as an artifact's files (Fold's
	// Pipeline is not JSON), so that Merge restores it for the scores that
	// need its forecasts (ScoreDistribution). Absent from the parts of an
	// older closecast.
	Model artifact.Files `json:"model,omitempty"`
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
	folds, days, err := runFolds(ctx, opt, plan, keep, nil, symbolFolds(cfg, series))
	if err != nil {
		return nil, err
	}
	var parts []Part
	for k := range plan {
		if !keep(k) {
			continue
		}
		p, err := partOf(cfg, series.Symbol, folds[0][k], days[0][k])
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// partOf is the Part of fold f of cfg's backtest of symbol, with its
// model's files.
func partOf(cfg config.Config, symbol string, f Fold, days []Day) (Part, error) {
	model, err := artifact.Encode(&artifact.Model{
		Meta:     artifact.Metadata{Name: cfg.Name, Symbol: symbol, Config: FoldConfig(cfg, f.From), Training: f.Training},
		Pipeline: f.Pipeline,
	})
	if err != nil {
		return Part{}, fmt.Errorf("backtest: fold %d: %w", f.Index, err)
	}
	return Part{Fold: f, Days: days, Model: model}, nil
}

// partModel verifies p's model (as a registry verifies one) and returns
// its pipeline: nil for a part without one, whose Result then lacks
// distribution scores. A model trained on other data than p's fold is
// refused.
func partModel(p Part) (*pipeline.Pipeline, error) {
	if p.Model == nil {
		return nil, nil
	}
	m, err := artifact.Verify(p.Model)
	if err != nil {
		return nil, fmt.Errorf("backtest: fold %d's model: %w", p.Fold.Index, err)
	}
	if got := m.Meta.Config.Data; got != p.Fold.Train {
		return nil, fmt.Errorf("backtest: fold %d was trained on %s..%s, its model on %s..%s", p.Fold.Index, p.Fold.Train.From, p.Fold.Train.To, got.From, got.To)
	}
	return m.Pipeline, nil
}

// Merge assembles every fold's Part, from however many RunPart calls, into
// the Result that Run would have returned. parts must hold each fold of
// opt's plan exactly once, in any order.
func Merge(cfg config.Config, series closecast.Series, opt Options, parts []Part) (*Result, error) {
	plan, err := checkedPlan(cfg, series, opt)
	if err != nil {
		return nil, err
	}
	return merge(cfg, series, opt, plan, parts)
}

// merge is Merge on plan.
func merge(cfg config.Config, series closecast.Series, opt Options, plan []config.Range, parts []Part) (*Result, error) {
	var err error
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
		if folds[k].Pipeline, err = partModel(p); err != nil {
			return nil, err
		}
	}
	for k, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("backtest: fold %d (%s..%s) is missing", k, plan[k].From, plan[k].To)
		}
	}
	return assemble(cfg, series, opt.RetrainEvery, folds, days)
}
