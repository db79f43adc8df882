package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// writeVersion replaces dir with a directory of two files that both hold
// token, so that a reader can tell a whole version from a mix.
func writeVersion(t *testing.T, dir, token string) {
	t.Helper()
	tmp, err := TempDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if err := Write(filepath.Join(tmp, name), []byte(token)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ReplaceDir(tmp, dir); err != nil {
		t.Fatal(err)
	}
}

// Readers during many replacements always find the directory, and each
// read sees both files of one version.
func TestReplaceDirIsAtomicForReaders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	writeVersion(t, dir, "v0")
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				var a, b []byte
				err := ReadDirStable(dir, func(p string) (err error) {
					if a, err = os.ReadFile(filepath.Join(p, "a")); err != nil {
						return err
					}
					b, err = os.ReadFile(filepath.Join(p, "b"))
					return err
				})
				reads.Add(1)
				if err != nil {
					t.Errorf("read during replace: %v", err)
				} else if string(a) != string(b) || !strings.HasPrefix(string(a), "v") {
					t.Errorf("read a mix of versions: a=%q b=%q", a, b)
				}
			}
		}()
	}
	for i := 1; i <= 150; i++ {
		writeVersion(t, dir, fmt.Sprintf("v%d", i))
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no read ran")
	}
	t.Logf("%d reads during 150 replacements, none failed or saw a mix", reads.Load())
	got, err := os.ReadFile(filepath.Join(dir, "a"))
	if err != nil || string(got) != "v150" {
		t.Fatalf("after the replacements: %q, %v", got, err)
	}
	// Only the link, the current and the previous version remain.
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 3 {
		t.Fatalf("entries beside the link: %d, want 3", len(entries))
	}
}

// A WriteDir whose fill fails leaves dir as it was and no temporary
// directory behind; one that succeeds replaces dir whole.
func TestWriteDirKeepsTheOldDirectoryOnFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	fill := func(token string) func(string) error {
		return func(tmp string) error { return Write(filepath.Join(tmp, "a"), []byte(token)) }
	}
	if err := WriteDir(dir, fill("v1")); err != nil {
		t.Fatal(err)
	}
	boom := fmt.Errorf("fill failed")
	err := WriteDir(dir, func(tmp string) error {
		if err := fill("v2")(tmp); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("WriteDir = %v, want the fill's error", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a")); err != nil || string(b) != "v1" {
		t.Fatalf("after a failed WriteDir dir holds %q (%v), want the old v1", b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		if strings.Contains(e.Name(), tmpPrefix) {
			t.Fatalf("a failed WriteDir left %s behind", e.Name())
		}
	}
	if err := WriteDir(dir, fill("v3")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "v3" {
		t.Fatalf("dir holds %q after a successful WriteDir, want v3", b)
	}
}
