package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
)

// TestEvaluateDistribution: evaluate --json, for the shipped model, carries issue 15's comparison
// under "distribution", the very report evaluate.Lineup and
// ScoreAgainstBaselines give for the model over the embedded series (with
// evaluate.WithEnsemble's two rows), next
// to the unchanged point keys; --plot writes a PNG; the text output shows
// both tables.
func TestEvaluateDistribution(t *testing.T) {
	plots := filepath.Join(t.TempDir(), "plots")
	code, out, errOut := cli(t, nil, "evaluate", "--from", "2025-06-01", "--to", "2025-07-16", "--json", "--samples", "0", "--plot", plots)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		N            int
		Persistence  map[string]float64
		Distribution *evaluate.Report
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.N != 46 || got.Persistence["mae"] == 0 || got.Distribution == nil {
		t.Fatalf("n %d, persistence %v, distribution %v", got.N, got.Persistence, got.Distribution)
	}

	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	from, to := closecast.MustParseDate("2025-06-01"), closecast.MustParseDate("2025-07-16")
	w, err := evaluate.NewWalk(s, from, to, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	methods, err := w.Lineup(evaluate.ModelFold{Pipeline: m.Pipeline})
	if err != nil {
		t.Fatal(err)
	}
	if methods, err = evaluate.WithEnsemble(w.Days, methods); err != nil {
		t.Fatal(err)
	}
	want, err := evaluate.ScoreAgainstBaselines(w.Days, methods, evaluate.BaselineNames())
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON, as the command wrote it.
	b, _ := json.Marshal(want)
	var wantJSON *evaluate.Report
	json.Unmarshal(b, &wantJSON)
	if !reflect.DeepEqual(got.Distribution, wantJSON) {
		t.Errorf("distribution\n%+v\nwant\n%+v", got.Distribution, wantJSON)
	}
	if n := len(got.Distribution.Comparisons); n != 6*len(evaluate.BaselineNames()) {
		t.Errorf("%d comparisons, want each of 6 models (4 and the ensemble with its ACI row) against each of 5 baselines", n)
	}

	f, err := os.Open(filepath.Join(plots, "calibration.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 500 {
		t.Fatalf("calibration.png: %v, %v", err, img)
	}

	code, out, errOut = cli(t, nil, "evaluate", "--from", "2025-06-01", "--to", "2025-07-16", "--samples", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range []string{"distribution scores, one step ahead, 46 days", "best baseline by pinball: " + want.Reference, "model+faci", "garch11_t+aci", "ensemble+aci", "DM abs error"} {
		if !strings.Contains(out, s) {
			t.Errorf("text output lacks %q:\n%s", s, out)
		}
	}
}

// TestEvaluateDistributionInSample: a range the model trained on keeps its
// point scores but gets no distribution, and says why.
func TestEvaluateDistributionInSample(t *testing.T) {
	code, out, errOut := cli(t, nil, "evaluate", "--from", "2023-01-01", "--to", "2023-01-31", "--json", "--samples", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		N                 int
		Distribution      *evaluate.Report
		DistributionError string `json:"distribution_error"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.N != 31 || got.Distribution != nil || !strings.Contains(got.DistributionError, "not out of sample") {
		t.Fatalf("%+v", got)
	}
	if code, _, errOut := cli(t, nil, "evaluate", "--from", "2023-01-01", "--to", "2023-01-31", "--samples", "0", "--plot", t.TempDir()); code == 0 || !strings.Contains(errOut, "not out of sample") {
		t.Errorf("--plot without distribution scores: exit %d, %q", code, errOut)
	}
}
