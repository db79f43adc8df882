package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
)

// quickQuantileYAML is config/shipped/quantile.yaml cut to a few seconds.
const quickQuantileYAML = `name: quickq
symbol: BTC-USD
data: {from: 2022-01-01, to: 2025-04-30}
features: [log_return_1d]
target: log_return_ewma_z
loss_function: pinball
window_size: 60
neuronios: 4
dropout: 0
epochs: 3
threads: 1
early_stopping: {patience: 20, monitor: tail, tail_fraction: 0.1}
validation: {from: 2025-06-01, to: 2025-07-16}
`

// TestQuantileHeadThroughTheCLI: train --config of a quantile head writes
// an artifact with its levels; evaluate --model scores the head's own
// quantiles (not conformal ones) against the baselines; predict
// --quantiles prints the levels asked for from the head.
func TestQuantileHeadThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "quickq.yaml")
	if err := os.WriteFile(cfg, []byte(quickQuantileYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model")
	code, stdout, errOut := cli(t, nil, "train", "--config", cfg, "--out", out, "--quiet")
	if code != 0 || !strings.Contains(stdout, "quantiles: the head's own, 21 levels 0.025..0.975 of log_return_ewma_z") {
		t.Fatalf("train: exit %d: %s\n%s", code, errOut, stdout)
	}
	m, err := artifact.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.QuantileHead == nil || len(m.Meta.QuantileHead.Levels) != evaluate.NumLevels {
		t.Fatalf("model.json quantile_head %+v", m.Meta.QuantileHead)
	}

	code, stdout, errOut = cli(t, nil, "evaluate", "--model", out, "--from", "2025-06-01", "--to", "2025-07-16", "--json")
	if code != 0 {
		t.Fatalf("evaluate: exit %d: %s", code, errOut)
	}
	var ev struct {
		N            int
		Model        map[string]float64
		Distribution *evaluate.Report
	}
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.N != 46 || ev.Distribution == nil || ev.Distribution.Methods[0].Method != evaluate.NameQuantileHead {
		t.Fatalf("evaluate: %+v", ev)
	}
	// The head's own quantiles, as Walk.QuantileHead gives them.
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	w, err := evaluate.NewWalk(s, ev.Distribution.From, ev.Distribution.To, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	own, err := w.QuantileHead("q", evaluate.QuantileHeadFold{Pipeline: m.Pipeline, Holdout: m.Meta.TrainRange.To + 1})
	if err != nil {
		t.Fatal(err)
	}
	alone, err := evaluate.Score(w.Days, []evaluate.Method{own}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.Distribution.Methods[0].PinballPct, alone.Methods[0].PinballPct; got != want {
		t.Errorf("evaluate's pinball %v, the head's own %v", got, want)
	}
	if !(ev.Model["mase"] > 0) || !(ev.Model["mae"] > 0) {
		t.Errorf("point metrics of the median missing: %v", ev.Model)
	}

	code, stdout, errOut = cli(t, nil, "predict", "--offline", "--model", out, "--date", "2025-07-16", "--quantiles", "5,50,95", "--json")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errOut)
	}
	var p struct {
		Prediction float64
		Forecasts  []map[string]any
		Interval   struct{ Method string }
	}
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatal(err)
	}
	k := w.Days.Len() - 1 // 2025-07-16
	q := own.Forecasts[k]
	f := p.Forecasts[0]
	if p.Interval.Method != "quantile_head" || f["p5"] != q[1] || f["p50"] != q[10] || f["p95"] != q[19] || p.Prediction != q[10] {
		t.Errorf("predict %s\nwant p5/p50/p95 %v %v %v", stdout, q[1], q[10], q[19])
	}
	code, stdout, _ = cli(t, nil, "predict", "--offline", "--model", out, "--date", "2025-07-16", "--quantiles", "5,50,95")
	if code != 0 || !strings.Contains(stdout, "the quantile head's own quantiles") || !strings.Contains(stdout, "p95") {
		t.Errorf("predict text: exit %d\n%s", code, stdout)
	}
	if code, _, errOut := cli(t, nil, "predict", "--offline", "--model", out, "--quantiles", "7,50"); code == 0 || !strings.Contains(errOut, "not 0.07") {
		t.Errorf("a level the head lacks: exit %d, %q", code, errOut)
	}
}
