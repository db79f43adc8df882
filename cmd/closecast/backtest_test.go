package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallConfigYAML trains in a fraction of a second: a few months of data, a
// window of 10 days, one layer of 4 units, 3 epochs.
const smallConfigYAML = `name: small
symbol: BTC-USD
data: {from: 2025-01-01, to: 2025-12-31}
features: [log_return_1d]
target: log_return
window_size: 10
layers: 1
neuronios: 4
epochs: 3
early_stopping: {patience: 2, monitor: tail}
validation: {from: 2025-09-01, to: 2025-09-30}
`

func writeSmallConfig(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(path, []byte(smallConfigYAML+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCmdDirect calls c's run function directly (the command may not be
// registered in main's list yet) with its own CLOSECAST_HOME.
func runCmdDirect(t *testing.T, c *command, home string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "CLOSECAST_HOME" {
			return home
		}
		return ""
	}}
	err := c.run(context.Background(), c, e, args)
	return out.String(), errb.String(), err
}

func TestBacktestCommandJSONAndPlot(t *testing.T) {
	cfg := writeSmallConfig(t, "")
	plot := filepath.Join(t.TempDir(), "bt.png")
	out, errOut, err := runCmdDirect(t, backtestCmd, t.TempDir(), "--config", cfg, "--from", "2025-06-01", "--to", "2025-06-12",
		"--retrain-every", "5", "--threads", "2", "--plot", plot, "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var r struct {
		N, RetrainEvery int
		From, To        string
		Model           map[string]*float64
		Persistence     map[string]*float64
		MA7             map[string]*float64 `json:"ma7"`
		Folds           []struct {
			From, To  string
			TrainedTo string `json:"trained_to"`
			N         int
		}
		Days []struct{ Date string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.N != 12 || r.From != "2025-06-01" || r.To != "2025-06-12" || len(r.Days) != 12 || len(r.Folds) != 3 {
		t.Fatalf("n %d %s..%s days %d folds %d:\n%s", r.N, r.From, r.To, len(r.Days), len(r.Folds), out)
	}
	wantFolds := [][3]string{{"2025-06-01", "2025-06-05", "2025-05-31"}, {"2025-06-06", "2025-06-10", "2025-06-05"}, {"2025-06-11", "2025-06-12", "2025-06-10"}}
	for k, f := range r.Folds {
		if [3]string{f.From, f.To, f.TrainedTo} != wantFolds[k] {
			t.Errorf("fold %d: %s..%s trained to %s, want %v", k, f.From, f.To, f.TrainedTo, wantFolds[k])
		}
	}
	for name, m := range map[string]map[string]*float64{"model": r.Model, "persistence": r.Persistence, "ma7": r.MA7} {
		for _, k := range []string{"mae", "rmse", "mape", "smape", "mase", "direction"} {
			// Persistence never predicts a move: its direction hit rate is
			// undefined, null; every other figure is a number.
			if undefined := name == "persistence" && k == "direction"; (m[k] == nil) != undefined {
				t.Errorf("%s metric %s is %v in %v; want null only for persistence's direction", name, k, m[k], m)
			}
			if _, ok := m[k]; !ok {
				t.Errorf("%s metric %s missing in %v", name, k, m)
			}
		}
	}
	if got := strings.Count(errOut, "fold "); got != 3 {
		t.Errorf("%d progress lines on stderr, want 3:\n%s", got, errOut)
	}
	b, err := os.ReadFile(plot)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("plot %s: %v (%d bytes)", plot, err, len(b))
	}

	// The text form: the overall table, then one line per fold.
	out, _, err = runCmdDirect(t, backtestCmd, t.TempDir(), "--config", cfg, "--from", "2025-06-01", "--to", "2025-06-12", "--retrain-every", "5", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"small on BTC-USD", "12 days, 2025-06-01 .. 2025-06-12", "persistence", "ma7", "2025-06-11..2025-06-12"} {
		if !strings.Contains(out, s) {
			t.Errorf("text output lacks %q:\n%s", s, out)
		}
	}
}

func TestBacktestCommandUsageErrors(t *testing.T) {
	cfg := writeSmallConfig(t, "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "2025-06-01", "--to", "2025-06-12", "--retrain-every", "5"}, "--config is required"},
		{[]string{"--config", cfg, "--to", "2025-06-12", "--retrain-every", "5"}, "--from and --to"},
		{[]string{"--config", cfg, "--from", "2025-06-12", "--to", "2025-06-01", "--retrain-every", "5"}, "before --from"},
		{[]string{"--config", cfg, "--from", "2025-06-01", "--to", "2025-06-12"}, "--retrain-every"},
		{[]string{"--config", cfg, "--from", "2025-06-01", "--to", "2025-06-12", "--retrain-every", "5", "--threads", "0"}, "--threads"},
	} {
		_, _, err := runCmdDirect(t, backtestCmd, t.TempDir(), c.args...)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want a usage error about %s", c.args, err, c.want)
		}
	}
	_, _, err := runCmdDirect(t, backtestCmd, t.TempDir(), "--config", cfg, "--from", "2025-06-01", "--to", "2199-01-01", "--retrain-every", "5")
	if err == nil || !strings.Contains(err.Error(), "last known close") {
		t.Errorf("--to beyond the data: %v", err)
	}
}
