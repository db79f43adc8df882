package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/closecast/closecast/artifact"
)

func readWeights(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTrainSymbolsJobsMatchSequential trains two symbols two at a time and
// one by one: each symbol's weights are the same bytes, and each model
// forecasts its own symbol.
func TestTrainSymbolsJobsMatchSequential(t *testing.T) {
	cfg := writeSmallConfig(t, "threads: 1\n")
	home, tmp := t.TempDir(), t.TempDir()
	outs := map[string]string{}
	for _, jobs := range []string{"1", "2"} {
		outs[jobs] = filepath.Join(tmp, "jobs"+jobs)
		stdout, errOut, err := runCmdDirect(t, trainCmd, home, "--config", cfg, "--symbols", "BTC-USD, eth-usd", "--jobs", jobs, "--out", outs[jobs], "--quiet", "--json")
		if err != nil {
			t.Fatalf("--jobs %s: %v\n%s", jobs, err, errOut)
		}
		var doc struct{ Runs []trainRun }
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Runs) != 2 || doc.Runs[0].Symbol != "BTC-USD" || doc.Runs[1].Symbol != "ETH-USD" {
			t.Fatalf("--jobs %s runs %+v: want BTC-USD then ETH-USD", jobs, doc.Runs)
		}
	}
	for _, sym := range []string{"BTC-USD", "ETH-USD"} {
		a, b := readWeights(t, filepath.Join(outs["1"], sym)), readWeights(t, filepath.Join(outs["2"], sym))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: weights of --jobs 2 differ from one by one", sym)
		}
		m, err := artifact.Read(filepath.Join(outs["2"], sym))
		if err != nil {
			t.Fatal(err)
		}
		if m.Meta.Symbol != sym {
			t.Errorf("%s/model.json forecasts %s", sym, m.Meta.Symbol)
		}
	}
	if bytes.Equal(readWeights(t, filepath.Join(outs["1"], "BTC-USD")), readWeights(t, filepath.Join(outs["1"], "ETH-USD"))) {
		t.Error("BTC-USD and ETH-USD have the same weights: both trained on one market")
	}
}

func TestTrainSymbolsRefusesBadLists(t *testing.T) {
	for list, want := range map[string]string{"BTC-USD,,ETH-USD": "empty entry", "BTC-USD,btc-usd": "names BTC-USD twice", "../x": "not a ticker"} {
		_, _, err := runCmdDirect(t, trainCmd, t.TempDir(), "--config", "reference", "--symbols", list)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--symbols %q: err %v, want %q", list, err, want)
		}
	}
}

// TestTrainRepeatThreeShardsEqualOneProcess trains 4 seeds in one process,
// then as 3 shards (separate processes) into the same --out: the merged
// --json and every seed's weights are those of the one process.
func TestTrainRepeatThreeShardsEqualOneProcess(t *testing.T) {
	cfg := writeSmallConfig(t, "threads: 1\n")
	home := "CLOSECAST_HOME=" + t.TempDir()
	tmp := t.TempDir()
	out, results := filepath.Join(tmp, "out"), filepath.Join(tmp, "results")
	base := []string{"train", "--config", cfg, "--repeat", "4", "--out", out, "--quiet"}
	args := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }

	one := withoutWallTime(runBinary(t, []string{home}, args("--json")...))
	var doc struct{ Runs []trainRun }
	if err := json.Unmarshal(one, &doc); err != nil || len(doc.Runs) != 4 {
		t.Fatalf("one process: %v, %d runs\n%s", err, len(doc.Runs), one)
	}
	weights := map[string][]byte{}
	for _, r := range doc.Runs {
		weights[r.Out] = readWeights(t, r.Out)
	}
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		runBinary(t, []string{home}, args("--shard", strconv.Itoa(i)+"/3", "--results", results)...)
	}
	merged := withoutWallTime(runBinary(t, []string{home}, args("--collect", "--results", results, "--json")...))
	if !bytes.Equal(one, merged) {
		t.Fatalf("merged differs from one process:\none:\n%s\nmerged:\n%s", one, merged)
	}
	for dir, w := range weights {
		if !bytes.Equal(readWeights(t, dir), w) {
			t.Errorf("%s: the shards' weights differ from one process's", dir)
		}
	}
}
