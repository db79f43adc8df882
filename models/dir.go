package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/closecast/closecast/artifact"
)

// All returns every embedded model, in Symbols' order.
func All() ([]*artifact.Model, error) {
	var out []*artifact.Model
	for _, sym := range Symbols() {
		m, err := Embedded(sym)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// LoadDir reads a directory of artifact directories (`serve --models DIR`):
// each subdirectory holding a model.json is one model, read and verified;
// DIR itself may also be an artifact directory. Two models of one symbol
// are an error naming both, as is a directory with none.
func LoadDir(dir string) ([]*artifact.Model, error) {
	var dirs []string
	if _, err := os.Stat(filepath.Join(dir, "model.json")); err == nil {
		dirs = append(dirs, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, "model.json")); err == nil {
			dirs = append(dirs, sub)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s holds no artifact directory (a directory with a model.json, as closecast train writes)", dir)
	}
	sort.Strings(dirs)
	bySymbol := map[string]string{}
	var out []*artifact.Model
	for _, d := range dirs {
		m, err := artifact.Read(d)
		if err != nil {
			return nil, err
		}
		if prev, ok := bySymbol[m.Meta.Symbol]; ok {
			return nil, fmt.Errorf("%s and %s both forecast %s: keep one model per symbol", prev, d, m.Meta.Symbol)
		}
		bySymbol[m.Meta.Symbol] = d
		out = append(out, m)
	}
	return out, nil
}
