package lstm

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
)

// Loss selects the training loss. Every loss is the mean over the batch and
// the outputs, as Keras' compile(loss=...) reports it.
type Loss int

const (
	MAE   Loss = iota // mean absolute error, |e| (Keras "mean_absolute_error")
	MSE               // mean squared error, e² (Keras "mean_squared_error")
	Huber             // 0.5e² if |e| <= δ, else δ(|e| - δ/2) (Keras Huber)
	// Pinball is the quantile head's loss: outputs are cumulative-softplus
	// quantiles at TrainConfig.Quantiles, the target one value per window
	// (pinball.go).
	Pinball
)

// String returns the loss's short name ("mae", "mse", "huber", "pinball").
func (l Loss) String() string {
	switch l {
	case MAE:
		return "mae"
	case MSE:
		return "mse"
	case Huber:
		return "huber"
	case Pinball:
		return "pinball"
	}
	return fmt.Sprintf("Loss(%d)", int(l))
}

// ParseLoss accepts "mae"/"mean_absolute_error", "mse"/"mean_squared_error"
// "huber" (case-insensitive; "huber_loss" too) and "pinball" ("quantile").
func ParseLoss(s string) (Loss, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mae", "mean_absolute_error":
		return MAE, nil
	case "mse", "mean_squared_error":
		return MSE, nil
	case "huber", "huber_loss":
		return Huber, nil
	case "pinball", "quantile":
		return Pinball, nil
	}
	return 0, fmt.Errorf("lstm: unknown loss %q, want mae, mean_absolute_error, mse, mean_squared_error, huber or pinball", s)
}

// TrainConfig holds the optimiser and batching settings of a Trainer.
type TrainConfig struct {
	Loss       Loss
	HuberDelta float32 // Huber's δ; 1 when zero
	// Quantiles are Pinball's levels τ_j, one per output, strictly
	// increasing in (0, 1); unused by the other losses.
	Quantiles []float32
	// Adam, with Keras' update rule
	// var -= lr·sqrt(1-β2^t)/(1-β1^t) · m/(sqrt(v)+ε).
	LearningRate, Beta1, Beta2, Epsilon float64
	ClipNorm                            float32 // global-norm gradient clipping; 0 = off
	BatchSize                           int
	Shuffle                             bool // reshuffle windows every epoch (Keras fit shuffle=True)
	// Threads is the number of goroutines a batch is split over; 0 means
	// runtime.NumCPU(). The same Threads, Seed and data give bit-identical
	// weights; a different Threads changes the summation order, so weights
	// then agree only to rounding.
	Threads int
	Seed    uint64 // shuffling and dropout masks
}

// DefaultTrainConfig is Keras' fit/compile default for the reference model:
// MAE, Adam(1e-3, 0.9, 0.999, 1e-7), batch 32, shuffling, all CPUs, seed 42.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Loss: MAE, LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7,
		BatchSize: 32, Shuffle: true, Seed: 42}
}

// Trainer fits a Network with mini-batch Adam. It owns the optimiser state;
// the Network's weights change in place after every batch.
type Trainer struct {
	net     *Network
	cfg     TrainConfig
	threads int
	ws      []*workspace
	m, v    []float32 // Adam moments
	t       int       // Adam step count
	batches uint64    // batches seen, keys the dropout masks
	rng     *rng      // shuffling
	order   []int
	grad    []float32
	losses  []float64   // per-worker loss sums
	noDrop  bool        // tests: gradient parity with dropout off
	qs      [][]float64 // Pinball: per-worker quantile scratch
}

// NewTrainer returns a trainer for n. Zero-valued fields of cfg that have
// no meaningful zero (HuberDelta, Threads) take their documented defaults.
func NewTrainer(n *Network, cfg TrainConfig) (*Trainer, error) {
	if cfg.HuberDelta == 0 {
		cfg.HuberDelta = 1
	}
	switch {
	case cfg.Loss < MAE || cfg.Loss > Pinball:
		return nil, fmt.Errorf("lstm: unknown Loss %d", int(cfg.Loss))
	case !(cfg.HuberDelta > 0):
		return nil, fmt.Errorf("lstm: HuberDelta = %v, want > 0", cfg.HuberDelta)
	case !(cfg.LearningRate > 0):
		return nil, fmt.Errorf("lstm: LearningRate = %v, want > 0", cfg.LearningRate)
	case !(cfg.Beta1 >= 0 && cfg.Beta1 < 1) || !(cfg.Beta2 >= 0 && cfg.Beta2 < 1):
		return nil, fmt.Errorf("lstm: Beta1 = %v, Beta2 = %v, want each in [0, 1)", cfg.Beta1, cfg.Beta2)
	case !(cfg.Epsilon > 0):
		return nil, fmt.Errorf("lstm: Epsilon = %v, want > 0", cfg.Epsilon)
	case !(cfg.ClipNorm >= 0):
		return nil, fmt.Errorf("lstm: ClipNorm = %v, want >= 0", cfg.ClipNorm)
	case cfg.BatchSize < 1:
		return nil, fmt.Errorf("lstm: BatchSize = %d, want >= 1", cfg.BatchSize)
	case cfg.Threads < 0:
		return nil, fmt.Errorf("lstm: Threads = %d, want >= 0", cfg.Threads)
	}
	if cfg.Loss == Pinball {
		if err := checkLevels(cfg.Quantiles, n.cfg.Outputs); err != nil {
			return nil, err
		}
		cfg.Quantiles = append([]float32(nil), cfg.Quantiles...)
	}
	th := cfg.Threads
	if th == 0 {
		th = runtime.NumCPU()
	}
	th = min(th, cfg.BatchSize)
	t := &Trainer{net: n, cfg: cfg, threads: th,
		m: make([]float32, len(n.params)), v: make([]float32, len(n.params)),
		grad: make([]float32, len(n.params)), rng: newRNG(cfg.Seed ^ 0x5eed5eed),
		losses: make([]float64, th)}
	if cfg.Loss == Pinball {
		for range th {
			t.qs = append(t.qs, make([]float64, n.cfg.Outputs))
		}
	}
	return t, nil
}

// Network returns the network being trained.
func (t *Trainer) Network() *Network { return t.net }

// Steps returns the number of optimiser steps taken so far.
func (t *Trainer) Steps() int { return t.t }

// targetWidth is the number of target values per window: one for the
// quantile head, one per output otherwise.
func (t *Trainer) targetWidth() int {
	if t.cfg.Loss == Pinball {
		return 1
	}
	return t.net.cfg.Outputs
}

func (t *Trainer) checkData(x, y []float32, n, steps int) {
	F, O := t.net.cfg.Features, t.targetWidth()
	switch {
	case n < 1 || steps < 1:
		panic(fmt.Sprintf("lstm: n=%d steps=%d, want both >= 1", n, steps))
	case len(x) != n*steps*F:
		panic(fmt.Sprintf("lstm: x has %d values, want n*steps*Features = %d*%d*%d", len(x), n, steps, F))
	case len(y) != n*O:
		panic(fmt.Sprintf("lstm: y has %d values, want n*%d = %d*%d", len(y), O, n, O))
	}
}

// Epoch runs one pass over n windows: x is [n][steps][Features] and y
// [n][Outputs] ([n][1] for Pinball), row-major. It returns the
// batch-size-weighted mean training loss (what Keras' progress bar shows),
// computed with dropout on.
func (t *Trainer) Epoch(x, y []float32, n, steps int) float64 {
	loss, _ := t.EpochContext(context.Background(), x, y, n, steps)
	return loss
}

// EpochContext is Epoch that stops between batches once ctx is done; it then
// returns ctx's error and the mean loss of the batches it ran (the weights
// keep those batches' updates).
func (t *Trainer) EpochContext(ctx context.Context, x, y []float32, n, steps int) (float64, error) {
	t.checkData(x, y, n, steps)
	if cap(t.order) < n {
		t.order = make([]int, n)
	}
	t.order = t.order[:n]
	for i := range t.order {
		t.order[i] = i
	}
	if t.cfg.Shuffle {
		for i := n - 1; i > 0; i-- {
			j := t.rng.intn(i + 1)
			t.order[i], t.order[j] = t.order[j], t.order[i]
		}
	}
	var sum float64
	for start := 0; start < n; start += t.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			if start == 0 {
				return 0, err
			}
			return sum / float64(start*t.net.cfg.Outputs), err
		}
		rows := t.order[start:min(start+t.cfg.BatchSize, n)]
		sum += t.gradient(x, y, rows, steps)
		t.apply()
	}
	return sum / float64(n*t.net.cfg.Outputs), nil
}

// Evaluate returns the inference-mode (no dropout) mean loss over n windows,
// with the trainer's loss function. Layouts as Epoch.
func (t *Trainer) Evaluate(x, y []float32, n, steps int) float64 {
	t.checkData(x, y, n, steps)
	O, F := t.net.cfg.Outputs, t.net.cfg.Features
	pred := make([]float32, n*O)
	parts := min(t.threads, (n+predictChunk-1)/predictChunk)
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		lo, hi := n*p/parts, n*(p+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.net.Predict(x[lo*steps*F:hi*steps*F], hi-lo, steps, pred[lo*O:hi*O])
		}()
	}
	wg.Wait()
	var sum float64
	if t.cfg.Loss == Pinball {
		q := make([]float64, O)
		for s := 0; s < n; s++ {
			sum += t.pinballRow(pred[s*O:(s+1)*O], y[s], nil, 0, q)
		}
		return sum / float64(n*O)
	}
	for i, p := range pred {
		l, _ := t.lossAt(p - y[i])
		sum += l
	}
	return sum / float64(n*O)
}

// lossAt returns the loss of one residual e = prediction - target and its
// derivative with respect to the prediction.
func (t *Trainer) lossAt(e float32) (float64, float32) {
	switch t.cfg.Loss {
	case MSE:
		return float64(e) * float64(e), 2 * e
	case Huber:
		d := t.cfg.HuberDelta
		if e >= -d && e <= d {
			return 0.5 * float64(e) * float64(e), e
		}
		ae := float64(e)
		if e < 0 {
			return float64(d) * (-ae - 0.5*float64(d)), -d
		}
		return float64(d) * (ae - 0.5*float64(d)), d
	default:
		switch {
		case e > 0:
			return float64(e), 1
		case e < 0:
			return -float64(e), -1
		}
		return 0, 0
	}
}

// gradient computes the mean-loss gradient of one batch (window indices rows)
// into t.grad and returns the batch's summed element losses. The batch is
// split into contiguous row ranges, one per goroutine; partial gradients are
// summed in worker order so the result depends only on the thread count.
func (t *Trainer) gradient(x, y []float32, rows []int, steps int) float64 {
	B := len(rows)
	P := min(t.threads, B)
	per := (t.cfg.BatchSize + t.threads - 1) / t.threads
	for len(t.ws) < P {
		t.ws = append(t.ws, nil)
	}
	drop := t.net.cfg.Dropout > 0 && !t.noDrop
	step := t.batches
	t.batches++
	work := func(w int) {
		lo, hi := B*w/P, B*(w+1)/P
		ws := t.ws[w]
		if ws == nil || ws.tCap < steps || ws.bsCap < hi-lo {
			ws = newWorkspace(t.net, max(per, hi-lo), steps)
			ws.enableTraining(t.net)
			t.ws[w] = ws
		}
		bs := hi - lo
		copy(ws.idx, rows[lo:hi])
		ws.load(t.net, x, bs, steps)
		if drop {
			ws.dropoutMasks(t.net, bs, steps, t.net.cfg.Dropout, t.cfg.Seed, step, lo)
		}
		t.net.forward(ws, bs, steps, drop)
		O := t.net.cfg.Outputs
		scale := 1 / float32(B*O)
		var sum float64
		if t.cfg.Loss == Pinball {
			q := t.qs[w]
			for s := 0; s < bs; s++ {
				sum += t.pinballRow(ws.yhat[s*O:(s+1)*O], y[ws.idx[s]], ws.dy[s*O:(s+1)*O], scale, q)
			}
		} else {
			for s := 0; s < bs; s++ {
				for o := 0; o < O; o++ {
					l, d := t.lossAt(ws.yhat[s*O+o] - y[ws.idx[s]*O+o])
					sum += l
					ws.dy[s*O+o] = d * scale
				}
			}
		}
		t.losses[w] = sum
		clear(ws.grad)
		t.net.backward(ws, bs, steps, drop)
	}
	var wg sync.WaitGroup
	for w := 1; w < P; w++ {
		wg.Add(1)
		go func() { defer wg.Done(); work(w) }()
	}
	work(0)
	wg.Wait()
	copy(t.grad, t.ws[0].grad)
	sum := t.losses[0]
	for w := 1; w < P; w++ {
		for i, v := range t.ws[w].grad {
			t.grad[i] += v
		}
		sum += t.losses[w]
	}
	return sum
}

// apply clips t.grad if configured and takes one Keras-Adam step.
func (t *Trainer) apply() {
	if t.cfg.ClipNorm > 0 {
		var ss float64
		for _, v := range t.grad {
			ss += float64(v) * float64(v)
		}
		if nrm := math.Sqrt(ss); nrm > float64(t.cfg.ClipNorm) {
			s := float32(float64(t.cfg.ClipNorm) / nrm)
			for i := range t.grad {
				t.grad[i] *= s
			}
		}
	}
	t.t++
	b1, b2 := float32(t.cfg.Beta1), float32(t.cfg.Beta2)
	alpha := float32(t.cfg.LearningRate * math.Sqrt(1-math.Pow(t.cfg.Beta2, float64(t.t))) /
		(1 - math.Pow(t.cfg.Beta1, float64(t.t))))
	eps := float32(t.cfg.Epsilon)
	p := t.net.params
	for i, g := range t.grad {
		m := t.m[i]*b1 + g*(1-b1)
		v := t.v[i]*b2 + g*g*(1-b2)
		t.m[i], t.v[i] = m, v
		p[i] -= alpha * (m / (float32(math.Sqrt(float64(v))) + eps))
	}
	t.net.syncDerived()
}
