package readlimit

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReadFileRefusesDevicesFIFOsAndOversizedFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "model.json")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.csv")
	if err := os.WriteFile(big, make([]byte, 101), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want error
	}{{fifo, ErrNotRegular}, {zero, ErrNotRegular}, {dir, ErrNotRegular}, {big, ErrTooLarge}} {
		if _, err := ReadFile(c.path, 100); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.path, err, c.want)
		}
	}
	ok := filepath.Join(dir, "ok.csv")
	if err := os.WriteFile(ok, []byte("exactly"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(ok, 7); err != nil || string(b) != "exactly" {
		t.Fatalf("a file at its limit: %q, %v", b, err)
	}
	if b, err := ReadFS(os.DirFS(dir), "ok.csv", 7); err != nil || string(b) != "exactly" {
		t.Fatalf("ReadFS of a file at its limit: %q, %v", b, err)
	}
	if _, err := ReadFS(os.DirFS(dir), "model.json", 1<<30); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("ReadFS of a link to /dev/zero: %v", err)
	}
}
