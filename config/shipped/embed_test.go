package shipped

import (
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
