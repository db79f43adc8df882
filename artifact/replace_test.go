package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closecast/closecast/internal/atomicfile"
	"github.com/closecast/closecast/internal/readlimit"
)

// Many replacements while readers load the model: no read fails or finds
// no model, and each sees a whole model (Read verifies every checksum), one
// of the versions written.
func TestReadersDuringReplaceSeeAWholeModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	m := testModel(t)
	// A plain directory of the earlier layout is read, then converted.
	m.Meta.Name = "legacy"
	if err := Write(dir+"-legacy", m, nil); err != nil {
		t.Fatal(err)
	}
	resolved, err := atomicfile.ResolveDir(dir + "-legacy")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(resolved, dir); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(dir); err != nil || got.Meta.Name != "legacy" {
		t.Fatalf("reading a plain model directory: %v", err)
	}
	versions := map[string]bool{}
	var mu sync.Mutex
	names := []string{"a", "b"}
	for _, n := range names {
		m.Meta.Name = n
		if err := Write(dir, m, nil); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		versions[m.Meta.Version] = true
		mu.Unlock()
	}

	const replacements = 60
	var stop atomic.Bool
	var reads, failures atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				got, err := Read(dir)
				reads.Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("read during replace: %v", err)
					continue
				}
				mu.Lock()
				ok := versions[got.Meta.Version]
				mu.Unlock()
				if !ok {
					t.Errorf("read version %q, never written", got.Meta.Version)
				}
			}
		}()
	}
	for i := range replacements {
		m.Meta.Name = names[i%2]
		if err := Write(dir, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 || failures.Load() != 0 {
		t.Fatalf("%d reads, %d failed during %d replacements", reads.Load(), failures.Load(), replacements)
	}
	t.Logf("%d reads during %d replacements, %d failed", reads.Load(), replacements, failures.Load())
}

// Temporary directories left by writers that were killed are removed by
// the next Write once stale; a fresh one (a writer still at work) is kept.
func TestWriteSweepsStaleTempDirs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	m := testModel(t)
	if err := Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * atomicfile.StaleAfter)
	for range 14 {
		tmp, err := atomicfile.TempDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(tmp, WeightsFile), []byte("partial"), 0o644)
		if err := os.Chtimes(tmp, old, old); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := atomicfile.TempDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	var tmps []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			tmps = append(tmps, e.Name())
		}
	}
	if len(tmps) != 1 || tmps[0] != filepath.Base(fresh) {
		t.Fatalf("temporary directories after a write: %v; want only the fresh %s", tmps, filepath.Base(fresh))
	}
	if _, err := Read(dir); err != nil {
		t.Fatal(err)
	}
}

// A model.json that is a link to /dev/zero is refused at once (it used to
// be read until memory ran out).
func TestReadRefusesADeviceAsModelJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if err := Write(dir, testModel(t), nil); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, MetadataFile)
	if err := os.Remove(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", meta); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); !errors.Is(err, readlimit.ErrNotRegular) {
		t.Fatalf("model.json linked to /dev/zero: got %v, want readlimit.ErrNotRegular", err)
	}
}
