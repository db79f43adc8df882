package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
)

// tinyGlobalYAML is config/shipped/global.yaml's kind of config, small
// enough to train in a second.
const tinyGlobalYAML = "name: tiny-global\nsymbols: [BTC-USD, ETH-USD]\ndata: {from: 2023-01-01, to: 2025-04-30}\n" +
	"features: [log_return_1d]\ntarget: log_return\nneuronios: 4\nepochs: 2\nthreads: 1\nvalidation: {from: 2025-06-01, to: 2025-06-20}\n"

// trainTiny trains yaml through the CLI into a directory and returns it
// with train's --json output.
func trainTiny(t *testing.T, yaml string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model")
	stdout, errOut, err := runCmdDirect(t, trainCmd, t.TempDir(), "--config", cfg, "--out", out, "--quiet", "--json")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, errOut)
	}
	return out, stdout
}

// lastClose is the embedded close of symbol the day before d.
func lastClose(t *testing.T, symbol, d string) float64 {
	t.Helper()
	s, err := marketdata.EmbeddedSeries(symbol)
	if err != nil {
		t.Fatal(err)
	}
	return s.Bars[s.Index(closecast.MustParseDate(d))-1].Close
}

// A global config trains one model whose --json gives each market's
// metrics; predict forecasts each market with its own scalers, in its own
// price range, and refuses a market the model does not know.
func TestTrainGlobalThenPredictEachMarket(t *testing.T) {
	dir, stdout := trainTiny(t, tinyGlobalYAML)
	var doc struct{ Runs []trainRun }
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || len(doc.Runs[0].Markets) != 2 || doc.Runs[0].Markets[1].Symbol != "ETH-USD" ||
		doc.Runs[0].Markets[1].Metrics.Holdout == nil || doc.Runs[0].Markets[1].Metrics.Holdout.From != doc.Runs[0].Metrics.Holdout.From {
		t.Fatalf("runs %+v: want one run with BTC-USD and ETH-USD metrics on the same hold-out", doc.Runs)
	}
	if doc.Runs[0].Markets[0].Metrics.Holdout.Model == doc.Runs[0].Markets[1].Metrics.Holdout.Model {
		t.Error("BTC-USD and ETH-USD scored alike: one market scored twice")
	}
	predict := func(args ...string) (map[string]any, error) {
		out, errOut, err := runCmdDirect(t, predictCmd, t.TempDir(), append([]string{"--model", dir, "--offline", "--date", "2025-06-10", "--json"}, args...)...)
		if err != nil {
			return nil, errors.Join(err, errors.New(errOut))
		}
		var p map[string]any
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		return p, nil
	}
	for _, c := range []struct {
		args   []string
		symbol string
	}{{nil, "BTC-USD"}, {[]string{"--symbol", "eth-usd"}, "ETH-USD"}, {[]string{"--symbol", "BTC-USD"}, "BTC-USD"}} {
		p, err := predict(c.args...)
		if err != nil {
			t.Fatal(err)
		}
		last := lastClose(t, c.symbol, "2025-06-10")
		v := p["prediction"].(float64)
		if p["symbol"] != c.symbol || !strings.HasPrefix(p["model"].(string), strings.ToLower(c.symbol)+"-tiny-global-") || v < 0.8*last || v > 1.2*last {
			t.Errorf("%v: symbol %v model %v forecast %v, last close %v", c.args, p["symbol"], p["model"], v, last)
		}
	}
	_, err := predict("--symbol", "XRP-USD")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "BTC-USD, ETH-USD, not XRP-USD") {
		t.Errorf("unknown market: %v", err)
	}
	if _, _, err := runCmdDirect(t, trainCmd, t.TempDir(), "--config", "global", "--symbols", "BTC-USD"); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "global model of BTC-USD, ETH-USD") {
		t.Errorf("train --config global --symbols: %v", err)
	}
}

// evaluate --symbol scores a global model's market, and --against scores
// another model of that market on the same days: its one-step scores are
// what evaluate gives it alone, and the model is tested against it.
func TestEvaluateGlobalAgainstPerSymbol(t *testing.T) {
	global, _ := trainTiny(t, tinyGlobalYAML)
	eth, _ := trainTiny(t, strings.Replace(strings.Replace(tinyGlobalYAML, "symbols: [BTC-USD, ETH-USD]", "symbol: ETH-USD", 1), "tiny-global", "tiny-eth", 1))
	evaluateJSON := func(args ...string) map[string]json.RawMessage {
		t.Helper()
		out, errOut, err := runCmdDirect(t, evaluateCmd, t.TempDir(), append([]string{"--from", "2025-06-01", "--to", "2025-06-20", "--samples", "0", "--json"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	type scores struct {
		N     int
		Model struct{ MAE, MAPE float64 }
	}
	var alone, ours scores
	json.Unmarshal(evaluateJSON("--model", eth)["model"], &alone.Model)
	doc := evaluateJSON("--model", global, "--symbol", "ETH-USD", "--against", eth)
	json.Unmarshal(doc["model"], &ours.Model)
	var against struct {
		Model      string
		Evaluation scores
		Point      *struct {
			DM, P float64
			N     int
		}
		Distribution *struct {
			Model, Baseline string
			Pinball         *struct{ Stat, P float64 }
		}
		Scores *struct {
			Method     string
			PinballPct float64 `json:"pinball_pct"`
			Intervals  []struct {
				Level    int
				Coverage float64
			}
		}
		Error string
	}
	if err := json.Unmarshal(doc["against"], &against); err != nil {
		t.Fatalf("against: %v (%s)", err, doc["against"])
	}
	if !strings.HasPrefix(against.Model, "eth-usd-tiny-eth-") || against.Evaluation.N != 20 || against.Evaluation.Model != alone.Model {
		t.Errorf("against %s: %d days, scores %+v, want evaluate's of the model alone %+v", against.Model, against.Evaluation.N, against.Evaluation.Model, alone.Model)
	}
	if ours.Model == alone.Model {
		t.Error("the global model's ETH-USD scores equal the per-symbol model's: it scored the other model")
	}
	if against.Point == nil || against.Point.N != 20 || against.Distribution == nil || against.Distribution.Pinball == nil ||
		against.Distribution.Baseline != nameAgainst || against.Scores == nil || len(against.Scores.Intervals) == 0 || against.Error != "" {
		t.Fatalf("against lacks a test or scores: %s", doc["against"])
	}
	// A per-symbol model of another market is refused, naming both.
	btc := testModelDir(t)
	_, _, err := runCmdDirect(t, evaluateCmd, t.TempDir(), "--model", global, "--symbol", "ETH-USD", "--against", btc, "--from", "2025-06-01", "--to", "2025-06-20")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "is BTC-USD's model") {
		t.Errorf("--against another market's model: %v", err)
	}
	_, _, err = runCmdDirect(t, evaluateCmd, t.TempDir(), "--model", global, "--symbol", "SOL-USD", "--from", "2025-06-01", "--to", "2025-06-20")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "BTC-USD, ETH-USD, not SOL-USD") {
		t.Errorf("evaluate --symbol unknown market: %v", err)
	}
}

// serve --model with a global model serves each of its markets with that
// market's scalers, over the embedded models.
func TestServedModelsExpandsAGlobalModel(t *testing.T) {
	dir, _ := trainTiny(t, tinyGlobalYAML)
	ms, err := servedModels(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	for _, m := range ms {
		last[m.Meta.Symbol] = m.Meta.Version // later models win, as serving does
	}
	for _, sym := range []string{"BTC-USD", "ETH-USD"} {
		if !strings.HasPrefix(last[sym], strings.ToLower(sym)+"-tiny-global-") {
			t.Errorf("%s is served by %q, want the global model's market", sym, last[sym])
		}
	}
}
