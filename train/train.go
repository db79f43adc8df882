// Package train turns a config and a series of daily bars into a trained,
// evaluated artifact: the reference notebook's fit → evaluate → save, with
// early stopping. The scores it records come from package evaluate.
//
// Windows and split, for the n bars of the configured data range and a
// pipeline reading window + warm-up bars: window k forecasts the bar
// window+k of the range from the window bars before it (and the warm-up
// bars before those, taken from before the range); there are n-window
// windows, whatever the features. The first floor(TrainFraction·(n-H))
// windows are the training part, the rest the hold-out (dates in order, no
// shuffling across the split). With early stopping monitored on the "tail",
// the last TailFraction of the training windows are held back from fitting
// and watched instead.
package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/lstm"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/pipeline"
)

// Dataset is a config applied to bars: the fitted (untrained) pipeline and
// every window, in date order.
type Dataset struct {
	Bars     []closecast.Bar // the configured data range
	Pipeline *pipeline.Pipeline
	// X is [windows][Window][features] row-major; Y is [windows][Outputs]
	// row-major, Y[k][j] the scaled target of day Target[k]+j, NaN where
	// that day is past the data range.
	X, Y []float32
	// Outputs is the network's outputs per window (config horizon).
	Outputs int
	// Target[k] is the index in Bars of the bar window k forecasts.
	Target []int
	// Train is the number of leading windows in the training part; Tail the
	// number at its end held back for early stopping (0 unless monitored).
	Train, Tail int
}

// Windows returns the number of windows.
func (d *Dataset) Windows() int { return len(d.Target) }

// Prepare loads cfg's data range from series, fits the scalers and builds
// the windows.
func Prepare(cfg config.Config, series closecast.Series) (*Dataset, error) {
	warmup, err := features.Warmup(cfg.Features)
	if err != nil {
		return nil, err
	}
	// The configured range holds the windows' rows; the features' warm-up
	// reads the bars just before it, so the windows, the split and the
	// hold-out dates do not depend on which features are chosen.
	i0, iEnd := series.Search(cfg.Data.From), series.Search(cfg.Data.To+1)
	start := max(0, i0-warmup)
	bars := series.Bars[start:iEnd]
	h := cfg.WindowSize + warmup
	first := max(i0-start+cfg.WindowSize, h) // index in bars of the first target
	n := len(bars) - first
	if n < 2 {
		return nil, fmt.Errorf("train: %d bars of %s in %s..%s give no windows of %d days (+%d warm-up)",
			iEnd-i0, cfg.Symbol, cfg.Data.From, cfg.Data.To, cfg.WindowSize, warmup)
	}
	nTrain := int(math.Floor(cfg.TrainFraction * float64(n)))
	if nTrain < 1 || nTrain >= n {
		return nil, fmt.Errorf("train: train_fraction %v of %d windows leaves an empty part", cfg.TrainFraction, n)
	}
	tail := 0
	if cfg.EarlyStopping.Monitor == config.MonitorTail {
		tail = int(math.Ceil(cfg.EarlyStopping.TailFraction * float64(nTrain)))
		if tail < 1 || tail >= nTrain {
			return nil, fmt.Errorf("train: early_stopping.tail_fraction %v of %d training windows is unusable", cfg.EarlyStopping.TailFraction, nTrain)
		}
	}
	target, err := features.ParseTarget(cfg.Target)
	if err != nil {
		return nil, err
	}
	p := &pipeline.Pipeline{Features: cfg.Features, Target: target, Window: cfg.WindowSize, Warmup: warmup}
	O := cfg.Horizon
	if err := fitScalers(p, cfg.ScalerFit, bars, first+nTrain, O); err != nil {
		return nil, err
	}
	if cfg.ScalerRange == config.RangeSymmetric {
		p.Inputs, p.Output = p.Inputs.Symmetric(), p.Output.Symmetric()
	}
	d := &Dataset{Bars: bars, Pipeline: p, Train: nTrain, Tail: tail, Outputs: O}
	nf := len(cfg.Features)
	per := cfg.WindowSize * nf
	d.X = make([]float32, n*per)
	d.Y = make([]float32, n*O)
	d.Target = make([]int, n)
	for k := range n {
		i := first + k
		if err := p.Input(bars, i, d.X[k*per:(k+1)*per]); err != nil {
			return nil, err
		}
		for j := range O {
			y := math.NaN()
			if i+j < len(bars) {
				y = p.Output.Scale(j, p.TargetValue(bars, i, j))
			}
			d.Y[k*O+j] = float32(y)
		}
		d.Target[k] = i
	}
	return d, nil
}

// Part returns the windows of [from, to) whose every target day lies
// before window to's target day (or in the data range when to is the
// last): with a direct head of N outputs, the last N−1 windows of a part
// would otherwise learn or score days of the part after it.
func (d *Dataset) Part(from, to int) (x, y []float32, n int) {
	n = max(0, to-from-(d.Outputs-1))
	per := len(d.X) / d.Windows()
	return d.X[from*per : (from+n)*per], d.Y[from*d.Outputs : (from+n)*d.Outputs], n
}

// fitScalers fits the input and target scalers. With fit "all" they see
// every loaded bar, as the reference did; with "train" only the bars that
// the training windows read (inputs) and forecast (targets): bars[:end].
// The target scaler has one column per output: column j is fitted on the
// targets of output j whose day lies before end.
func fitScalers(p *pipeline.Pipeline, fit string, bars []closecast.Bar, end, outputs int) error {
	if fit == config.FitAll {
		end = len(bars)
	}
	rows, _, err := features.Matrix(bars[:end], p.Features)
	if err != nil {
		return err
	}
	p.Inputs = features.FitMinMax(rows)
	first := p.Target.Warmup()
	if fit == config.FitTrain {
		first = max(first, p.History())
	}
	var targets [][]float64
	for i := first; i+outputs-1 < end; i++ {
		row := make([]float64, outputs)
		for j := range row {
			row[j] = p.TargetValue(bars, i, j)
		}
		targets = append(targets, row)
	}
	if len(targets) == 0 {
		return fmt.Errorf("train: no training day has all %d targets of the horizon", outputs)
	}
	p.Output = features.FitMinMax(targets)
	return nil
}

// Build returns cfg's untrained network (Keras initialisation, seeded) and
// its trainer.
func Build(cfg config.Config) (*lstm.Network, *lstm.Trainer, lstm.TrainConfig, error) {
	loss, err := lstm.ParseLoss(cfg.Loss)
	if err != nil {
		return nil, nil, lstm.TrainConfig{}, err
	}
	units := make([]int, cfg.Layers)
	for i := range units {
		units[i] = cfg.Units
	}
	net, err := lstm.New(lstm.Config{Features: len(cfg.Features), Units: units, Dropout: float32(cfg.Dropout), Outputs: cfg.Horizon}, cfg.Seed)
	if err != nil {
		return nil, nil, lstm.TrainConfig{}, err
	}
	tc := lstm.DefaultTrainConfig()
	tc.Loss = loss
	tc.LearningRate = cfg.LearningRate
	tc.ClipNorm = float32(cfg.ClipNorm)
	tc.BatchSize = cfg.BatchSize
	tc.Shuffle = cfg.Shuffle
	tc.Threads = cfg.Threads
	if tc.Threads == 0 {
		tc.Threads = runtime.NumCPU()
	}
	tc.Seed = cfg.Seed
	trainer, err := lstm.NewTrainer(net, tc)
	if err != nil {
		return nil, nil, lstm.TrainConfig{}, err
	}
	return net, trainer, tc, nil
}

// Options are the knobs of a run that are not part of the model.
type Options struct {
	// Progress receives one line per epoch, like Keras' fit; nil is silent.
	Progress io.Writer
	// Now stamps the artifact; nil means time.Now.
	Now func() time.Time
}

// Result is a trained, evaluated model.
type Result struct {
	Model *artifact.Model
	// Interrupted is true when ctx was cancelled: the model holds the best
	// weights seen before that.
	Interrupted bool
}

// Run trains cfg on the bars of series (which must also cover the validation
// window and the history before it), evaluates it on the hold-out and the
// validation window, and returns the artifact, not yet written.
func Run(ctx context.Context, cfg config.Config, series closecast.Series, opt Options) (*Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if cfg.Global() {
		return nil, fmt.Errorf("train: config %s is global (%s): train it with RunGlobal", cfg.Name, strings.Join(cfg.Symbols, ", "))
	}
	if cfg.Target == config.TargetLogReturnEWMAZ {
		return runQuantileHead(ctx, cfg, series, opt)
	}
	ds, err := Prepare(cfg, series)
	if err != nil {
		return nil, err
	}
	p := ds.Pipeline
	net, trainer, tc, err := Build(cfg)
	if err != nil {
		return nil, err
	}

	fit := ds.Train - ds.Tail
	var fitPart, valPart part
	fitPart.x, fitPart.y, fitPart.n = ds.Part(0, fit)
	// Validation loss per epoch: the hold-out when monitored there (the
	// reference's validation_data), else the held-back tail of the training part.
	valFrom, valTo := ds.Train, ds.Windows()
	if cfg.EarlyStopping.Monitor == config.MonitorTail {
		valFrom, valTo = fit, ds.Train
	}
	valPart.x, valPart.y, valPart.n = ds.Part(valFrom, valTo)
	if fitPart.n < 1 || valPart.n < 1 {
		return nil, fmt.Errorf("train: a %d-day horizon leaves %d training and %d validation windows", cfg.Horizon, fitPart.n, valPart.n)
	}

	f, err := fitEpochs(ctx, cfg, net, trainer, fitPart, valPart, opt.Progress)
	if err != nil {
		return nil, err
	}
	p.Net = f.net
	m := newModel(cfg, ds, tc, f, fitPart.n, opt)
	if err := score(m, cfg, ds, series.Bars); err != nil {
		return nil, err
	}
	return &Result{Model: m, Interrupted: f.interrupted}, nil
}

// newModel is the artifact of ds's pipeline trained as f: its metadata
// before scoring. windows is the number of windows fitted on.
func newModel(cfg config.Config, ds *Dataset, tc lstm.TrainConfig, f fitted, windows int, opt Options) *artifact.Model {
	return &artifact.Model{Pipeline: ds.Pipeline, Meta: artifact.Metadata{
		ClosecastVersion: closecast.Version,
		Created:          opt.Now().UTC().Truncate(time.Second),
		Name:             cfg.Name,
		Symbol:           cfg.Symbol,
		Config:           cfg,
		TrainRange:       config.Range{From: ds.Bars[ds.Target[0]].Date, To: ds.Bars[ds.Target[ds.Train-1]].Date},
		DataRange:        config.Range{From: ds.Bars[0].Date, To: ds.Bars[len(ds.Bars)-1].Date},
		DataSHA256:       barsSHA256(ds.Bars),
		Training: artifact.Training{
			Threads: tc.Threads, EpochsTrained: len(f.curve.Train), BestEpoch: f.bestEpoch, Seconds: f.seconds,
			SecondsEpoch: f.seconds / float64(len(f.curve.Train)), Windows: windows, Stopped: f.stopped,
			Monitor: cfg.EarlyStopping.Monitor, TailWindows: ds.Tail,
		},
		LossCurve: f.curve,
	}}
}

// part is a run of training windows: x is [n][steps][Features], y [n][Outputs].
type part struct {
	x, y []float32
	n    int
}

// fitted is the outcome of fitEpochs.
type fitted struct {
	net         *lstm.Network // the weights to keep
	curve       artifact.LossCurve
	bestEpoch   int
	stopped     string // "epochs", "early_stopping" or "interrupted"
	interrupted bool
	seconds     float64
}

// fitEpochs trains net on fit epoch by epoch, scoring val after each, until
// cfg.Epochs, early stopping or ctx ends it. It fails only when ctx ends
// before the first epoch does.
func fitEpochs(ctx context.Context, cfg config.Config, net *lstm.Network, trainer *lstm.Trainer, fit, val part, progress io.Writer) (fitted, error) {
	f := fitted{stopped: "epochs"}
	best, stale := math.Inf(1), 0
	var bestNet *lstm.Network
	start := time.Now()
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		if ctx.Err() != nil {
			f.interrupted, f.stopped = true, "interrupted"
			break
		}
		t0 := time.Now()
		// Checked between batches too, so that a signal stops training
		// within one batch, not one epoch (an epoch is seconds on a busy
		// machine). The cut epoch's weights are dropped below.
		trainLoss, err := trainer.EpochContext(ctx, fit.x, fit.y, fit.n, cfg.WindowSize)
		if err != nil {
			f.interrupted, f.stopped = true, "interrupted"
			break
		}
		valLoss := trainer.Evaluate(val.x, val.y, val.n, cfg.WindowSize)
		f.curve.Train = append(f.curve.Train, trainLoss)
		f.curve.Val = append(f.curve.Val, valLoss)
		if progress != nil {
			el := time.Since(start)
			eta := time.Duration(float64(el) / float64(epoch) * float64(cfg.Epochs-epoch))
			fmt.Fprintf(progress, "epoch %*d/%d  loss %.6f  val_loss %.6f  %.2fs/epoch  ETA %s\n",
				digits(cfg.Epochs), epoch, cfg.Epochs, trainLoss, valLoss, time.Since(t0).Seconds(), eta.Round(time.Second))
		}
		if valLoss < best {
			// Kept without early stopping too: an interrupt may cut an
			// epoch, and the cut weights are never returned.
			best, f.bestEpoch, stale = valLoss, epoch, 0
			bestNet = net.Clone()
		} else if stale++; cfg.EarlyStopping.Patience > 0 && stale >= cfg.EarlyStopping.Patience {
			f.stopped = "early_stopping"
			break
		}
	}
	epochs := len(f.curve.Train)
	if epochs == 0 {
		return fitted{}, context.Cause(ctx)
	}
	f.seconds = time.Since(start).Seconds()
	// Keras keeps the last epoch's weights unless early stopping restores
	// the best; an interrupted run keeps the best seen so far.
	f.net = net
	if bestNet != nil && (cfg.EarlyStopping.Patience > 0 || f.interrupted) {
		f.net = bestNet
	} else {
		f.bestEpoch = epochs
	}
	return f, nil
}

// score evaluates m one step ahead on the tuning tail (which also
// calibrates its conformal intervals), the hold-out and the validation
// window, and records the results in m.
func score(m *artifact.Model, cfg config.Config, ds *Dataset, bars []closecast.Bar) error {
	p := m.Pipeline
	if ds.Tail > 0 {
		// The held-back tail: the only range a config may be tuned on.
		from, to := ds.Bars[ds.Target[ds.Train-ds.Tail]].Date, ds.Bars[ds.Target[ds.Train-1]].Date
		ev, _, err := evaluate.OneStep(p, bars, from, to)
		if err != nil {
			return fmt.Errorf("tuning tail: %w", err)
		}
		m.Meta.Metrics.Tuning = &ev
		// The tail also calibrates the conformal intervals: its days were
		// never fitted on, and the evaluation windows stay unseen.
		if p.Calibration, err = p.Calibrate(bars, from, to, pipeline.CalibrationHorizon); err != nil {
			return fmt.Errorf("calibrating on the tuning tail: %w", err)
		}
	}
	holdFrom, holdTo := ds.Bars[ds.Target[ds.Train]].Date, ds.Bars[ds.Target[ds.Windows()-1]].Date
	ev, pts, err := evaluate.OneStep(p, bars, holdFrom, holdTo)
	if err != nil {
		return fmt.Errorf("hold-out: %w", err)
	}
	m.Meta.Metrics.Holdout, m.Meta.Predictions.Holdout = &ev, pts
	if cfg.HasValidation() {
		ev, pts, err := evaluate.OneStep(p, bars, cfg.Validation.From, cfg.Validation.To)
		if err != nil {
			return fmt.Errorf("validation window: %w", err)
		}
		m.Meta.Metrics.Validation, m.Meta.Predictions.Validation = &ev, pts
	}
	return nil
}

func digits(n int) int { return len(fmt.Sprint(n)) }

// barsSHA256 fingerprints the training data as its CSV encoding.
func barsSHA256(bars []closecast.Bar) string {
	var b bytes.Buffer
	if err := marketdata.WriteCSV(&b, bars); err != nil {
		return ""
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}
