// Package shipped embeds the shipped training configurations (the YAML files
// in this directory), so that `closecast train --config reference` works from
// the binary alone.
package shipped

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/closecast/closecast/config"
)

//go:embed *.yaml
var files embed.FS

// Dir is where the shipped configs live in the repository.
const Dir = "config/shipped/"

// oldDir is where they lived before; paths under it still resolve to the
// embedded configs so that commands copied from older docs keep working.
const oldDir = "configs/"

// Names lists the embedded configs ("default", "direct7", "reference").
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	sort.Strings(names)
	return names
}

// Load reads a config from a file path, or, when no such file exists and
// nameOrPath names an embedded config ("reference", "default", with or
// without .yaml and with or without a config/shipped/ or the old configs/
// prefix), from the binary.
func Load(nameOrPath string) (config.Config, error) {
	if _, err := os.Stat(nameOrPath); err == nil {
		return config.Load(nameOrPath)
	}
	name := strings.TrimPrefix(strings.TrimPrefix(nameOrPath, "./"), Dir)
	name = strings.TrimSuffix(strings.TrimPrefix(name, oldDir), ".yaml")
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return config.Config{}, fmt.Errorf("config %q: no such file, and not an embedded config (%s)", nameOrPath, strings.Join(Names(), ", "))
	}
	c, err := config.Decode(bytes.NewReader(b))
	if err != nil {
		return config.Config{}, fmt.Errorf("embedded config %s: %w", name, err)
	}
	return c, nil
}
