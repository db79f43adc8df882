package backtest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestRunPartMergeEqualsRun splits a backtest's folds over three parts,
// sends each through JSON (as shards hand them over), and merges them:
// the Result is Run's, wall times aside.
func TestRunPartMergeEqualsRun(t *testing.T) {
	s := btc(t)
	opt := Options{From: btFrom, To: btTo, RetrainEvery: 5, Workers: 2}
	want, err := Run(context.Background(), small(), s, opt)
	if err != nil {
		t.Fatal(err)
	}
	var parts []Part
	for i := 2; i >= 0; i-- { // any order
		got, err := RunPart(context.Background(), small(), s, opt, func(k int) bool { return k%3 == i })
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var back []Part
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, back...)
	}
	got, err := Merge(small(), s, opt, parts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Result{want, got} {
		for k := range r.Folds {
			r.Folds[k].Training.Seconds, r.Folds[k].Training.SecondsEpoch = 0, 0
		}
	}
	// Compared as JSON, the form a backtest is reported in (and where
	// NaN, a metric without a value, equals itself).
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if len(got.Folds) != 4 || string(g) != string(w) {
		t.Fatalf("merged:\n%s\nRun:\n%s", g, w)
	}
	if _, err := Merge(small(), s, opt, parts[1:]); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("merge without one fold: %v", err)
	}
	if _, err := Merge(small(), s, opt, append(parts, parts[0])); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("merge with a fold twice: %v", err)
	}
}
