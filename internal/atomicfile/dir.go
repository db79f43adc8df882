package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A directory replaced with ReplaceDir is a symbolic link to a complete,
// never modified version directory beside it; replacing it renames a new
// link over the old one, which is atomic, so a reader that resolves the
// link (ResolveDir) sees a whole old or a whole new directory, never none.
// In dir's parent, for dir named NAME:
//
//	NAME                 -> .NAME.v-<random>   the link readers open
//	.NAME.v-<random>/    the current version, and the previous one (kept so
//	                     that a reader that resolved the link just before a
//	                     swap can finish); older ones are removed
//	.NAME.tmp-<random>/  a version being written (TempDir); one left by a
//	                     killed writer is removed by the next ReplaceDir
//	                     once older than StaleAfter
//	.NAME.link-<random>  the new link, for the instant before its rename
//
// A NAME that is a plain directory (written before this layout) is moved
// to a version directory on its first replacement: the one replacement
// during which it is briefly absent.

// Prefixes of the entries beside a replaced directory NAME: "." + NAME + prefix.
const (
	tmpPrefix     = ".tmp-"
	versionPrefix = ".v-"
	linkPrefix    = ".link-"
)

// StaleAfter is the age past which a temporary directory or link left
// beside a replaced directory is taken to belong to a writer that died, and
// removed by the next ReplaceDir. Writing a model takes well under a second.
const StaleAfter = 10 * time.Minute

// TempDir creates an empty temporary directory beside dir (and dir's
// parent, if missing) to be filled and passed to ReplaceDir.
func TempDir(dir string) (string, error) {
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(parent, "."+base+tmpPrefix)
}

// WriteDir fills a new temporary directory beside dir with fill and then
// replaces dir with it (ReplaceDir): readers see the old directory or the
// whole new one. If fill or the swap fails, the temporary directory is
// removed and dir is left as it was.
func WriteDir(dir string, fill func(tmp string) error) (err error) {
	tmp, err := TempDir(dir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return ReplaceDir(tmp, dir)
}

// ReplaceDir makes dir show the complete directory tmp (from TempDir): tmp
// becomes a version directory and dir a link to it, swapped in atomically.
// Version directories older than the previous one and temporary entries
// older than StaleAfter are then removed. On error dir is left as it was.
func ReplaceDir(tmp, dir string) error {
	dir = filepath.Clean(dir)
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	suffix := randomSuffix()
	version := filepath.Join(parent, "."+base+versionPrefix+suffix)
	if err := os.Rename(tmp, version); err != nil {
		return err
	}
	link := filepath.Join(parent, "."+base+linkPrefix+suffix)
	if err := os.Symlink(filepath.Base(version), link); err != nil {
		os.Rename(version, tmp)
		return err
	}
	prev, _ := os.Readlink(dir)
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		// A plain directory of the earlier layout: becomes a version.
		prev = "." + base + versionPrefix + "legacy-" + suffix
		if err := os.Rename(dir, filepath.Join(parent, prev)); err != nil {
			os.Remove(link)
			os.Rename(version, tmp)
			return err
		}
	}
	if err := os.Rename(link, dir); err != nil {
		os.Remove(link)
		os.Rename(version, tmp)
		return err
	}
	sweep(parent, base, filepath.Base(version), filepath.Base(prev))
	return nil
}

// sweep removes, beside dir NAME, version directories other than keep and
// prev, and temporary directories and links older than StaleAfter. A
// failure to remove one is not an error: the next sweep tries again.
func sweep(parent, base, keep, prev string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == keep || name == prev:
		case strings.HasPrefix(name, "."+base+versionPrefix):
			os.RemoveAll(filepath.Join(parent, name))
		case strings.HasPrefix(name, "."+base+tmpPrefix), strings.HasPrefix(name, "."+base+linkPrefix):
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > StaleAfter {
				os.RemoveAll(filepath.Join(parent, name))
			}
		}
	}
}

// ResolveDir returns the directory dir shows now: the version directory a
// link made by ReplaceDir points to, or dir itself when it is a plain
// directory. Reading every file through the result, not through dir, keeps
// a reader on one version while dir is replaced.
func ResolveDir(dir string) (string, error) {
	p, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s: %w", dir, errNotDir)
	}
	return p, nil
}

var errNotDir = errors.New("not a directory")

// ReadDirStable calls read with the directory dir shows (ResolveDir) and,
// if read fails while dir was replaced meanwhile (its version removed under
// the reader), calls it again with the new version, a few times: a reader
// never fails because of a concurrent ReplaceDir.
func ReadDirStable(dir string, read func(resolved string) error) error {
	var err error
	for range 10 {
		var p string
		if p, err = ResolveDir(dir); err == nil {
			if err = read(p); err == nil {
				return nil
			}
		}
		// Resolved to a version since replaced (and perhaps removed), or a
		// file gone missing (a version is complete until it is removed):
		// read again. Otherwise the failure is the reader's own.
		if now, rerr := ResolveDir(dir); (rerr != nil || now == p) && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
