package backtest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
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

// TestMergedPartsScoreTheirDistribution: each Part carries its fold's
// model through JSON, Merge restores it, and the merged Result's
// distribution scores are Run's. A model damaged in transit or belonging
// to another fold is refused; a part without one (an older task file)
// merges without its model.
func TestMergedPartsScoreTheirDistribution(t *testing.T) {
	s := btc(t)
	cfg := small()
	cfg.Data.From = closecast.MustParseDate("2023-01-01")
	opt := Options{From: btFrom, To: btTo, RetrainEvery: 10, Workers: 2}
	want, err := Run(t.Context(), cfg, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	var parts []Part
	for i := range 2 {
		got, err := RunPart(t.Context(), cfg, s, opt, func(k int) bool { return k%2 == i })
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
	got, err := Merge(cfg, s, opt, parts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Result{want, got} {
		if err := r.ScoreDistribution(s); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := json.Marshal(got.Distribution)
	w, _ := json.Marshal(want.Distribution)
	if len(got.Folds) != 2 || want.Distribution.Overall.N != 20 || string(g) != string(w) {
		t.Fatalf("merged distribution:\n%s\nRun's:\n%s", g, w)
	}

	swapped := slices.Clone(parts)
	swapped[0].Model, swapped[1].Model = parts[1].Model, parts[0].Model
	if _, err := Merge(cfg, s, opt, swapped); err == nil || !strings.Contains(err.Error(), "its model on") {
		t.Errorf("merge with another fold's model: %v", err)
	}
	damaged := slices.Clone(parts)
	damaged[0].Model = maps.Clone(parts[0].Model)
	weights := slices.Clone(damaged[0].Model[artifact.WeightsFile])
	weights[len(weights)-1] ^= 1
	damaged[0].Model[artifact.WeightsFile] = weights
	if _, err := Merge(cfg, s, opt, damaged); !errors.Is(err, artifact.ErrCorrupt) {
		t.Errorf("merge with a damaged model: %v", err)
	}
	old := slices.Clone(parts)
	old[0].Model = nil
	r, err := Merge(cfg, s, opt, old)
	if err != nil {
		t.Fatal(err)
	}
	if r.Folds[old[0].Fold.Index].Pipeline != nil || r.Folds[old[1].Fold.Index].Pipeline == nil {
		t.Errorf("a part without a model merged with one, or the other part lost its own")
	}
}
