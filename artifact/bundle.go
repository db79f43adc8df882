package artifact

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/atomicfile"
)

// Files is an artifact directory as bytes: file name → contents. It is how
// a model registry stores and returns a model whole (closecast.Registry).
type Files = closecast.ModelFiles

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

// WriteFiles writes files, an artifact as a registry returns it, as
// directory dir, replacing dir atomically for readers as Write does.
func WriteFiles(dir string, files Files) error {
	return atomicfile.WriteDir(dir, func(tmp string) error {
		for _, name := range files.Names() {
			if err := atomicfile.Write(filepath.Join(tmp, name), files[name]); err != nil {
				return err
			}
		}
		return nil
	})
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

// Describe verifies files (see Verify) and returns what a model registry
// keeps about them beside the bytes. Pushed and Champion are the registry's
// to set.
func Describe(files Files) (closecast.ModelInfo, error) {
	m, err := Verify(files)
	if err != nil {
		return closecast.ModelInfo{}, err
	}
	if m.Meta.Version == "" {
		return closecast.ModelInfo{}, fmt.Errorf("%w: %s has no version", ErrIncompatible, MetadataFile)
	}
	sym, err := closecast.NormalizeSymbol(m.Meta.Symbol)
	if err != nil {
		return closecast.ModelInfo{}, fmt.Errorf("%w: %s: %v", ErrIncompatible, MetadataFile, err)
	}
	metrics, err := json.Marshal(m.Meta.Metrics)
	if err != nil {
		return closecast.ModelInfo{}, err
	}
	return closecast.ModelInfo{Version: m.Meta.Version, Symbol: sym, Created: m.Meta.Created.UTC(),
		Checksum: m.Meta.Checksum, Size: files.Size(), Metrics: metrics}, nil
}

// CheckStored verifies files read back from a registry against want, what
// the registry recorded when they were pushed: a row edited or damaged in
// the database is refused rather than served.
func CheckStored(files Files, want closecast.ModelInfo) error {
	got, err := Describe(files)
	if err != nil {
		return fmt.Errorf("stored model %s: %w", want.Version, err)
	}
	if got.Version != want.Version || got.Checksum != want.Checksum {
		return fmt.Errorf("stored model %s: %w: its files are model %s with checksum %.12s…, the registry recorded %.12s…",
			want.Version, ErrCorrupt, got.Version, got.Checksum, want.Checksum)
	}
	return nil
}
