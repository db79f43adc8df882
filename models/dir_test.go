package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast/artifact"
)

// TestLoadDirReadsEveryArtifact: a directory of artifact directories gives
// one model per subdirectory (through the link artifact.Write makes, so a
// model written twice is one); two of one symbol are refused, and so is a
// directory without any.
func TestLoadDirReadsEveryArtifact(t *testing.T) {
	all, err := All()
	if err != nil || len(all) != len(Symbols()) {
		t.Fatalf("All: %d models, %v", len(all), err)
	}
	dir := t.TempDir()
	for _, m := range all {
		c := *m // Write sets the metadata's file list: not on the shared embedded model
		if err := artifact.Write(filepath.Join(dir, strings.ToLower(m.Meta.Symbol)), &c, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := LoadDir(dir)
	if err != nil || len(got) != len(all) {
		t.Fatalf("LoadDir: %d models, %v", len(got), err)
	}
	for i, m := range got {
		if m.Meta.Version != all[i].Meta.Version {
			t.Errorf("model %d: %s, want %s", i, m.Meta.Version, all[i].Meta.Version)
		}
	}
	// Written again under its name: the link moves to a new version and
	// the previous one stays beside it, hidden, still one model.
	rewrite := *all[0]
	if err := artifact.Write(filepath.Join(dir, strings.ToLower(all[0].Meta.Symbol)), &rewrite, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadDir(dir); err != nil || len(got) != len(all) {
		t.Fatalf("LoadDir after a rewrite: %d models, %v", len(got), err)
	}
	again := *all[0]
	if err := artifact.Write(filepath.Join(dir, "zz-again"), &again, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "both forecast") {
		t.Errorf("two models of one symbol: %v", err)
	}
	empty := t.TempDir()
	_ = os.Mkdir(filepath.Join(empty, "x"), 0o755)
	if _, err := LoadDir(empty); err == nil || !strings.Contains(err.Error(), "no artifact directory") {
		t.Errorf("no artifact: %v", err)
	}
}
