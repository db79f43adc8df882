package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast/backtest"
)

// smallGlobalYAML is smallConfigYAML on BTC-USD and ETH-USD together, with
// data from 2023 so that each fold's model is calibrated (distribution
// scores).
var smallGlobalYAML = strings.NewReplacer("name: small", "name: small-global", "symbol: BTC-USD", "symbols: [BTC-USD, ETH-USD]",
	"from: 2025-01-01", "from: 2023-01-01").Replace(smallConfigYAML)

// TestBacktestGlobalShardsEqualOneProcess: backtest --config with a global
// config prints one report per market (each market's own closes, ETH-USD
// forecast in its own price range, distribution scores for both), and run
// as two shards merged by --collect it prints the same JSON and charts as
// one process, byte for byte.
func TestBacktestGlobalShardsEqualOneProcess(t *testing.T) {
	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "global.yaml")
	if err := os.WriteFile(cfg, []byte(smallGlobalYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	home := "CLOSECAST_HOME=" + t.TempDir()
	results := filepath.Join(tmp, "results")
	bt := []string{"backtest", "--config", cfg, "--from", "2025-06-01", "--to", "2025-06-20", "--retrain-every", "7", "--threads", "1", "--quiet"}
	args := func(extra ...string) []string { return append(append([]string{}, bt...), extra...) }

	one := runBinary(t, []string{home}, args("--json", "--plot", filepath.Join(tmp, "one.svg"))...)
	out0 := runBinary(t, []string{home}, args("--shard", "0/2", "--results", results)...)
	runBinary(t, []string{home}, args("--shard", "1/2", "--results", results)...)
	if !strings.Contains(string(out0), "shard 0/2: 2 of 3 folds written") {
		t.Errorf("shard 0 says %q, want 2 of 3 folds", out0)
	}
	merged := runBinary(t, []string{home}, args("--collect", "--results", results, "--json", "--plot", filepath.Join(tmp, "merged.svg"))...)
	one, merged = withoutWallTime(one), withoutWallTime(merged)
	if !bytes.Equal(one, merged) {
		t.Fatalf("merged result differs from one process's:\none:\n%s\nmerged:\n%s", one, merged)
	}
	for _, sym := range []string{"btc-usd", "eth-usd"} {
		a, _ := os.ReadFile(filepath.Join(tmp, "one-"+sym+".svg"))
		b, _ := os.ReadFile(filepath.Join(tmp, "merged-"+sym+".svg"))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s charts differ (%d vs %d bytes)", sym, len(a), len(b))
		}
	}

	var doc struct{ Markets []backtest.Result }
	if err := json.Unmarshal(one, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Markets) != 2 {
		t.Fatalf("%d reports, want one per market", len(doc.Markets))
	}
	for m, sym := range []string{"BTC-USD", "ETH-USD"} {
		r := doc.Markets[m]
		if r.Symbol != sym || r.N != 20 || len(r.Folds) != 3 || r.Distribution == nil || r.Distribution.Overall.N != 20 || r.DistributionError != "" {
			t.Fatalf("%s: symbol %q, n %d, %d folds, distribution %v (%s)", sym, r.Symbol, r.N, len(r.Folds), r.Distribution != nil, r.DistributionError)
		}
		for _, d := range r.Days {
			if last := lastClose(t, sym, d.Date.String()); d.Predicted < 0.8*last || d.Predicted > 1.2*last {
				t.Errorf("%s %s: forecast %v, last close %v", sym, d.Date, d.Predicted, last)
			}
		}
	}
	if doc.Markets[0].Days[0].Actual == doc.Markets[1].Days[0].Actual {
		t.Error("both markets scored on the same closes")
	}

	out, errOut, err := runCmdDirect(t, backtestCmd, t.TempDir(), bt[1:]...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(out, "small-global on BTC-USD\n") || !strings.Contains(out, "\nsmall-global on ETH-USD\n") || strings.Count(out, "distribution scores, one step ahead, 20 days") != 2 {
		t.Errorf("text output lacks a market's report:\n%s", out)
	}
	_, _, err = runCmdDirect(t, backtestCmd, t.TempDir(), append(bt[1:], "--csv", cfg)...)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "no --csv") {
		t.Errorf("--csv with a global config: %v", err)
	}
}
