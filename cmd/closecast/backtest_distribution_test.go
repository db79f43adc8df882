package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/backtest"
	"github.com/closecast/closecast/pipeline"
)

// TestBacktestCommandDistribution: with fold models calibrated on a long
// enough tail, backtest's JSON carries the distribution scores per fold
// and overall, and the text prints the overall tables and a line per
// fold; with a tail too short for the 95 % quantiles, the point scores
// stay and distribution_error says why.
func TestBacktestCommandDistribution(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "long.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Replace(smallConfigYAML, "from: 2025-01-01", "from: 2023-01-01", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", cfg, "--from", "2025-06-01", "--to", "2025-06-20", "--retrain-every", "10", "--quiet"}
	out, errOut, err := runCmdDirect(t, backtestCmd, t.TempDir(), append(args, "--json")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var r backtest.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	d := r.Distribution
	if d == nil || d.Overall.N != 20 || len(d.Folds) != 2 || d.Folds[0].N != 10 || d.Folds[1].N != 10 || r.DistributionError != "" {
		t.Fatalf("distribution %+v, error %q", d, r.DistributionError)
	}
	out, _, err = runCmdDirect(t, backtestCmd, t.TempDir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"distribution scores, one step ahead, 20 days", "best baseline by pinball: " + d.Overall.Reference,
		"per fold, the model and the ensemble against the fold's best baseline", "2025-06-11..2025-06-20", "model+faci", "DM abs error"} {
		if !strings.Contains(out, s) {
			t.Errorf("text output lacks %q:\n%s", s, out)
		}
	}

	out, _, err = runCmdDirect(t, backtestCmd, t.TempDir(), "--config", writeSmallConfig(t, ""), "--from", "2025-06-01", "--to", "2025-06-12", "--retrain-every", "5", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "no distribution scores:") || !strings.Contains(out, "calibration days are too few") {
		t.Errorf("short tail: no reason given:\n%s", out)
	}
}

// TestBacktestDistributionNamesAnOldTaskFile: a merged fold without its
// model (a task file from before shards carried one) keeps the point
// scores and says which fold's shard to rerun.
func TestBacktestDistributionNamesAnOldTaskFile(t *testing.T) {
	r := &backtest.Result{Folds: []backtest.Fold{{Index: 0, Pipeline: &pipeline.Pipeline{}}, {Index: 1}}}
	backtestDistribution(r, closecast.Series{})
	if r.Distribution != nil || !strings.Contains(r.DistributionError, "fold 1's task file carries no model") {
		t.Errorf("distribution %+v, error %q", r.Distribution, r.DistributionError)
	}
}
