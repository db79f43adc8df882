package train

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
	"github.com/closecast/closecast/pipeline"
)

// QuantileHeadFit is a trained quantile head (config/shipped/quantile.yaml: loss
// pinball, target log_return_ewma_z) and how its training went.
type QuantileHeadFit struct {
	Pipeline *pipeline.Pipeline
	// TailLoss is the best mean pinball loss (in EWMA-standardised units,
	// over the 21 evaluate.Levels) on the training tail, which early stopping and
	// the choice of settings watch.
	TailLoss          float64
	Epochs, BestEpoch int
	// Windows, Train and Tail count the windows of the data range, the
	// training part's (the rest is the hold-out) and its tail.
	Windows, Train, Tail int
	// Holdout is the first target day of the hold-out, the first day the
	// model never saw.
	Holdout closecast.Date
	// TrainFrom is the first training target day, TailFrom the tail's.
	TrainFrom, TailFrom closecast.Date
	// TrainLoss and TailLosses are the mean pinball loss per epoch on the
	// training windows (as the trainer reports it) and on the tail.
	TrainLoss, TailLosses []float64
}

// TrainQuantileHead trains cfg's quantile head on s with the default
// recipe's split: the windows whose targets lie in cfg.Data, the first
// TrainFraction of them for training, of which the last TailFraction are
// held back for early stopping (Patience epochs; the best epoch's weights
// are kept); the rest of the data range is the hold-out. Inputs are cfg's
// features, MinMax-scaled on the bars the training windows read; the
// target is features.EWMAZ's z over s from its first bar, the same bars a
// Walk over s forecasts from (the EWMA seed reads them).
//
// It reuses the point recipe's pieces (features.Matrix, pipeline.Input,
// lstm); Run calls it for a config with the quantile head's target.
func TrainQuantileHead(ctx context.Context, cfg config.Config, s closecast.Series) (*QuantileHeadFit, error) {
	w, err := quantileHeadWindows(cfg, s)
	if err != nil {
		return nil, err
	}
	fit, err := fitQuantileHead(ctx, cfg, []*quantileWindows{w})
	if err != nil {
		return nil, err
	}
	return fit[0], nil
}

// quantileWindows are one market's training windows of a quantile head:
// x [Train][Window][Features] and y [Train], the last Tail of them held
// back for early stopping, and the pipeline (input scaler fitted, no
// network yet) with the split's dates in fit.
type quantileWindows struct {
	x, y []float32
	fit  QuantileHeadFit
}

// quantileHeadWindows builds cfg's quantile-head windows of s: the
// split, the input scaler and the EWMA-standardised targets
// TrainQuantileHead describes.
func quantileHeadWindows(cfg config.Config, s closecast.Series) (*quantileWindows, error) {
	if cfg.Loss != "pinball" || cfg.Target != config.TargetLogReturnEWMAZ || cfg.Horizon != 1 {
		return nil, fmt.Errorf("quantile head: config %s has loss %q, target %q, horizon %d; want pinball, %s, 1",
			cfg.Name, cfg.Loss, cfg.Target, cfg.Horizon, config.TargetLogReturnEWMAZ)
	}
	if cfg.EarlyStopping.Monitor != config.MonitorTail {
		return nil, fmt.Errorf("quantile head: early_stopping.monitor %q, want %q (never the hold-out)", cfg.EarlyStopping.Monitor, config.MonitorTail)
	}
	warmup, err := features.Warmup(cfg.Features)
	if err != nil {
		return nil, err
	}
	bars := s.Bars
	i0, iEnd := s.Search(cfg.Data.From), s.Search(cfg.Data.To+1)
	first := max(i0+cfg.WindowSize, cfg.WindowSize+warmup, features.EWMASeedDays+1)
	n := iEnd - first
	nTrain := int(math.Floor(cfg.TrainFraction * float64(n)))
	tail := int(math.Ceil(cfg.EarlyStopping.TailFraction * float64(nTrain)))
	if n < 2 || nTrain < 2 || tail < 1 || tail >= nTrain || nTrain >= n {
		return nil, fmt.Errorf("quantile head: %d windows of %s in %s..%s (train %d, tail %d) are too few", n, s.Symbol, cfg.Data.From, cfg.Data.To, nTrain, tail)
	}
	// Input scaler: the bars the training windows read (scaler_fit train).
	rows, _, err := features.Matrix(bars[max(0, i0-warmup):first+nTrain], cfg.Features)
	if err != nil {
		return nil, err
	}
	p := &pipeline.Pipeline{Features: cfg.Features, Target: features.TargetLogReturn, Window: cfg.WindowSize,
		Warmup: warmup, Inputs: features.FitMinMax(rows), Quantiles: slices.Clone(evaluate.Levels[:])}
	z, _ := features.EWMAZ(bars)
	per := cfg.WindowSize * len(cfg.Features)
	w := &quantileWindows{x: make([]float32, nTrain*per), y: make([]float32, nTrain)}
	for k := range nTrain {
		if err := p.Input(bars, first+k, w.x[k*per:(k+1)*per]); err != nil {
			return nil, err
		}
		w.y[k] = float32(z[first+k])
	}
	fit := nTrain - tail
	w.fit = QuantileHeadFit{Pipeline: p, Windows: n, Train: nTrain, Tail: tail, Holdout: bars[first+nTrain].Date, TailLoss: math.Inf(1),
		TrainFrom: bars[first].Date, TailFrom: bars[first+fit].Date}
	return w, nil
}

// fitQuantileHead trains one quantile head on the windows of every
// market in ws, pooled (market after market; the trainer shuffles them
// every epoch), early stopping on their pooled tails, and returns each
// market's fit: its own pipeline around the one network kept. With one
// market it is TrainQuantileHead's training.
func fitQuantileHead(ctx context.Context, cfg config.Config, ws []*quantileWindows) ([]*QuantileHeadFit, error) {
	units := make([]int, cfg.Layers)
	for i := range units {
		units[i] = cfg.Units
	}
	net, err := lstm.New(lstm.Config{Features: len(cfg.Features), Units: units, Dropout: float32(cfg.Dropout), Outputs: evaluate.NumLevels}, cfg.Seed)
	if err != nil {
		return nil, err
	}
	tc := lstm.DefaultTrainConfig()
	tc.Loss, tc.LearningRate, tc.ClipNorm = lstm.Pinball, cfg.LearningRate, float32(cfg.ClipNorm)
	tc.BatchSize, tc.Shuffle, tc.Threads, tc.Seed = cfg.BatchSize, cfg.Shuffle, cfg.Threads, cfg.Seed
	for _, l := range evaluate.Levels {
		tc.Quantiles = append(tc.Quantiles, float32(l))
	}
	tr, err := lstm.NewTrainer(net, tc)
	if err != nil {
		return nil, err
	}
	per := cfg.WindowSize * len(cfg.Features)
	var fx, fy, tx, ty []float32
	fit, tail := 0, 0
	for _, w := range ws {
		f := w.fit.Train - w.fit.Tail
		fx, fy = append(fx, w.x[:f*per]...), append(fy, w.y[:f]...)
		tx, ty = append(tx, w.x[f*per:]...), append(ty, w.y[f:]...)
		fit, tail = fit+f, tail+w.fit.Tail
	}
	res := QuantileHeadFit{TailLoss: math.Inf(1)}
	best := net.Clone()
	stale := 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		loss, err := tr.EpochContext(ctx, fx, fy, fit, cfg.WindowSize)
		if err != nil {
			return nil, err
		}
		res.Epochs = epoch
		l := tr.Evaluate(tx, ty, tail, cfg.WindowSize)
		res.TrainLoss, res.TailLosses = append(res.TrainLoss, float64(loss)), append(res.TailLosses, l)
		if l < res.TailLoss {
			res.TailLoss, res.BestEpoch, stale = l, epoch, 0
			best = net.Clone()
		} else if stale++; cfg.EarlyStopping.Patience > 0 && stale >= cfg.EarlyStopping.Patience {
			break
		}
	}
	out := make([]*QuantileHeadFit, len(ws))
	for k, w := range ws {
		f := w.fit
		f.Pipeline.Net = best
		f.TailLoss, f.Epochs, f.BestEpoch, f.TrainLoss, f.TailLosses = res.TailLoss, res.Epochs, res.BestEpoch, res.TrainLoss, res.TailLosses
		out[k] = &f
	}
	return out, nil
}

// QuantileHeadBacktest trains one quantile head per fold of every bars of
// s dated from..to (k days each, as `closecast backtest --retrain-every
// k`): fold j's head is trained by TrainQuantileHead with cfg's data.to
// moved to the day before its first day and on the bars before that day
// alone, so nothing later reaches weights, scaler or early stopping.
func QuantileHeadBacktest(ctx context.Context, cfg config.Config, s closecast.Series, from, to closecast.Date, k int) ([]evaluate.QuantileHeadFold, error) {
	if k < 1 {
		return nil, fmt.Errorf("quantile head backtest: retrain every %d days, want ≥ 1", k)
	}
	days := s.Between(from, to).Bars
	if len(days) == 0 {
		return nil, fmt.Errorf("quantile head backtest: no bars of %s in %s..%s", s.Symbol, from, to)
	}
	var folds []evaluate.QuantileHeadFold
	for i := 0; i < len(days); i += k {
		first := days[i].Date
		fc := cfg
		fc.Data.To = first - 1
		past := s
		past.Bars = s.Bars[:s.Search(first)]
		fit, err := TrainQuantileHead(ctx, fc, past)
		if err != nil {
			return nil, fmt.Errorf("quantile head backtest, fold from %s: %w", first, err)
		}
		folds = append(folds, fit.Fold(first))
	}
	return folds, nil
}

// Fold returns the head as a fold of Walk.QuantileHead from day from.
func (f *QuantileHeadFit) Fold(from closecast.Date) evaluate.QuantileHeadFold {
	return evaluate.QuantileHeadFold{From: from, Pipeline: f.Pipeline, Holdout: f.Holdout}
}
