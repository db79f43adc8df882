package train

import (
	"context"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/evaluate"
)

// runQuantileHead trains cfg's quantile head (target log_return_ewma_z,
// loss pinball: train.TrainQuantileHead, with the default recipe's
// split and early stopping on the training tail) on series and returns
// its artifact: the pipeline with its levels (model.json's quantile_head),
// and the point scores of its median on the tail, the hold-out and the
// validation window, like a point model's.
func runQuantileHead(ctx context.Context, cfg config.Config, series closecast.Series, opt Options) (*Result, error) {
	t0 := time.Now()
	fit, err := TrainQuantileHead(ctx, cfg, series)
	if err != nil {
		return nil, err
	}
	m, err := quantileModel(cfg, series, fit, time.Since(t0).Seconds(), opt)
	if err != nil {
		return nil, err
	}
	return &Result{Model: m}, nil
}

// quantileModel is the artifact of fit, a head trained on series (in
// seconds): its metadata and the point scores of its median.
func quantileModel(cfg config.Config, series closecast.Series, fit *QuantileHeadFit, seconds float64, opt Options) (*artifact.Model, error) {
	data := series.Bars[:series.Search(cfg.Data.To+1)]
	stopped := "epochs"
	if fit.Epochs < cfg.Epochs {
		stopped = "early_stopping"
	}
	m := &artifact.Model{Pipeline: fit.Pipeline, Meta: artifact.Metadata{
		ClosecastVersion: closecast.Version,
		Created:          opt.Now().UTC().Truncate(time.Second),
		Name:             cfg.Name,
		Symbol:           cfg.Symbol,
		Config:           cfg,
		TrainRange:       config.Range{From: fit.TrainFrom, To: fit.Holdout - 1},
		DataRange:        config.Range{From: data[0].Date, To: data[len(data)-1].Date},
		DataSHA256:       barsSHA256(data),
		Training: artifact.Training{
			Threads: cfg.Threads, EpochsTrained: fit.Epochs, BestEpoch: fit.BestEpoch, Seconds: seconds,
			SecondsEpoch: seconds / float64(fit.Epochs), Windows: fit.Train - fit.Tail, Stopped: stopped,
			Monitor: cfg.EarlyStopping.Monitor, TailWindows: fit.Tail,
		},
		LossCurve: artifact.LossCurve{Train: fit.TrainLoss, Val: fit.TailLosses},
	}}
	p := m.Pipeline
	tuning, _, err := evaluate.OneStep(p, series.Bars, fit.TailFrom, fit.Holdout-1)
	if err != nil {
		return nil, err
	}
	m.Meta.Metrics.Tuning = &tuning
	hold, pts, err := evaluate.OneStep(p, series.Bars, fit.Holdout, data[len(data)-1].Date)
	if err != nil {
		return nil, err
	}
	m.Meta.Metrics.Holdout, m.Meta.Predictions.Holdout = &hold, pts
	if cfg.HasValidation() {
		ev, pts, err := evaluate.OneStep(p, series.Bars, cfg.Validation.From, cfg.Validation.To)
		if err != nil {
			return nil, err
		}
		m.Meta.Metrics.Validation, m.Meta.Predictions.Validation = &ev, pts
	}
	return m, nil
}
