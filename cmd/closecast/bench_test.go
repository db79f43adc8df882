package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestBenchJSON(t *testing.T) {
	code, out, errOut := cli(t, nil, "bench", "--epochs", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"epoch_s", "gflops", "infer_us", "threads"} {
		if v, ok := r[k].(float64); !ok || !(v > 0) {
			t.Errorf("%s = %v in %s", k, r[k], out)
		}
	}
}

// The PyTorch replica runs in the same command and its medians are read
// back: the printed speed-ups are ratios measured side by side.
func TestBenchBesideTorch(t *testing.T) {
	script, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared", "reference", "torch_lstm.py"))
	_, errScript := os.Stat(script)
	errTorch := exec.Command("/usr/bin/python3", "-c", "import torch, sklearn, pandas").Run()
	if errScript != nil || errTorch != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs ../shared/reference/torch_lstm.py (%v) and python3-torch, -sklearn, -pandas (%v)", errScript, errTorch)
		}
		t.Skipf("no PyTorch replica here: %v %v", errScript, errTorch)
	}
	code, out, errOut := cli(t, nil, "bench", "--epochs", "1", "--json", "--torch", script)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		EpochS       float64 `json:"epoch_s"`
		SpeedupEpoch float64 `json:"speedup_epoch"`
		SpeedupInfer float64 `json:"speedup_infer"`
		Torch        struct {
			EpochS  float64 `json:"epoch_s"`
			InferUS float64 `json:"infer_us"`
		} `json:"torch"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if !(r.Torch.EpochS > 0 && r.Torch.InferUS > 0) || r.SpeedupEpoch != r.Torch.EpochS/r.EpochS || !(r.SpeedupInfer > 0) {
		t.Fatalf("%s", out)
	}
}
