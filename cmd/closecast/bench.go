package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/internal/readlimit"
	"github.com/closecast/closecast/lstm"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/train"
)

var benchCmd = &command{
	name:    "bench",
	summary: "Time training and inference of the reference model on this machine (optionally beside PyTorch)",
	usage:   "[--epochs N] [--threads N] [--torch SCRIPT] [--json]",
	example: `  closecast bench
  closecast bench --threads 1 --json
  closecast bench --torch ../shared/reference/torch_lstm.py   # PyTorch replica in the same run

An epoch is the training pass (forward, backward, Adam) of the reference
configuration over its 2093 training windows of real BTC-USD closes (66
batches of 32); inference is one window, batch 1. With --torch, the PyTorch
replica trains the same configuration on the same data with 1 thread (its
fastest setting here) right after, and the ratios of the medians are printed.`,
	run: runBench,
}

// benchJSON is bench's --json output.
type benchJSON struct {
	lstm.BenchResult
	Torch        *torchTiming `json:"torch,omitempty"`
	SpeedupEpoch float64      `json:"speedup_epoch,omitempty"` // torch epoch_s / closecast epoch_s
	SpeedupInfer float64      `json:"speedup_infer,omitempty"` // torch infer_us / closecast infer_us
}

type torchTiming struct {
	EpochSeconds float64 `json:"epoch_s"`
	InferMicros  float64 `json:"infer_us"`
	Threads      int     `json:"threads"`
}

func runBench(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	epochs := fs.Int("epochs", 5, "timed epochs (after one warm-up epoch)")
	threads := fs.Int("threads", 0, "goroutines for training (0 = all cores)")
	torch := fs.String("torch", "", "also run this PyTorch replica `script` (torch_lstm.py) on the same data and print ratios")
	asJSON := fs.Bool("json", false, "print one JSON object: epoch_s, gflops, infer_us, threads (+ torch and speedups)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *epochs < 1 || *epochs > config.MaxEpochs {
		return fmt.Errorf("%w: --epochs must be in 1..%d", errUsage, config.MaxEpochs)
	}
	cfg, err := shipped.Load("reference")
	if err != nil {
		return err
	}
	series, err := marketdata.EmbeddedSeries(cfg.Symbol)
	if err != nil {
		return err
	}
	ds, err := train.Prepare(cfg, series)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "benchmarking %d epochs of %d windows\n", *epochs, ds.Train)
	var res lstm.BenchResult
	err = untilDone(ctx, func() (err error) {
		res, err = lstm.Bench(ds.X[:ds.Train*cfg.WindowSize], ds.Y[:ds.Train], ds.Train, cfg.WindowSize, *epochs, *threads)
		return err
	})
	if err != nil {
		return err
	}
	out := benchJSON{BenchResult: res}
	if *torch != "" {
		t, err := runTorch(ctx, *torch, *epochs, cfg.Symbol)
		if err != nil {
			return err
		}
		out.Torch = t
		out.SpeedupEpoch = t.EpochSeconds / res.EpochSeconds
		out.SpeedupInfer = t.InferMicros / res.InferMicros
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "closecast: %.3f s/epoch (%d windows, median of %d), %.1f GFLOP/s, inference %.1f µs/window, %d threads, %s kernels\n",
		res.EpochSeconds, ds.Train, res.Epochs, res.GFLOPs, res.InferMicros, res.Threads, res.Kernel)
	if out.Torch != nil {
		fmt.Fprintf(e.stdout, "PyTorch:   %.3f s/epoch, inference %.1f µs/window, %d thread\n", out.Torch.EpochSeconds, out.Torch.InferMicros, out.Torch.Threads)
		fmt.Fprintf(e.stdout, "speed-up:  %.2f× per epoch, %.1f× per inference\n", out.SpeedupEpoch, out.SpeedupInfer)
	}
	return nil
}

// runTorch runs the PyTorch replica on the same bars and returns its median
// epoch time and batch-1 inference latency.
func runTorch(ctx context.Context, script string, epochs int, symbol string) (*torchTiming, error) {
	dir, err := os.MkdirTemp("", "closecast-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	series, err := marketdata.EmbeddedSeries(symbol)
	if err != nil {
		return nil, err
	}
	csv := filepath.Join(dir, "bars.csv")
	if err := marketdata.WriteCSVFile(csv, series.Bars); err != nil {
		return nil, err
	}
	jsonOut := filepath.Join(dir, "torch.json")
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", script, "--csv", csv, "--epochs", strconv.Itoa(epochs),
		"--threads", "1", "--blas-threads", "1", "--json-out", jsonOut)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("PyTorch replica failed: %v\n%s", err, b)
	}
	b, err := readlimit.ReadFile(jsonOut, readlimit.Metadata)
	if err != nil {
		return nil, err
	}
	var r struct {
		Timing struct {
			MedianTrainOnly float64 `json:"median_train_only_epoch_s"`
		} `json:"timing"`
		Inference struct {
			SingleMedianMs float64 `json:"single_median_ms"`
		} `json:"inference"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("PyTorch replica output: %v", err)
	}
	return &torchTiming{EpochSeconds: r.Timing.MedianTrainOnly, InferMicros: r.Inference.SingleMedianMs * 1000, Threads: 1}, nil
}
