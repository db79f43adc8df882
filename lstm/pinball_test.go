package lstm

import (
	"math"
	"strings"
	"testing"
)

// TestPinballLevelsValidated: the levels must be one per output, strictly
// increasing inside (0, 1).
func TestPinballLevelsValidated(t *testing.T) {
	net, err := New(Config{Features: 1, Units: []int{4}, Outputs: 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, levels := range [][]float32{nil, {0.1, 0.5}, {0.1, 0.5, 0.5}, {0.5, 0.1, 0.9}, {0, 0.5, 0.9}, {0.1, 0.5, 1}} {
		cfg := DefaultTrainConfig()
		cfg.Loss, cfg.Quantiles = Pinball, levels
		if _, err := NewTrainer(net, cfg); err == nil || !strings.Contains(err.Error(), "quantile levels") {
			t.Errorf("levels %v: error %v", levels, err)
		}
	}
}

// TestPinballLearnsQuantiles trains a head on targets drawn from N(0, 1)
// independently of the inputs: its quantiles must approach the normal
// ones (within sampling and training error) and ascend on every window.
func TestPinballLearnsQuantiles(t *testing.T) {
	levels := []float32{0.05, 0.25, 0.5, 0.75, 0.95}
	want := []float64{-1.645, -0.674, 0, 0.674, 1.645}
	const n, T = 1024, 4
	net, err := New(Config{Features: 1, Units: []int{8}, Outputs: len(levels)}, 5)
	if err != nil {
		t.Fatal(err)
	}
	x, y := randData(6, n, T, 1, 1)
	for i := range y {
		y[i] *= 2 // randData's targets are N(0, 0.5²)
	}
	cfg := DefaultTrainConfig()
	cfg.Loss, cfg.Quantiles, cfg.LearningRate, cfg.Threads = Pinball, levels, 1e-2, 2
	tr, err := NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := tr.Evaluate(x, y, n, T)
	for range 30 {
		tr.Epoch(x, y, n, T)
	}
	if last := tr.Evaluate(x, y, n, T); !(last < first) {
		t.Errorf("pinball loss went from %.4f to %.4f", first, last)
	}
	raw := make([]float32, n*len(levels))
	net.Predict(x, n, T, raw)
	Quantiles(raw, len(levels), raw)
	mean := make([]float64, len(levels))
	for s := 0; s < n; s++ {
		for j := range levels {
			v := float64(raw[s*len(levels)+j])
			if j > 0 && !(raw[s*len(levels)+j] > raw[s*len(levels)+j-1]) {
				t.Fatalf("window %d: quantiles %v cross", s, raw[s*len(levels):(s+1)*len(levels)])
			}
			mean[j] += v / n
		}
	}
	for j, w := range want {
		if math.Abs(mean[j]-w) > 0.2 {
			t.Errorf("level %.2f: mean quantile %.3f, want %.3f ± 0.2", levels[j], mean[j], w)
		}
	}
}
