package shipped

import (
	"reflect"
	"strings"
	"testing"

	"github.com/closecast/closecast/config"
)

func TestNamesListsEveryShippedYAML(t *testing.T) {
	if got, want := Names(), []string{"default", "direct7", "reference"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
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
		for _, s := range []string{arg, "default", "direct7", "reference"} {
			if !strings.Contains(err.Error(), s) {
				t.Fatalf("Load(%q) error %q does not mention %q", arg, err, s)
			}
		}
	}
}
