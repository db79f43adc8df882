package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast"
)

func TestReferenceConfigIsTheNotebook(t *testing.T) {
	c, err := Load(filepath.Join("shipped", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Name: "reference", Symbol: "BTC-USD",
		Data:     Range{closecast.MustParseDate("2018-01-01"), closecast.MustParseDate("2025-04-30")},
		Features: []string{"close"}, Target: TargetClose, ScalerFit: FitAll,
		WindowSize: 60, Horizon: 1, InputSize: 1, TrainFraction: 0.8, Layers: 2, Units: 50, Dropout: 0.2,
		Loss: "mean_absolute_error", LearningRate: 0.001, Epochs: 150, BatchSize: 32, Shuffle: true, Seed: 42,
		EarlyStopping: EarlyStopping{Patience: 0, Monitor: MonitorHoldout, TailFraction: 0.1},
		Validation:    Validation{closecast.MustParseDate("2025-06-01"), closecast.MustParseDate("2025-07-16")},
	}
	if c.String() != want.String() {
		t.Fatalf("reference.yaml decodes to\n%s\nwant\n%s", c, want)
	}
}

func TestShippedConfigsLoad(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("shipped", "*.yaml"))
	if len(paths) < 2 {
		t.Fatalf("want reference.yaml and default.yaml, found %v", paths)
	}
	for _, p := range paths {
		if _, err := Load(p); err != nil {
			t.Error(err)
		}
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	base := "symbol: BTC-USD\ndata: {from: 2018-01-01, to: 2019-01-01}\n"
	cases := map[string]string{
		"epochs: 0\n":                                "epochs",
		"target: price\n":                            "target",
		"features: [close, close]\n":                 "features",
		"input_size: 3\n":                            "input_size",
		"train_fraction: 1\n":                        "train_fraction",
		"loss_function: hinge\n":                     "loss_function",
		"neuronos: 50\n":                             "neuronos", // typo: unknown key
		"data: {from: 2019-01-01, to: 2018-01-01}\n": "data",
		"validation: {from: 2025-13-01}\n":           "2025-13-01",
		"horizon: 0\n":                               "horizon",
		"horizon: 91\n":                              "horizon",
		"loss_function: pinball\n":                   "target",
		"target: log_return_ewma_z\n":                "loss_function",
		"loss_function: pinball\ntarget: log_return_ewma_z\nhorizon: 2\n": "horizon",
	}
	for extra, field := range cases {
		_, err := Decode(strings.NewReader(base + extra))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%q: error %v does not name %q", extra, err, field)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	c := Defaults()
	c.Data = Range{closecast.MustParseDate("2020-01-01"), closecast.MustParseDate("2021-01-01")}
	c.Features = []string{"close", "volume"}
	c.InputSize = 2
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(c.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != c.String() {
		t.Fatalf("round trip changed the config:\n%s\nvs\n%s", got, c)
	}
}
