package models

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/closecast/closecast/artifact"
)

// TestLoad: an empty directory means the embedded model (the same shared
// value Default returns); a directory is read and verified, so a copy of
// the shipped artifact loads with the same version, and a damaged one is
// refused rather than served.
func TestLoad(t *testing.T) {
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load("")
	if err != nil || m != def {
		t.Fatalf("Load(\"\") = %p, %v; want the embedded model %p", m, err, def)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(".", DefaultName))); err != nil {
		t.Fatal(err)
	}
	m, err = Load(dir)
	if err != nil || m == def || m.Meta.Version != def.Meta.Version {
		t.Fatalf("Load(copy) = %v, %v; want a fresh model of version %s", m, err, def.Meta.Version)
	}
	if err := os.WriteFile(filepath.Join(dir, artifact.WeightsFile), []byte("not weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Fatal("Load of an artifact with damaged weights succeeded")
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Load of a missing directory succeeded")
	}
}
