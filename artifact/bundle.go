package artifact

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing/fstest"
)

// Files is an artifact directory as bytes: file name → contents. It is how
// a model registry stores and returns a model whole.
type Files map[string][]byte

// ReadFiles reads the regular files at the root of directory dir (an
// artifact: model.json and what it checksums) without verifying them; pass
// the result to Verify.
func ReadFiles(dir string) (Files, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := Files{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}

// FS returns files as a read-only file system.
func (f Files) FS() fs.FS {
	m := make(fstest.MapFS, len(f))
	for name, b := range f {
		m[name] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	return m
}

// Names returns the file names, sorted.
func (f Files) Names() []string {
	out := make([]string, 0, len(f))
	for name := range f {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Size returns the bytes of all files.
func (f Files) Size() int64 {
	var n int64
	for _, b := range f {
		n += int64(len(b))
	}
	return n
}

// Verify checks files as Read checks a directory (model.json's own checksum,
// every file's checksum, the schema version, and that the weights load and
// match the metadata) and returns the model. A file that model.json does not
// list is refused: a registry keeps only what the checksums vouch for.
func Verify(files Files) (*Model, error) {
	for name := range files {
		if name != filepath.Base(name) || name == "." || name == ".." {
			return nil, fmt.Errorf("%w: file name %q is not a plain name", ErrCorrupt, name)
		}
	}
	m, err := ReadFS(files.FS())
	if err != nil {
		return nil, err
	}
	for name := range files {
		if _, ok := m.Meta.Files[name]; !ok && name != MetadataFile {
			return nil, fmt.Errorf("%w: %s is not listed in %s", ErrCorrupt, name, MetadataFile)
		}
	}
	return m, nil
}
