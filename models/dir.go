package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

// Markets returns m as the model of each of its markets: a global model's
// views (artifact.Model.For), in its config's order, or m itself for a
// single-market model. The views share m's network.
func Markets(m *artifact.Model) ([]*artifact.Model, error) {
	var out []*artifact.Model
	for _, sym := range m.Symbols() {
		v, err := m.For(sym)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// LoadDir reads a directory of artifact directories (`serve --models DIR`):
// each subdirectory holding a model.json is read and verified and gives
// one model per market it forecasts (a global model gives each of its
// markets, as Markets does); DIR itself may also be an artifact directory.
// Two models of one symbol are an error naming both directories, whether
// per-symbol or global, as is a directory with none.
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
		// artifact.Write makes each artifact directory a link to a hidden
		// version directory, and keeps the previous version beside it:
		// read the links (followed by os.Stat), never the versions, or a
		// model written twice would count twice.
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
			continue // a file, or a dangling link
		}
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
		views, err := Markets(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		for _, v := range views {
			if prev, ok := bySymbol[v.Meta.Symbol]; ok {
				return nil, fmt.Errorf("%s and %s both forecast %s: keep one model per symbol", prev, d, v.Meta.Symbol)
			}
			bySymbol[v.Meta.Symbol] = d
			out = append(out, v)
		}
	}
	return out, nil
}
