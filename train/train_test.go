package train

import (
	"context"
	"math"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/metrics"
)

func btc(t *testing.T) closecast.Series {
	t.Helper()
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The reference notebook: 2677 closes → 2617 windows, 2093 for training,
// hold-out targets 2023-11-24 .. 2025-04-30, scaler fitted on all closes.
func TestPrepareReproducesTheNotebookSplit(t *testing.T) {
	cfg, err := shipped.Load("reference")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Prepare(cfg, btc(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Bars) != 2677 || ds.Windows() != 2617 || ds.Train != 2093 || ds.Tail != 0 {
		t.Fatalf("bars %d windows %d train %d tail %d", len(ds.Bars), ds.Windows(), ds.Train, ds.Tail)
	}
	if got := ds.Bars[ds.Target[ds.Train]].Date.String(); got != "2023-11-24" {
		t.Errorf("first hold-out target %s", got)
	}
	if got := ds.Bars[ds.Target[ds.Windows()-1]].Date.String(); got != "2025-04-30" {
		t.Errorf("last hold-out target %s", got)
	}
	d := metrics.Describe(closecast.Series{Bars: ds.Bars}.Closes())
	p := ds.Pipeline
	if p.Inputs.Min[0] != d.Min || p.Inputs.Max[0] != d.Max || p.Output.Min[0] != d.Min || p.Output.Max[0] != d.Max {
		t.Errorf("scalers %+v %+v, want min %v max %v", p.Inputs, p.Output, d.Min, d.Max)
	}
	// Window 0 is the first 60 scaled closes; its target the 61st.
	scale := func(v float64) float32 { return float32((v - d.Min) / (d.Max - d.Min)) }
	if ds.X[0] != scale(ds.Bars[0].Close) || ds.X[59] != scale(ds.Bars[59].Close) || ds.Y[0] != scale(ds.Bars[60].Close) {
		t.Errorf("window 0 misaligned: x0 %v x59 %v y0 %v", ds.X[0], ds.X[59], ds.Y[0])
	}
}

// Warm-up bars come from before the range: the split does not move with the features.
func TestPrepareSplitIndependentOfFeatures(t *testing.T) {
	cfg, _ := shipped.Load("reference")
	cfg.Features, cfg.InputSize = []string{"log_return_1d", "rolling_zscore_30", "rsi_14"}, 3
	ds, err := Prepare(cfg, btc(t))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Windows() != 2617 || ds.Train != 2093 || ds.Bars[ds.Target[ds.Train]].Date.String() != "2023-11-24" {
		t.Fatalf("windows %d train %d first hold-out %s", ds.Windows(), ds.Train, ds.Bars[ds.Target[ds.Train]].Date)
	}
	if got := ds.Bars[0].Date.String(); got != "2017-12-03" {
		t.Errorf("first bar read %s, want 2017-12-03 (29 warm-up days before 2018-01-01)", got)
	}
}

func TestPrepareTrainFitSeesNoHoldout(t *testing.T) {
	cfg, _ := shipped.Load("reference")
	cfg.ScalerFit = "train"
	ds, err := Prepare(cfg, btc(t))
	if err != nil {
		t.Fatal(err)
	}
	// Training targets end 2023-11-23; BTC's all-time high of the range (106146, Jan 2025) is in the hold-out.
	if ds.Pipeline.Inputs.Max[0] >= 106146 || ds.Pipeline.Output.Max[0] >= 106146 {
		t.Errorf("scaler saw the hold-out: %+v", ds.Pipeline.Inputs)
	}
}

func TestRunIsDeterministicAndEvaluates(t *testing.T) {
	cfg, _ := shipped.Load("reference")
	cfg.Units, cfg.Epochs, cfg.Threads = 8, 2, 2
	cfg.Data.From = closecast.MustParseDate("2023-01-01")
	run := func() *Result {
		r, err := Run(context.Background(), cfg, btc(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(), run()
	pa, pb := a.Model.Meta.Predictions.Validation, b.Model.Meta.Predictions.Validation
	if len(pa) != 46 || pa[0].Date.String() != "2025-06-01" || pa[45].Date.String() != "2025-07-16" {
		t.Fatalf("validation window: %d points", len(pa))
	}
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatalf("same seed and threads gave different predictions at %s: %v vs %v", pa[i].Date, pa[i].Predicted, pb[i].Predicted)
		}
	}
	ho := a.Model.Meta.Metrics.Holdout
	// 851 bars of 2023-01-01..2025-04-30 → 791 windows, 632 train, 159 held out.
	if ho == nil || ho.N != 159 || ho.To.String() != "2025-04-30" || ho.From.String() != "2024-11-23" {
		t.Fatalf("hold-out: %+v", ho)
	}
	// Baselines are computed on the same days: persistence's MAE is the mean |Δclose|.
	var sum float64
	for _, p := range a.Model.Meta.Predictions.Holdout {
		s := btc(t)
		i := s.Index(p.Date)
		sum += math.Abs(s.Bars[i].Close - s.Bars[i-1].Close)
	}
	if want := sum / float64(ho.N); math.Abs(ho.Persistence.MAE-want) > 1e-6*want {
		t.Errorf("persistence MAE %v, want %v", ho.Persistence.MAE, want)
	}
	if len(a.Model.Meta.LossCurve.Train) != 2 || a.Model.Meta.Training.Stopped != "epochs" {
		t.Errorf("training record %+v", a.Model.Meta.Training)
	}
}

func TestInterruptKeepsBestWeights(t *testing.T) {
	cfg, _ := shipped.Load("default")
	cfg.Units, cfg.Epochs = 4, 50
	cfg.Data.From = closecast.MustParseDate("2023-01-01")
	ctx, cancel := context.WithCancel(context.Background())
	epochs := 0
	r, err := Run(ctx, cfg, btc(t), Options{Progress: writerFunc(func(p []byte) (int, error) {
		if epochs++; epochs == 3 {
			cancel()
		}
		return len(p), nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || r.Model.Meta.Training.EpochsTrained != 3 || r.Model.Meta.Training.Stopped != "interrupted" {
		t.Fatalf("interrupted run: %+v", r.Model.Meta.Training)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// cutCtx is a context that reports cancellation from its n-th Err call on:
// Run checks Err before each epoch and EpochContext before each batch, so n
// places the interrupt at a known batch without depending on time.
type cutCtx struct {
	context.Context
	calls, n int
}

func (c *cutCtx) Err() error {
	if c.calls++; c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

// An interrupt between two batches of epoch 2 stops there: the run records
// one epoch, and returns epoch 1's weights, not the half-trained ones, with
// everything else as an uninterrupted one-epoch run would give.
func TestInterruptMidEpochKeepsTheLastCompleteBest(t *testing.T) {
	cfg, _ := shipped.Load("reference")
	cfg.Units, cfg.Epochs, cfg.Threads = 8, 5, 2
	cfg.Data.From = closecast.MustParseDate("2023-01-01")
	ds, err := Prepare(cfg, btc(t))
	if err != nil {
		t.Fatal(err)
	}
	_, _, nFit := ds.Part(0, ds.Train-ds.Tail)
	batches := (nFit + cfg.BatchSize - 1) / cfg.BatchSize
	if batches < 4 {
		t.Fatalf("%d batches per epoch: too few to cut one in the middle", batches)
	}
	// Epoch 1: 1 check in Run + batches in EpochContext; epoch 2: 1 + half.
	ctx := &cutCtx{Context: context.Background(), n: 1 + batches + 1 + batches/2}
	cut, err := Run(ctx, cfg, btc(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.calls != ctx.n {
		t.Errorf("Err called %d times, want %d: training went on after the cut", ctx.calls, ctx.n)
	}
	tr := cut.Model.Meta.Training
	if !cut.Interrupted || tr.Stopped != "interrupted" || tr.EpochsTrained != 1 || tr.BestEpoch != 1 || len(cut.Model.Meta.LossCurve.Train) != 1 {
		t.Fatalf("cut run: interrupted %v, %+v", cut.Interrupted, tr)
	}
	cfg.Epochs = 1
	one, err := Run(context.Background(), cfg, btc(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := cut.Model.Pipeline.Net.Params(), one.Model.Pipeline.Net.Params()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("weight %d: %v after the cut, %v after one whole epoch", i, a[i], b[i])
		}
	}
	if !cut.Model.Meta.Metrics.Holdout.Model.Same(one.Model.Meta.Metrics.Holdout.Model) {
		t.Errorf("hold-out %+v, one-epoch run %+v", cut.Model.Meta.Metrics.Holdout.Model, one.Model.Meta.Metrics.Holdout.Model)
	}
}
