// Package readlimit reads local files with a size limit, refusing anything
// that is not a regular file: a model.json linked to /dev/zero, a FIFO or a
// 20 GB file named by mistake is a clear error, not an unbounded read.
// Every local file closecast reads (model.json, weights, CSV, YAML) goes
// through it.
package readlimit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Documented limits of the local files closecast reads.
const (
	// Metadata bounds model.json (the shipped one is about 200 KB, most of
	// it calibration scores).
	Metadata = 16 << 20
	// Weights bounds a safetensors file (the shipped model's is ~100 KB; a
	// network of the largest config allowed is well under this).
	Weights = 256 << 20
	// CSV bounds a bars CSV (a century of daily bars is under 10 MB).
	CSV = 64 << 20
	// Config bounds a YAML config.
	Config = 1 << 20
)

// ErrTooLarge is wrapped when a file exceeds its limit.
var ErrTooLarge = errors.New("file is larger than its limit")

// ErrNotRegular is wrapped when a path names a device, FIFO, socket or
// directory instead of a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading after checking, on the opened file itself
// (no race with a rename), that it is a regular file of at most limit
// bytes. The returned reader stops at limit+1 bytes whatever the file
// grows to meanwhile; reading past limit fails with ErrTooLarge.
func Open(path string, limit int64) (io.ReadCloser, error) {
	// O_NONBLOCK: opening a FIFO with no writer must not hang before the
	// check below refuses it.
	f, err := openNonBlock(path)
	if err != nil {
		return nil, err
	}
	if err := check(f, path, limit); err != nil {
		f.Close()
		return nil, err
	}
	return &limited{f: f, r: io.LimitReader(f, limit+1), path: path, limit: limit}, nil
}

// ReadFile reads the whole of path, a regular file of at most limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	r, err := Open(path, limit)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// ReadFS is ReadFile for a file of fsys (an embedded or os.DirFS tree).
func ReadFS(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := check(f, name, limit); err != nil {
		return nil, err
	}
	l := &limited{f: f, r: io.LimitReader(f, limit+1), path: name, limit: limit}
	return io.ReadAll(l)
}

func check(f fs.File, name string, limit int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, fi.Mode().Type())
	}
	if fi.Size() > limit {
		return fmt.Errorf("%s: %w: %d bytes, the limit is %d", name, ErrTooLarge, fi.Size(), limit)
	}
	return nil
}

// limited reads at most limit bytes and fails on more.
type limited struct {
	f     io.Closer
	r     io.Reader
	n     int64
	path  string
	limit int64
}

func (l *limited) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		return 0, fmt.Errorf("%s: %w: the limit is %d bytes", l.path, ErrTooLarge, l.limit)
	}
	return n, err
}

func (l *limited) Close() error { return l.f.Close() }

func openNonBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscallNonBlock, 0)
}
