package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestShardResolve(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flags   shardFlags
		env     map[string]string
		want    shard
		wantErr string
	}{
		{name: "none", want: shard{}},
		{name: "flag", flags: shardFlags{spec: "1/3", results: "r"}, want: shard{1, 3}},
		{name: "flag wins over env", flags: shardFlags{spec: "2/3", results: "r"}, env: map[string]string{envK8sIndex: "0", envK8sCount: "3"}, want: shard{2, 3}},
		{name: "kubernetes", flags: shardFlags{results: "r"}, env: map[string]string{envK8sIndex: "1", envK8sCount: "4"}, want: shard{1, 4}},
		{name: "batch with --shards", flags: shardFlags{results: "r", shards: 5}, env: map[string]string{envBatchIndex: "4"}, want: shard{4, 5}},
		{name: "batch with env size", flags: shardFlags{results: "r"}, env: map[string]string{envBatchIndex: "0", envShards: "2"}, want: shard{0, 2}},
		{name: "index not below count", flags: shardFlags{spec: "3/3", results: "r"}, wantErr: "shard index 3 (--shard index) is not below the number of shards 3"},
		{name: "no slash", flags: shardFlags{spec: "3", results: "r"}, wantErr: "want I/N"},
		{name: "zero shards", flags: shardFlags{spec: "0/0", results: "r"}, wantErr: "not a number of shards ≥ 1"},
		{name: "negative index", flags: shardFlags{spec: "-1/2", results: "r"}, wantErr: "not an index ≥ 0"},
		{name: "batch without size", flags: shardFlags{results: "r"}, env: map[string]string{envBatchIndex: "1"}, wantErr: "not the number of shards: give --shards N"},
		{name: "env index too big", flags: shardFlags{results: "r"}, env: map[string]string{envK8sIndex: "4", envK8sCount: "4"}, wantErr: "($JOB_COMPLETION_INDEX) is not below the number of shards 4 ($JOB_COMPLETIONS)"},
		{name: "shard without results", flags: shardFlags{spec: "0/2"}, wantErr: "needs --results DIR"},
		{name: "results without shard", flags: shardFlags{results: "r"}, wantErr: "--results is for a shard"},
		{name: "collect without results", flags: shardFlags{collect: true}, wantErr: "--collect needs --results"},
		{name: "collect ignores env", flags: shardFlags{collect: true, results: "r"}, env: map[string]string{envK8sIndex: "1"}, want: shard{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.flags.resolve(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, errUsage) {
					t.Fatalf("err %v, want a usage error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	s := shard{1, 3}
	var owned []int
	for i := range 7 {
		if s.owns(i) {
			owned = append(owned, i)
		}
	}
	if len(owned) != 2 || owned[0] != 1 || owned[1] != 4 {
		t.Errorf("shard 1/3 owns %v of 0..6, want [1 4]", owned)
	}
}

func TestCollectRefusesMissingAndForeignTasks(t *testing.T) {
	dir := t.TempDir()
	if err := writeTask(dir, "job a", 0, 3, map[string]int{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := writeTask(dir, "job b", 2, 3, map[string]int{"x": 2}); err != nil {
		t.Fatal(err)
	}
	_, err := collectTasks(dir, "job a", 3)
	if err == nil || !strings.Contains(err.Error(), `of "job b"`) {
		t.Fatalf("foreign task: err %v", err)
	}
	os.Remove(taskPath(dir, 2))
	_, err = collectTasks(dir, "job a", 3)
	if err == nil || !strings.Contains(err.Error(), "lacks the results of 2 of 3 tasks (1, 2)") {
		t.Fatalf("missing tasks: err %v", err)
	}
}

// runBinary runs the built closecast with extra environment variables and
// returns its stdout, failing the test on a non-zero exit.
func runBinary(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("closecast %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// wallTimeRE matches the lines of indented JSON that hold a wall time.
var wallTimeRE = regexp.MustCompile(`(?m)^\s*"(seconds|seconds_per_epoch)": [0-9.e+-]+,?\n`)

// withoutWallTime drops wall times from indented JSON.
func withoutWallTime(b []byte) []byte { return wallTimeRE.ReplaceAll(b, nil) }

// TestBacktestThreeShardsEqualOneProcess runs a backtest as three separate
// processes, each naming its shard another way (flag, Kubernetes Indexed
// Job, AWS Batch array job), merges them with --collect, and compares the
// JSON and the chart with one process's, byte for byte.
func TestBacktestThreeShardsEqualOneProcess(t *testing.T) {
	cfg := writeSmallConfig(t, "")
	home := "CLOSECAST_HOME=" + t.TempDir()
	tmp := t.TempDir()
	results := filepath.Join(tmp, "results")
	bt := []string{"backtest", "--config", cfg, "--from", "2025-06-01", "--to", "2025-06-14", "--retrain-every", "2", "--threads", "1", "--quiet"}
	args := func(extra ...string) []string { return append(append([]string{}, bt...), extra...) }

	one := runBinary(t, []string{home}, args("--json", "--plot", filepath.Join(tmp, "one.svg"))...)
	out0 := runBinary(t, []string{home}, args("--shard", "0/3", "--results", results)...)
	runBinary(t, []string{home, envK8sIndex + "=1", envK8sCount + "=3"}, args("--results", results)...)
	runBinary(t, []string{home, envBatchIndex + "=2"}, args("--shards", "3", "--results", results)...)
	if !strings.Contains(string(out0), "shard 0/3: 3 of 7 folds written") {
		t.Errorf("shard 0 says %q, want 3 of 7 folds", out0)
	}
	merged := runBinary(t, []string{home}, args("--collect", "--results", results, "--json", "--plot", filepath.Join(tmp, "merged.svg"))...)
	// Training records carry their wall time, which differs between any
	// two runs; everything else must be the same bytes.
	one, merged = withoutWallTime(one), withoutWallTime(merged)
	if !bytes.Equal(one, merged) {
		t.Fatalf("merged result differs from one process's:\none:\n%s\nmerged:\n%s", one, merged)
	}
	if !bytes.Contains(one, []byte(`"index": 6`)) {
		t.Fatalf("one process's result lacks fold 6:\n%s", one)
	}
	a, _ := os.ReadFile(filepath.Join(tmp, "one.svg"))
	b, _ := os.ReadFile(filepath.Join(tmp, "merged.svg"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("charts differ (%d vs %d bytes)", len(a), len(b))
	}
}

// FuzzShardSpec: any --shard value or engine index either resolves to a
// shard with 0 ≤ I < N or is a usage error; never a panic.
func FuzzShardSpec(f *testing.F) {
	for _, s := range []string{"0/1", "2/3", "3/3", "-1/2", "1/0", "a/b", "/", "", " 1/2", "1/2/3", "99999999999999999999/1"} {
		f.Add(s, "1", "3")
	}
	f.Fuzz(func(t *testing.T, spec, index, count string) {
		for _, fl := range []shardFlags{{spec: spec, results: "r"}, {results: "r", shards: 3}} {
			s, err := fl.resolve(func(k string) string {
				switch k {
				case envBatchIndex:
					return index
				case envShards:
					return count
				}
				return ""
			})
			if err != nil {
				if !errors.Is(err, errUsage) {
					t.Fatalf("%q: error %v is not a usage error", spec, err)
				}
				continue
			}
			if s.Count > 0 && (s.Index < 0 || s.Index >= s.Count) {
				t.Fatalf("%q %q %q: shard %v out of range", spec, index, count, s)
			}
		}
	})
}
