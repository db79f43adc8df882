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

// A global config names its markets in symbols; Symbol is the first, and
// each market's per-symbol config is the same recipe.
func TestGlobalConfig(t *testing.T) {
	c, err := Load(filepath.Join("shipped", "global.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Global() || c.Symbol != "BTC-USD" || strings.Join(c.Markets(), ",") != "BTC-USD,ETH-USD" {
		t.Fatalf("global.yaml: global %v symbol %q markets %v", c.Global(), c.Symbol, c.Markets())
	}
	def, err := Load(filepath.Join("shipped", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The recipe is default.yaml's but for its name, markets and symmetric
	// scalers (chosen on the tail): the same split, so that scores are
	// comparable day by day.
	if c.ScalerRange != RangeSymmetric {
		t.Errorf("global.yaml scaler_range %q", c.ScalerRange)
	}
	eth := c.ForSymbol("ETH-USD")
	eth.Name, def.Name, def.Symbol, def.ScalerRange = "", "", "ETH-USD", RangeSymmetric
	if eth.String() != def.String() {
		t.Errorf("global.yaml for ETH-USD\n%s\nwant default.yaml's recipe\n%s", eth, def)
	}
	if c.ForSymbol("ETH-USD").Global() {
		t.Error("ForSymbol kept the symbols")
	}
	// A per-symbol config is its own single market.
	if def.Global() || strings.Join(def.Markets(), ",") != "ETH-USD" {
		t.Errorf("per-symbol config: global %v markets %v", def.Global(), def.Markets())
	}
	// Encode round-trips (symbol is written beside symbols and agrees).
	back, err := Decode(strings.NewReader(c.String()))
	if err != nil || back.String() != c.String() {
		t.Fatalf("round trip: %v\n%s\nwant\n%s", err, back, c)
	}
	// Symbols are upper-cased and the default market follows them.
	lc, err := Decode(strings.NewReader("symbols: [eth-usd, btc-usd]\ndata: {from: 2018-01-01, to: 2019-01-01}\n"))
	if err != nil || lc.Symbol != "ETH-USD" || strings.Join(lc.Symbols, ",") != "ETH-USD,BTC-USD" {
		t.Fatalf("lower-case symbols: %v, symbol %q symbols %v", err, lc.Symbol, lc.Symbols)
	}
}

func TestGlobalConfigErrors(t *testing.T) {
	data := "data: {from: 2018-01-01, to: 2019-01-01}\n"
	cases := map[string]string{
		"symbols: [BTC-USD]\n":                           "1 markets, want 2..16",
		"symbols: []\n":                                  "0 markets",
		"symbols: [BTC-USD, btc-usd]\n":                  "BTC-USD is listed twice",
		"symbols: [BTC-USD, '']\n":                       "entry 2: empty symbol",
		"symbols: [BTC-USD, 'ETH USD']\n":                "entry 2",
		"symbols: [BTC-USD, ../x]\n":                     "not a ticker",
		"symbol: ETH-USD\nsymbols: [BTC-USD, ETH-USD]\n": "default market is the first of symbols",
		"symbols: [A,B,C,D,E,F,G,H,I,J,K,L,M,N,O,P,Q]\n": "17 markets",
		"symbols: BTC-USD\n":                             "cannot unmarshal",
	}
	for doc, want := range cases {
		_, err := Decode(strings.NewReader(data + doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to mention %q", doc, err, want)
		}
	}
	// Validate also guards configs built in code.
	c := Defaults()
	c.Data = Range{closecast.MustParseDate("2018-01-01"), closecast.MustParseDate("2019-01-01")}
	c.InputSize = 1
	c.Symbols = []string{"BTC-USD", "ETH-USD"}
	c.Symbol = "ETH-USD"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "not the first of symbols") {
		t.Errorf("symbol not first: %v", err)
	}
	c.Symbols, c.Symbol = []string{"btc-usd", "ETH-USD"}, "btc-usd"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "not upper-case") {
		t.Errorf("lower-case symbol: %v", err)
	}
}

// scaler_range is symmetric or minmax; left out it is written as nothing,
// so configs (and model.json files) written before it are unchanged.
func TestScalerRange(t *testing.T) {
	data := "symbol: BTC-USD\ndata: {from: 2018-01-01, to: 2019-01-01}\n"
	for doc, want := range map[string]string{
		"scaler_range: wide\n": `scaler_range: "wide" is not "minmax" or "symmetric"`,
		"scaler_range: symmetric\nloss_function: pinball\ntarget: log_return_ewma_z\n": "the quantile head scales its inputs the default way",
	} {
		if _, err := Decode(strings.NewReader(data + doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
	c, err := Decode(strings.NewReader(data + "scaler_range: symmetric\n"))
	if err != nil || c.ScalerRange != RangeSymmetric || !strings.Contains(c.String(), "scaler_range: symmetric") {
		t.Fatalf("symmetric: %v %q", err, c.ScalerRange)
	}
	def, err := Load(filepath.Join("shipped", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(def.String(), "scaler_range") {
		t.Errorf("default.yaml encodes a scaler_range:\n%s", def)
	}
}

// global-quantile.yaml is quantile.yaml's recipe on both markets.
func TestGlobalQuantileConfigIsTheQuantileRecipe(t *testing.T) {
	g, err := Load(filepath.Join("shipped", "global-quantile.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := Load(filepath.Join("shipped", "quantile.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	eth := g.ForSymbol("ETH-USD")
	eth.Name, q.Name, q.Symbol = "", "", "ETH-USD"
	if eth.String() != q.String() || strings.Join(g.Markets(), ",") != "BTC-USD,ETH-USD" {
		t.Errorf("global-quantile.yaml for ETH-USD\n%s\nwant quantile.yaml's recipe\n%s", eth, q)
	}
}
