// Package atomicfile writes files so that a reader sees the old content or
// the new, never part of either: the data goes to a temporary file in the
// same directory, is synced, and is renamed over the target. A failure at
// any step removes the temporary file and leaves the target untouched.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write writes data to path atomically with permissions 0644.
func Write(path string, data []byte) error {
	return WriteFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc writes what write produces to path atomically with permissions
// 0644. If write fails, path is left as it was.
func WriteFunc(path string, write func(w io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes 0600
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
