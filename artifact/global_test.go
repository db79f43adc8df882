package artifact

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/closecast/closecast/pipeline"
)

// globalModel is testModel as a global model of BTC-USD and ETH-USD, each
// market with its own scalers and calibration.
func globalModel(t *testing.T) *Model {
	t.Helper()
	m := testModel(t)
	p := m.Pipeline
	p.Calibration = &pipeline.Calibration{From: 10, To: 12, Scores: [][]float32{{-1, 0, 1}}}
	m.Meta.Config.Symbols = []string{"BTC-USD", "ETH-USD"}
	m.Meta.Markets = []Market{
		{Symbol: "BTC-USD", Scaler: Scaler{Min: slices.Clone(p.Inputs.Min), Max: slices.Clone(p.Inputs.Max)},
			TargetScaler: Scaler{Min: slices.Clone(p.Output.Min), Max: slices.Clone(p.Output.Max)}, Calibration: p.Calibration, Windows: 7},
		{Symbol: "ETH-USD", Scaler: Scaler{Min: []float64{1000, -0.2}, Max: []float64{4000, 0.2}},
			TargetScaler: Scaler{Min: []float64{-0.2}, Max: []float64{0.2}},
			Calibration:  &pipeline.Calibration{From: 10, To: 12, Scores: [][]float32{{-2, 0, 2}}}, Windows: 5},
	}
	m.Meta.Markets[1].Metrics.Holdout = &Evaluation{N: 3}
	return m
}

// A global model round-trips: schema 3, every market's scalers and
// calibration, and For gives each market's pipeline around the shared
// network.
func TestGlobalRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "g")
	m := globalModel(t)
	if err := Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.SchemaVersion != GlobalSchemaVersion || strings.Join(got.Symbols(), ",") != "BTC-USD,ETH-USD" {
		t.Fatalf("schema %d symbols %v", got.Meta.SchemaVersion, got.Symbols())
	}
	btc, err := got.For("BTC-USD")
	if err != nil || btc.Meta.Version != got.Meta.Version || btc.Pipeline.Inputs.Max[0] != 200 {
		t.Fatalf("BTC-USD: %v, version %s vs %s", err, btc.Meta.Version, got.Meta.Version)
	}
	eth, err := got.For("eth-usd")
	if err != nil {
		t.Fatal(err)
	}
	weights := strings.TrimPrefix(got.Meta.Version, "btc-usd-test-")
	if eth.Meta.Symbol != "ETH-USD" || eth.Meta.Version != "eth-usd-test-"+weights || eth.Pipeline.Net != got.Pipeline.Net {
		t.Errorf("ETH-USD view: symbol %s version %s, shares the network %v", eth.Meta.Symbol, eth.Meta.Version, eth.Pipeline.Net == got.Pipeline.Net)
	}
	if eth.Pipeline.Inputs.Max[0] != 4000 || eth.Pipeline.Output.Min[0] != -0.2 || eth.Pipeline.Calibration.Scores[0][0] != -2 || eth.Meta.Metrics.Holdout.N != 3 {
		t.Errorf("ETH-USD view has not its own scalers, calibration and metrics: %+v %+v", eth.Pipeline.Inputs, eth.Pipeline.Calibration)
	}
	if got.Pipeline.Inputs.Max[0] != 200 || got.Meta.Symbol != "BTC-USD" {
		t.Error("For modified the model")
	}
	// The view is itself a valid global model, ETH-USD first.
	dir2 := filepath.Join(t.TempDir(), "eth")
	if err := Write(dir2, eth, nil); err != nil {
		t.Fatal(err)
	}
	back, err := Read(dir2)
	if err != nil || strings.Join(back.Symbols(), ",") != "ETH-USD,BTC-USD" || back.Pipeline.Inputs.Max[0] != 4000 {
		t.Fatalf("ETH-USD view written and read: %v, symbols %v", err, back.Symbols())
	}
	if _, err := got.For("XRP-USD"); !errors.Is(err, ErrUnknownMarket) || !strings.Contains(err.Error(), "knows BTC-USD, ETH-USD, not XRP-USD") {
		t.Errorf("unknown market: %v", err)
	}
	// The summary keeps the markets but not their calibration scores.
	b, _ := json.Marshal(got.Meta.Summary())
	if strings.Count(string(b), `"symbol":"ETH-USD"`) != 1 || strings.Contains(string(b), `"scores"`) {
		t.Errorf("summary %s", b)
	}
	if got.Meta.Markets[1].Calibration == nil {
		t.Error("Summary changed the metadata")
	}
}

// A single-market model is unchanged: schema 2, no markets, and For
// returns it for any symbol, as before global models.
func TestSingleMarketModelIsUnchanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	m := testModel(t)
	if err := Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.SchemaVersion != SchemaVersion || got.Meta.Markets != nil || strings.Join(got.Symbols(), ",") != "BTC-USD" {
		t.Errorf("schema %d markets %v symbols %v", got.Meta.SchemaVersion, got.Meta.Markets, got.Symbols())
	}
	if v, err := got.For("ETH-USD"); err != nil || v != got {
		t.Errorf("For of a single-market model: %v", err)
	}
}

func TestReadRejectsBadMarkets(t *testing.T) {
	cases := []struct {
		name string
		edit func(m map[string]any)
		says string
	}{
		{"markets in schema 2", func(m map[string]any) { m["schema_version"] = 2.0 }, "a global model is version 3"},
		{"schema 3 without markets", func(m map[string]any) { delete(m, "markets") }, "lists 0 markets"},
		{"first market not the model's", func(m map[string]any) {
			mk := m["markets"].([]any)
			mk[0], mk[1] = mk[1], mk[0]
		}, "is not the model's own"},
		{"repeated market", func(m map[string]any) {
			mk := m["markets"].([]any)
			mk[1].(map[string]any)["symbol"] = "BTC-USD"
		}, "not a distinct"},
		{"bad market scaler", func(m map[string]any) {
			mk := m["markets"].([]any)
			mk[1].(map[string]any)["scaler"] = map[string]any{"min": []any{1.0}, "max": []any{2.0}}
		}, "market ETH-USD: scaler has 1/1 columns"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "g")
			if err := Write(dir, globalModel(t), nil); err != nil {
				t.Fatal(err)
			}
			editAndReseal(t, dir, c.edit)
			_, err := Read(dir)
			if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want ErrIncompatible saying %q", err, c.says)
			}
		})
	}
}

// editAndReseal rewrites model.json through f and fixes its checksum, so
// that Read gets past it to the markets' checks.
func editAndReseal(t *testing.T, dir string, f func(map[string]any)) {
	t.Helper()
	editJSON(t, dir, f)
	p := filepath.Join(dir, MetadataFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var md Metadata
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	doc, err := md.encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
}
