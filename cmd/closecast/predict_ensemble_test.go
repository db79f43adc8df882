package main

import (
	"context"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/predict"
)

// TestPredictEnsembleInterval: predict --interval ensemble --quantiles
// prints the library's ensemble quantiles of each day, says how they were
// made, and refuses levels the ensemble lacks as a usage error.
func TestPredictEnsembleInterval(t *testing.T) {
	body := predictHorizonJSON(t, "--date", "2025-06-01", "--horizon", "2", "--interval", "ensemble", "--quantiles", "5,50,95")
	m, err := artifact.Read(testModelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := predict.New(m, history.New(marketdata.Embedded(), nil, nil))
	want, err := svc.PredictHorizon(context.Background(), "", closecast.MustParseDate("2025-06-01"),
		closecast.HorizonOptions{Horizon: 2, Interval: closecast.IntervalEnsemble, Levels: []float64{0.05, 0.5, 0.95}})
	if err != nil {
		t.Fatal(err)
	}
	iv, _ := body["interval"].(map[string]any)
	fc, _ := body["forecasts"].([]any)
	if iv["method"] != "ensemble" || len(fc) != 2 {
		t.Fatalf("interval %v, %d forecasts", iv, len(fc))
	}
	for k, f := range fc {
		day := f.(map[string]any)
		for j, key := range []string{"p5", "p50", "p95"} {
			if day[key] != want.Days[k].Quantiles[j] {
				t.Errorf("day %d %s: %v, the library's %v", k, key, day[key], want.Days[k].Quantiles[j])
			}
		}
		if day["prediction"] != want.Days[k].Value {
			t.Errorf("day %d: prediction %v, the model's %v", k, day["prediction"], want.Days[k].Value)
		}
	}
	for _, args := range [][]string{{"--interval", "ensemble", "--quantiles", "7,50"}, {"--interval", "ensemble", "--samples", "20"}, {"--interval", "garch"}} {
		code, _, errOut := cli(t, nil, append([]string{"predict", "--offline", "--model", testModelDir(t)}, args...)...)
		if code != 2 || errOut == "" {
			t.Errorf("%v: exit %d %q, want a usage error", args, code, errOut)
		}
	}
}
