package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cli runs one closecast command line in-process with its own
// CLOSECAST_HOME and returns its exit status, stdout and stderr.
func cli(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		if k == "CLOSECAST_HOME" {
			return t.TempDir()
		}
		return ""
	}}
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

func TestDescribeMatchesReferenceNotebook(t *testing.T) {
	code, out, errOut := cli(t, nil, "describe", "--symbol", "BTC-USD", "--from", "2018-01-01", "--to", "2025-04-30", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// The reference notebook's describe() of Yahoo BTC-USD Close, 2018-01-01..2025-04-30.
	want := map[string]string{
		"count": "2677", "mean": "30935.255341", "std": "25374.416157", "min": "3236.761719",
		"p25": "9192.836914", "p50": "23656.207031", "p75": "46444.710938", "max": "106146.265625",
	}
	for k, w := range want {
		v, ok := got[k].(float64)
		if !ok {
			t.Errorf("%s missing in %s", k, out)
			continue
		}
		format := "%.6f"
		if k == "count" {
			format = "%.0f"
		}
		if s := fmt.Sprintf(format, v); s != w {
			t.Errorf("%s = %s, want %s", k, s, w)
		}
	}
	if got["first"] != "2018-01-01" || got["last"] != "2025-04-30" || got["missing_days"] != 0.0 {
		t.Errorf("range fields: %v %v %v", got["first"], got["last"], got["missing_days"])
	}
}

func TestDescribeTextAndPlot(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "eth.svg")
	code, out, errOut := cli(t, nil, "describe", "--symbol", "ETH-USD", "--plot", plot)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range []string{"ETH-USD Close, 2017-11-09 .. 2026-03-31", "count", "3065", "75%"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	b, err := os.ReadFile(plot)
	if err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Fatalf("plot: %v", err)
	}
}

func TestDataExportRoundTripsThroughCSVFlag(t *testing.T) {
	code, out, errOut := cli(t, nil, "data", "--symbol", "BTC-USD", "--from", "2020-01-01", "--to", "2020-01-03")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The recorded Yahoo chart sample has the same three bars.
	want := "Date,Open,High,Low,Close,Volume\n2020-01-01,7194.89208984375,7254.33056640625,7174.9443359375,7200.17431640625,18565664997\n"
	if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 4 {
		t.Fatalf("export:\n%s", out)
	}
	path := filepath.Join(t.TempDir(), "bars.csv")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out2, errOut := cli(t, nil, "data", "--csv", path, "--symbol", "ANY")
	if code != 0 || out2 != out {
		t.Fatalf("re-export from --csv: exit %d %s\n%s", code, errOut, out2)
	}
	code, js, _ := cli(t, nil, "data", "--csv", path, "--format", "json")
	var v struct {
		Bars []struct {
			Date  string
			Close float64
		}
	}
	if code != 0 || json.Unmarshal([]byte(js), &v) != nil || len(v.Bars) != 3 || v.Bars[2].Date != "2020-01-03" {
		t.Fatalf("json export: %s", js)
	}
}

func TestBadCSVRowNamesFileLineAndField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(path, []byte("Date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,2,0.5,abc,10\n"), 0o644)
	code, _, errOut := cli(t, nil, "describe", "--csv", path)
	if code != 1 || !strings.Contains(errOut, "bad.csv") || !strings.Contains(errOut, "3") || !strings.Contains(errOut, "Close") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"nosuchcommand"},
		{"describe", "--from", "2025-02-30"},
		{"data", "--format", "xml"},
		{"describe", "stray"},
		{"train"},
		{"serve", "--offline", "--one-window-threads", "3"},
	} {
		code, _, errOut := cli(t, nil, args...)
		if code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	// retrain compares one market's champion and challenger: a global
	// config is refused before anything is fetched or trained.
	code, _, errOut := cli(t, nil, "retrain", "--config", "global", "--offline")
	if code != 2 || !strings.Contains(errOut, "BTC-USD, ETH-USD") || !strings.Contains(errOut, "backtest --config global") {
		t.Errorf("retrain --config global: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = cli(t, nil, "describe", "--help")
	if code != 0 || !strings.Contains(errOut, "Examples:") || !strings.Contains(errOut, "--symbol") {
		t.Errorf("--help: exit %d\n%s", code, errOut)
	}
	code, out, _ := cli(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "closecast ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestPredictOffline(t *testing.T) {
	code, out, errOut := cli(t, nil, "predict", "--offline", "--json", "--model", testModelDir(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p struct {
		Prediction float64 `json:"prediction"`
		Date       string  `json:"date"`
		Inputs     struct{ From, To string }
		LastClose  float64  `json:"last_close"`
		Actual     *float64 `json:"actual"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// The day after the embedded data, from the 60 days ending 2026-03-31.
	if p.Date != "2026-04-01" || p.Inputs.To != "2026-03-31" || p.Inputs.From != "2026-01-31" || p.Actual != nil || !(p.Prediction > 0) {
		t.Fatalf("%+v", p)
	}
	code, out, _ = cli(t, nil, "predict", "--offline", "--date", "2025-07-16", "--model", testModelDir(t))
	if code != 0 || !strings.Contains(out, "actual close: 118738.51") {
		t.Fatalf("known day: exit %d\n%s", code, out)
	}
	code, _, errOut = cli(t, nil, "predict", "--offline", "--date", "2026-05-01", "--model", testModelDir(t))
	if code != 1 || !strings.Contains(errOut, "2026-04-01") {
		t.Fatalf("out of range: exit %d %q", code, errOut)
	}
}

func TestTrainEvaluateRoundTrip(t *testing.T) {
	dir := testModelDir(t)
	code, out, errOut := cli(t, nil, "evaluate", "--model", dir, "--from", "2025-06-01", "--to", "2025-07-16", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ev struct {
		N           int
		From, To    string
		Model       map[string]float64
		Persistence map[string]float64
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	// Persistence over 2025-06-01..07-16 is the reference README's 1313.91 MAE.
	if ev.N != 46 || ev.From != "2025-06-01" || ev.To != "2025-07-16" || fmt.Sprintf("%.2f", ev.Persistence["mae"]) != "1313.91" {
		t.Fatalf("%+v", ev)
	}
	for _, k := range []string{"mae", "rmse", "mape", "smape", "mase", "direction"} {
		if _, ok := ev.Model[k]; !ok {
			t.Errorf("model metrics lack %s", k)
		}
	}
}

var testModel struct {
	once sync.Once
	dir  string
	err  string
}

// testModelDir trains a small model once through the CLI.
func testModelDir(t *testing.T) string {
	t.Helper()
	testModel.once.Do(func() {
		dir, err := os.MkdirTemp("", "closecast-cmd-test-")
		if err != nil {
			testModel.err = err.Error()
			return
		}
		cfg := filepath.Join(dir, "tiny.yaml")
		os.WriteFile(cfg, []byte("name: tiny\nsymbol: BTC-USD\ndata: {from: 2024-01-01, to: 2025-04-30}\nfeatures: [log_return_1d]\ntarget: log_return\nneuronios: 4\nepochs: 2\nthreads: 1\nvalidation: {from: 2025-06-01, to: 2025-07-16}\n"), 0o644)
		out := filepath.Join(dir, "model")
		if code, _, errOut := cli(t, nil, "train", "--config", cfg, "--out", out, "--quiet"); code != 0 {
			testModel.err = errOut
		}
		testModel.dir = out
	})
	if testModel.err != "" {
		t.Fatal(testModel.err)
	}
	return testModel.dir
}
