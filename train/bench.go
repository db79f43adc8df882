package train

import (
	"sort"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config"
)

// BenchResult is the speed of one configuration on this machine.
type BenchResult struct {
	EpochSeconds float64 `json:"epoch_s"`  // median seconds per epoch: training pass (forward, backward, Adam) + hold-out loss
	GFLOPS       float64 `json:"gflops"`   // training GFLOP/s at that speed
	InferMicros  float64 `json:"infer_us"` // median µs for one window's forecast (batch 1)
	Threads      int     `json:"threads"`
	Windows      int     `json:"windows"` // training windows per epoch
	Epochs       int     `json:"epochs"`  // epochs timed
}

// Bench trains cfg on series for epochs timed epochs (after one untimed
// warm-up epoch) and times batch-1 inference; it reports medians, which
// resist a noisy neighbour better than means.
func Bench(cfg config.Config, series closecast.Series, epochs int) (BenchResult, error) {
	ds, err := Prepare(cfg, series)
	if err != nil {
		return BenchResult{}, err
	}
	net, trainer, tc, err := Build(cfg)
	if err != nil {
		return BenchResult{}, err
	}
	per := cfg.WindowSize * len(cfg.Features)
	n := ds.Train
	x, y := ds.X[:n*per], ds.Y[:n]
	xv, yv, nv := ds.X[n*per:], ds.Y[n:], ds.Windows()-n
	// An epoch as Keras (and the PyTorch replica) times it: the training pass
	// plus the validation loss on the hold-out.
	epoch := func() {
		trainer.Epoch(x, y, n, cfg.WindowSize)
		trainer.Evaluate(xv, yv, nv, cfg.WindowSize)
	}
	epoch()
	times := make([]float64, epochs)
	for e := range times {
		t0 := time.Now()
		epoch()
		times[e] = time.Since(t0).Seconds()
	}
	epochS := median(times)

	out := make([]float32, 1)
	one := x[:per]
	const calls = 2000
	lat := make([]float64, 0, 20)
	for r := 0; r < 20; r++ {
		t0 := time.Now()
		for range calls / 20 {
			net.Predict(one, 1, cfg.WindowSize, out)
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/float64(calls/20))
	}
	return BenchResult{
		EpochSeconds: epochS,
		GFLOPS:       net.FLOPs(cfg.WindowSize, true) * float64(n) / epochS / 1e9,
		InferMicros:  median(lat),
		Threads:      tc.Threads,
		Windows:      n,
		Epochs:       epochs,
	}, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
