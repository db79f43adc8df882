// Package configs embeds the shipped training configurations, so that
// `closecast train --config reference` works from the binary alone.
package configs

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

// Names lists the embedded configs ("default", "reference").
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Load reads a config from a file path, or, when no such file exists and
// nameOrPath is the name of an embedded config ("reference", "default",
// with or without .yaml or a configs/ prefix), from the binary.
func Load(nameOrPath string) (config.Config, error) {
	if _, err := os.Stat(nameOrPath); err == nil {
		return config.Load(nameOrPath)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(nameOrPath, "configs/"), ".yaml")
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
