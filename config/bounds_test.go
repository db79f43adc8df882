package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast/internal/readlimit"
)

// Every numeric setting has an upper bound, checked before anything is
// allocated; an integer setting refuses a fraction instead of truncating it.
func TestNumericSettingsAreBoundedAndWhole(t *testing.T) {
	base := "symbol: BTC-USD\ndata: {from: 2018-01-01, to: 2019-01-01}\n"
	cases := map[string]string{
		"epochs: 2.9\n":                          "epochs",
		"batch_size: 1000000000\n":               "batch_size",
		"batch_size: 32.5\n":                     "batch_size",
		"early_stopping: {patience: 1.5}\n":      "patience",
		"window_size: 100000\n":                  "window_size",
		"layers: 17\n":                           "layers",
		"neuronios: 5000\n":                      "neuronios",
		"epochs: 100001\n":                       "epochs",
		"threads: 1025\n":                        "threads",
		"early_stopping: {patience: 100001}\n":   "patience",
		"learning_rate: 11\n":                    "learning_rate",
		"learning_rate: .nan\n":                  "learning_rate",
		"clip_norm: 1e7\n":                       "clip_norm",
		"seed: 0.5\n":                            "seed",
		"window_size: 3650\nbatch_size: 65536\n": "batch_size", // each within bounds, the product not
	}
	for extra, field := range cases {
		_, err := Decode(strings.NewReader(base + extra))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%q: error %v does not name %q", extra, err, field)
		}
	}
	// At the bounds: accepted.
	c, err := Decode(strings.NewReader(base + "epochs: 100000\nbatch_size: 65536\nthreads: 1024\n"))
	if err != nil || c.Epochs != MaxEpochs || c.BatchSize != MaxBatchSize {
		t.Fatalf("settings at their bounds: %+v, %v", c, err)
	}
}

// A config path naming a device or a huge file is refused, not read.
func TestLoadRefusesDevicesAndHugeFiles(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "c.yaml")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(link); !errors.Is(err, readlimit.ErrNotRegular) {
		t.Fatalf("config linked to /dev/zero: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", readlimit.Config)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, readlimit.ErrTooLarge) {
		t.Fatalf("config over its limit: %v", err)
	}
}

// The bounds paragraph of --help states every bound Validate enforces.
func TestBoundsDocNamesEveryBound(t *testing.T) {
	doc := Bounds()
	for _, want := range []string{
		fmt.Sprintf("window_size 1..%d", MaxWindowSize), fmt.Sprintf("batch_size 1..%d", MaxBatchSize),
		fmt.Sprintf("epochs 1..%d", MaxEpochs), fmt.Sprintf("neuronios 1..%d", MaxUnits), fmt.Sprintf("layers 1..%d", MaxLayers),
		fmt.Sprintf("threads 0..%d", MaxThreads), fmt.Sprintf("patience 0..%d", MaxPatience), fmt.Sprintf("horizon 1..%d", MaxHorizon),
		fmt.Sprintf("learning_rate (0, %g]", MaxLearningRate), fmt.Sprintf("clip_norm [0, %g]", MaxClipNorm),
		fmt.Sprintf("≤ %d", MaxActivations), "whole numbers",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("bounds doc lacks %q:\n%s", want, doc)
		}
	}
}

// FuzzDecode: any input is a config or an error, never a panic, and a
// config Decode accepts always passes Validate.
func FuzzDecode(f *testing.F) {
	base := "symbol: BTC-USD\ndata: {from: 2018-01-01, to: 2019-01-01}\n"
	for _, s := range []string{base, base + "epochs: 2.9\n", base + "batch_size: 1000000000\n", base + "early_stopping: {patience: .inf}\n",
		base + "window_size: 0x10\n", base + "epochs: [1]\n", "symbols: [BTC-USD, ETH-USD]\ndata: {from: 2018-01-01, to: 2019-01-01}\n",
		"symbols: [btc-usd, BTC-USD]\n", "symbol: X\nsymbols: [Y, Z]\n", "symbols: {a: 1}\n", "epochs: !!float 3\n", "- a\n- b\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := Decode(strings.NewReader(doc))
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Decode accepted a config Validate refuses: %v", verr)
			}
		}
	})
}
