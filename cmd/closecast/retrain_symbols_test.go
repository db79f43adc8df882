package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/models"
)

// TestRetrainSymbolsSummaryAndShards retrains BTC-USD and ETH-USD against
// their embedded champions, offline: one summary naming each symbol's own
// champion, each decision also in <out>/<SYMBOL>/retrain.json; then as two
// shards collected, the same decisions.
func TestRetrainSymbolsSummaryAndShards(t *testing.T) {
	cfg := writeSmallConfig(t, "threads: 1\n")
	home := t.TempDir()
	out := filepath.Join(t.TempDir(), "decisions")
	base := []string{"--config", cfg, "--symbols", "BTC-USD,ETH-USD", "--offline", "--recent", "10", "--out", out, "--quiet"}
	args := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	stdout, errOut, err := runCmdDirect(t, retrainCmd, home, args("--json")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var one retrainSummary
	if err := json.Unmarshal([]byte(stdout), &one); err != nil {
		t.Fatal(err)
	}
	if len(one.Decisions) != 2 {
		t.Fatalf("%d decisions, want 2:\n%s", len(one.Decisions), stdout)
	}
	promoted := 0
	for i, sym := range []string{"BTC-USD", "ETH-USD"} {
		d := one.Decisions[i]
		champ, err := models.Embedded(sym)
		if err != nil {
			t.Fatal(err)
		}
		if d.Symbol != sym || d.Champion.Version != champ.Meta.Version || d.Champion.Source != "embedded" || !strings.HasPrefix(d.Challenger.Version, strings.ToLower(sym)+"-small-") {
			t.Errorf("decision %d: symbol %s, champion %s (%s), challenger %s; want %s against %s (embedded)", i, d.Symbol, d.Champion.Version, d.Champion.Source, d.Challenger.Version, sym, champ.Meta.Version)
		}
		var file retrainReport
		b, err := os.ReadFile(filepath.Join(out, sym, retrainFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &file); err != nil || file.Challenger.Version != d.Challenger.Version || file.Promoted != d.Promoted {
			t.Errorf("%s/retrain.json (%v) does not hold the summary's decision", sym, err)
		}
		if d.Promoted {
			promoted++
		}
	}
	if one.Promoted != promoted {
		t.Errorf("summary says %d promoted, the decisions %d", one.Promoted, promoted)
	}

	results := filepath.Join(t.TempDir(), "results")
	for _, s := range []string{"0/2", "1/2"} {
		if _, errOut, err := runCmdDirect(t, retrainCmd, home, args("--shard", s, "--results", results)...); err != nil {
			t.Fatalf("shard %s: %v\n%s", s, err, errOut)
		}
	}
	stdout, errOut, err = runCmdDirect(t, retrainCmd, home, args("--collect", "--results", results, "--json")...)
	if err != nil {
		t.Fatalf("collect: %v\n%s", err, errOut)
	}
	var merged retrainSummary
	if err := json.Unmarshal([]byte(stdout), &merged); err != nil {
		t.Fatal(err)
	}
	if len(merged.Decisions) != 2 || merged.Promoted != one.Promoted {
		t.Fatalf("collected %d decisions, %d promoted; want 2, %d", len(merged.Decisions), merged.Promoted, one.Promoted)
	}
	for i, d := range merged.Decisions {
		w := one.Decisions[i]
		if d.Symbol != w.Symbol || d.Challenger.Version != w.Challenger.Version || d.Champion.Version != w.Champion.Version || d.Reason != w.Reason {
			t.Errorf("collected decision %d: %s %s vs %s, %q; one process: %s %s vs %s, %q", i, d.Symbol, d.Challenger.Version, d.Champion.Version, d.Reason, w.Symbol, w.Challenger.Version, w.Champion.Version, w.Reason)
		}
	}
}

func TestRetrainShardNeedsSymbols(t *testing.T) {
	_, _, err := runCmdDirect(t, retrainCmd, t.TempDir(), "--config", "reference", "--shard", "0/2", "--results", t.TempDir(), "--offline")
	if err == nil || !strings.Contains(err.Error(), "shards its --symbols") {
		t.Fatalf("err %v", err)
	}
}

// TestRetrainSymbolsFromDirectory: with --model DIR, each symbol's champion
// is DIR/<SYMBOL> and its decision lands beside it.
func TestRetrainSymbolsFromDirectory(t *testing.T) {
	cfg := writeSmallConfig(t, "threads: 1\n")
	dir := t.TempDir()
	for _, sym := range []string{"BTC-USD", "ETH-USD"} {
		m, err := models.Embedded(sym)
		if err != nil {
			t.Fatal(err)
		}
		if err := artifact.Write(filepath.Join(dir, sym), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	stdout, errOut, err := runCmdDirect(t, retrainCmd, t.TempDir(), "--config", cfg, "--symbols", "ETH-USD,BTC-USD", "--model", dir, "--offline", "--recent", "10", "--quiet")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, sym := range []string{"ETH-USD", "BTC-USD"} {
		var rep retrainReport
		b, err := os.ReadFile(filepath.Join(dir, sym, retrainFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Symbol != sym || rep.Champion.Source != filepath.Join(dir, sym) {
			t.Errorf("%s: decision of %s against %s", sym, rep.Symbol, rep.Champion.Source)
		}
		if !strings.Contains(stdout, sym+" ") {
			t.Errorf("summary lacks %s:\n%s", sym, stdout)
		}
	}
	if !strings.Contains(stdout, "of 2 challengers promoted") {
		t.Errorf("summary:\n%s", stdout)
	}
}
