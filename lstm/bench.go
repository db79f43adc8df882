package lstm

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

// ReferenceConfig is the reference Keras model: LSTM(50) → Dropout(0.2) →
// LSTM(50) → Dropout(0.2) → Dense(1) on one feature.
func ReferenceConfig() Config {
	return Config{Features: 1, Units: []int{50, 50}, Dropout: 0.2, Outputs: 1}
}

// SyntheticWindows returns n windows of steps values cut from one seeded
// geometric random walk (BTC-like drift and volatility), min-max scaled to
// [0, 1] over the whole series as the reference pipeline does, with the next
// value as target: x is [n][steps][1], y is [n][1]. For benchmarks and tests.
func SyntheticWindows(n, steps int, seed uint64) (x, y []float32) {
	r := newRNG(seed)
	s := make([]float64, n+steps)
	v := 0.0
	for i := range s {
		s[i] = math.Exp(v)
		v += 0.0008 + 0.035*r.normal()
	}
	lo, hi := slices.Min(s), slices.Max(s)
	x = make([]float32, n*steps)
	y = make([]float32, n)
	for i := 0; i < n; i++ {
		for t := 0; t < steps; t++ {
			x[i*steps+t] = float32((s[i+t] - lo) / (hi - lo))
		}
		y[i] = float32((s[i+steps] - lo) / (hi - lo))
	}
	return x, y
}

// BenchResult is what Bench measured.
type BenchResult struct {
	EpochSeconds float64 `json:"epoch_s"`  // median wall time of one training epoch
	GFLOPs       float64 `json:"gflops"`   // training GFLOP/s at that median (FLOPs as Network.FLOPs)
	InferMicros  float64 `json:"infer_us"` // median one-window Predict latency, µs
	Threads      int     `json:"threads"`  // goroutines used for training
	Kernel       string  `json:"kernel"`   // "avx512", "avx2" or "go"
	Epochs       int     `json:"epochs"`   // epochs timed
	Loss         float64 `json:"loss"`     // training loss of the last epoch (sanity: it must fall)
}

// Bench trains a fresh reference-config network (seed 42, Keras defaults,
// batch 32) for epochs epochs on the n windows x ([n][steps][1]) and y
// ([n][1]), then times 1000 one-window predictions. threads 0 means all
// CPUs; threads 1 also keeps the one-window predictions on one goroutine
// (SetOneWindowThreads(1)), so that a one-thread run uses one core.
func Bench(x, y []float32, n, steps, epochs, threads int) (BenchResult, error) {
	if epochs < 1 {
		return BenchResult{}, fmt.Errorf("lstm: Bench needs epochs >= 1, got %d", epochs)
	}
	if len(x) != n*steps || len(y) != n || n < 1 {
		return BenchResult{}, fmt.Errorf("lstm: Bench data: len(x)=%d len(y)=%d, want n*steps=%d and n=%d (one feature)", len(x), len(y), n*steps, n)
	}
	net, err := New(ReferenceConfig(), 42)
	if err != nil {
		return BenchResult{}, err
	}
	cfg := DefaultTrainConfig()
	cfg.Threads = threads
	tr, err := NewTrainer(net, cfg)
	if err != nil {
		return BenchResult{}, err
	}
	res := BenchResult{Threads: tr.threads, Kernel: KernelName(), Epochs: epochs}
	times := make([]float64, epochs)
	for e := range times {
		t0 := time.Now()
		res.Loss = tr.Epoch(x, y, n, steps)
		times[e] = time.Since(t0).Seconds()
	}
	slices.Sort(times)
	res.EpochSeconds = times[len(times)/2]
	res.GFLOPs = net.FLOPs(steps, true) * float64(n) / res.EpochSeconds / 1e9
	if threads == 1 {
		net.SetOneWindowThreads(1)
	}
	out := make([]float32, 1)
	for range 50 {
		net.Predict(x[:steps], 1, steps, out)
	}
	lat := make([]float64, 1000)
	runtime.GC()
	for i := range lat {
		t0 := time.Now()
		net.Predict(x[:steps], 1, steps, out)
		lat[i] = time.Since(t0).Seconds()
	}
	slices.Sort(lat)
	res.InferMicros = lat[len(lat)/2] * 1e6
	return res, nil
}
