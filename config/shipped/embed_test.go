package shipped

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/closecast/closecast/config"
)

// Every YAML file of this directory is embedded, by its name.
func TestNamesListsEveryShippedYAML(t *testing.T) {
	paths, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range paths {
		want = append(want, strings.TrimSuffix(p, ".yaml"))
	}
	sort.Strings(want)
	if got := Names(); len(got) < 3 || !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range []string{"default", "direct7", "reference"} {
		if !slices.Contains(want, n) {
			t.Errorf("%s.yaml is not shipped", n)
		}
	}
}

// The test runs in config/shipped, where none of these paths exist as files,
// so each must resolve to the embedded config: by name, by the current repo
// path, and by the configs/ path that older docs used.
func TestLoadResolvesNamesAndBothRepoPaths(t *testing.T) {
	for _, name := range Names() {
		want, err := config.Load(name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, arg := range []string{name, name + ".yaml", "config/shipped/" + name + ".yaml", "./config/shipped/" + name + ".yaml", "configs/" + name + ".yaml", "configs/" + name} {
			got, err := Load(arg)
			if err != nil {
				t.Fatalf("Load(%q): %v", arg, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Load(%q) = %+v, want %+v", arg, got, want)
			}
		}
	}
}

func TestLoadUnknownNameSaysWhatExists(t *testing.T) {
	for _, arg := range []string{"nope", "configs/nope.yaml", "other/default.yaml"} {
		_, err := Load(arg)
		if err == nil {
			t.Fatalf("Load(%q) succeeded", arg)
		}
		for _, s := range append([]string{arg}, Names()...) {
			if !strings.Contains(err.Error(), s) {
				t.Fatalf("Load(%q) error %q does not mention %q", arg, err, s)
			}
		}
	}
}

// fullvars.yaml is the reference's multivariate notebook as its README
// (shared/reference §13) describes it: every feature it lists, the close it
// predicts, and its network and training settings.
func TestFullvarsIsTheMultivariateNotebook(t *testing.T) {
	c, err := Load("fullvars")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"close", "log_return_1d", "momentum_3d", "momentum_7d", "rsi_14", "volume_spike", "position_in_range_30"}
	for _, k := range []int{7, 30, 90, 180} {
		for _, s := range []string{"mean", "std", "max", "min", "zscore"} {
			want = append(want, fmt.Sprintf("rolling_%s_%d", s, k))
		}
	}
	for _, f := range want {
		if !slices.Contains(c.Features, f) {
			t.Errorf("feature %s is missing", f)
		}
	}
	if len(c.Features) != len(want) {
		t.Errorf("%d features, want the notebook's %d: %v", len(c.Features), len(want), c.Features)
	}
	type recipe struct {
		Target, ScalerFit, Loss                        string
		Layers, Units, Epochs, Batch, Window, Patience int
		LR, Dropout, TrainFraction                     float64
	}
	got := recipe{c.Target, c.ScalerFit, c.Loss, c.Layers, c.Units, c.Epochs, c.BatchSize, c.WindowSize,
		c.EarlyStopping.Patience, c.LearningRate, c.Dropout, c.TrainFraction}
	notebook := recipe{"close", "all", "mean_absolute_error", 2, 200, 100, 64, 60, 0, 1e-4, 0, 0.8}
	if got != notebook {
		t.Errorf("fullvars = %+v, want the notebook's %+v", got, notebook)
	}
}
