package lstm

import (
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/parity inputs and regenerate golden vectors with PyTorch")

const parityDir = "testdata/parity"

type parityCase struct {
	name   string
	cfg    Config
	T, n   int
	loss   Loss
	delta  float32
	levels []float32 // Pinball's quantile levels
}

var parityCases = []parityCase{
	{"reference", Config{Features: 1, Units: []int{50, 50}, Dropout: 0.2, Outputs: 1}, 60, 16, MAE, 0, nil},
	{"deep-mse", Config{Features: 3, Units: []int{7, 5, 3}, Outputs: 2}, 9, 5, MSE, 0, nil},
	{"huber", Config{Features: 2, Units: []int{17}, Outputs: 1}, 12, 7, Huber, 0.1, nil},
	{"pinball", Config{Features: 2, Units: []int{11, 6}, Outputs: 7}, 10, 9, Pinball, 0,
		[]float32{0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975}},
}

// python returns the interpreter that has torch, or "" if none does.
func python(t *testing.T) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import torch").Run() == nil {
			return p
		}
	}
	return ""
}

// needPython returns the torch-enabled interpreter. Without one the test is
// skipped on a developer machine but fails in CI (CI=true must install
// python3-torch).
func needPython(t *testing.T) string {
	t.Helper()
	p := python(t)
	if p == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but python3 cannot import torch: CI must apt-get install python3-torch")
		}
		t.Skip("python3-torch not installed (apt-get install python3-torch); this test is mandatory in CI")
	}
	return p
}

func parityScript(t *testing.T) string {
	s, err := filepath.Abs("../scripts/parity/parity.py")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeParityInputs(t *testing.T) {
	if err := os.MkdirAll(parityDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, pc := range parityCases {
		net, err := New(pc.cfg, uint64(1000+i))
		if err != nil {
			t.Fatal(err)
		}
		r := newRNG(uint64(2000 + i))
		for j := range net.params { // move off the symmetric init so every gradient is exercised
			net.params[j] += float32(0.05 * r.normal())
		}
		net.syncDerived()
		if err := net.SaveFile(filepath.Join(parityDir, pc.name+".weights.safetensors")); err != nil {
			t.Fatal(err)
		}
		x, y := randomWalk(uint64(3000+i), pc.n, pc.T, pc.cfg.Features, pc.cfg.Outputs)
		meta := map[string]string{"loss": pc.loss.String(), "huber_delta": strconv.FormatFloat(float64(pc.delta), 'g', -1, 32),
			"lr": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-07", "steps": "3"}
		yw := pc.cfg.Outputs
		if pc.loss == Pinball {
			yw, y = 1, y[:pc.n] // one target per window
			levels := make([]string, len(pc.levels))
			for j, v := range pc.levels {
				levels[j] = strconv.FormatFloat(float64(v), 'g', -1, 32)
			}
			meta["quantiles"] = strings.Join(levels, ",")
		}
		f, err := os.Create(filepath.Join(parityDir, pc.name+".data.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		err = writeTensors(f, meta, []tensor{{"x", []int{pc.n, pc.T, pc.cfg.Features}, x}, {"y", []int{pc.n, yw}, y}})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(needPython(t), parityScript(t), "golden", parityDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("parity.py golden: %v\n%s", err, out)
	} else {
		t.Logf("%s", out)
	}
}

func readTensorFile(t *testing.T, path string) map[string]tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, _, err := readTensors(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ts
}

// maxRelErr is max|got-want| / max(max|want|, floor) over a tensor.
func maxRelErr(got, want []float32, floor float64) float64 {
	var dm, wm float64
	for i := range want {
		dm = math.Max(dm, math.Abs(float64(got[i])-float64(want[i])))
		wm = math.Max(wm, math.Abs(float64(want[i])))
	}
	return dm / math.Max(wm, floor)
}

// TestParityGolden compares forward outputs, loss, every parameter gradient
// and the weights after three Keras-Adam steps with PyTorch's (golden files
// made by scripts/parity/parity.py), on both kernel paths.
func TestParityGolden(t *testing.T) {
	if *updateGolden {
		writeParityInputs(t)
	}
	for _, pc := range parityCases {
		t.Run(pc.name, func(t *testing.T) {
			base := filepath.Join(parityDir, pc.name)
			data := readTensorFile(t, base+".data.safetensors")
			gold := readTensorFile(t, base+".golden.safetensors")
			x, y := data["x"].data, data["y"].data
			bothPaths(t, func(t *testing.T) {
				net, err := LoadFile(base + ".weights.safetensors")
				if err != nil {
					t.Fatal(err)
				}
				if got := net.Config(); got.Features != pc.cfg.Features || len(got.Units) != len(pc.cfg.Units) || got.Dropout != pc.cfg.Dropout {
					t.Fatalf("config read back as %+v, want %+v", got, pc.cfg)
				}
				out := make([]float32, pc.n*pc.cfg.Outputs)
				net.Predict(x, pc.n, pc.T, out)
				if e := maxRelErr(out, gold["out"].data, 1e-3); e > 1e-5 {
					t.Errorf("forward: max relative error %.3g vs PyTorch (want <= 1e-5)\ngo    %v\ntorch %v", e, out, gold["out"].data)
				}
				for _, threads := range []int{1, 2} {
					tr, err := NewTrainer(net.Clone(), TrainConfig{Loss: pc.loss, HuberDelta: pc.delta, Quantiles: pc.levels, LearningRate: 1e-3,
						Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, BatchSize: pc.n, Threads: threads})
					if err != nil {
						t.Fatal(err)
					}
					tr.noDrop = true
					rows := make([]int, pc.n)
					for i := range rows {
						rows[i] = i
					}
					loss := tr.gradient(x, y, rows, pc.T) / float64(pc.n*pc.cfg.Outputs)
					if want := float64(gold["loss"].data[0]); math.Abs(loss-want) > 1e-5*math.Max(math.Abs(want), 1e-3) {
						t.Errorf("threads=%d: loss %.8g, PyTorch %.8g", threads, loss, want)
					}
					gnet := net.Clone()
					copy(gnet.params, tr.grad)
					for _, g := range gnet.torchTensors() {
						want, ok := gold["grad."+g.name]
						if !ok {
							continue // bias_hh: frozen in PyTorch, folded into bias_ih here
						}
						if e := maxRelErr(g.data, want.data, 1e-6); e > 1e-4 {
							t.Errorf("threads=%d: gradient of %s: max relative error %.3g (want <= 1e-4)", threads, g.name, e)
						}
					}
					// Three Keras-Adam steps on the same batch.
					tr.apply()
					for s := 1; s < 3; s++ {
						tr.gradient(x, y, rows, pc.T)
						tr.apply()
					}
					for _, w := range tr.net.torchTensors() {
						want := gold["adam."+w.name]
						// Adam's first steps move each weight by about ±lr whatever
						// the gradient's size, so the yardstick is the 3e-3 total
						// movement: 1e-6 is 1/3000 of it, a few float32 ulps of a
						// weight near 1.
						var dm float64
						for i := range want.data {
							dm = math.Max(dm, math.Abs(float64(w.data[i])-float64(want.data[i])))
						}
						if dm > 1e-6 {
							t.Errorf("threads=%d: %s after 3 Adam steps: max abs difference %.3g vs PyTorch", threads, w.name, dm)
						}
					}
				}
			})
		})
	}
}

// TestTorchLoadsWeights writes a weights file, has PyTorch load it with
// load_state_dict(strict=True) and predict, and compares with Predict.
func TestTorchLoadsWeights(t *testing.T) {
	py := needPython(t)
	dir := t.TempDir()
	cfg := Config{Features: 2, Units: []int{24, 19}, Dropout: 0.2, Outputs: 1}
	net, err := New(cfg, 77)
	if err != nil {
		t.Fatal(err)
	}
	x, y := randomWalk(78, 40, 30, 2, 1)
	tr, err := NewTrainer(net, TrainConfig{Loss: MAE, LearningRate: 1e-2, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, BatchSize: 8, Threads: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tr.Epoch(x, y, 40, 30) // trained weights, not just the initialisation
	wpath := filepath.Join(dir, "model.safetensors")
	if err := net.SaveFile(wpath); err != nil {
		t.Fatal(err)
	}
	in, err := os.Create(filepath.Join(dir, "in.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeTensors(in, nil, []tensor{{"x", []int{40, 30, 2}, x}}); err != nil {
		t.Fatal(err)
	}
	in.Close()
	outPath := filepath.Join(dir, "out.safetensors")
	cmd := exec.Command(py, parityScript(t), "predict", "--weights", wpath, "--input", in.Name(), "--output", outPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("PyTorch could not load the weights: %v\n%s", err, out)
	}
	want := readTensorFile(t, outPath)["y"].data
	bothPaths(t, func(t *testing.T) {
		got := make([]float32, 40)
		net.Predict(x, 40, 30, got)
		if e := maxRelErr(got, want, 1e-3); e > 1e-5 {
			t.Errorf("predictions differ from PyTorch's: max relative error %.3g\ngo    %v\ntorch %v", e, got, want)
		}
	})
}
