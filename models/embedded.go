package models

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/closecast/closecast/artifact"
)

// shipped is every embedded model, by symbol, in the order Symbols lists
// them; the default comes first. Each loads and verifies once, on first use.
var shipped = []struct {
	symbol, dir string
	load        func() (*artifact.Model, error)
}{
	{"BTC-USD", DefaultName, Default},
	{"ETH-USD", "eth-usd", sync.OnceValues(func() (*artifact.Model, error) { return readEmbedded("eth-usd") })},
}

// readEmbedded reads and verifies the embedded artifact directory dir.
func readEmbedded(dir string) (*artifact.Model, error) {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return nil, err
	}
	return artifact.ReadFS(sub)
}

// Symbols lists the symbols that have an embedded model, the default's
// first.
func Symbols() []string {
	s := make([]string, len(shipped))
	for i, m := range shipped {
		s[i] = m.symbol
	}
	return s
}

// Embedded returns the embedded model that forecasts symbol (as Yahoo spells
// it, e.g. "ETH-USD"), loaded and verified once. Callers share it: it must
// not be modified. A symbol with no embedded model is an error naming the
// ones there are.
func Embedded(symbol string) (*artifact.Model, error) {
	for _, m := range shipped {
		if m.symbol == symbol {
			return m.load()
		}
	}
	return nil, fmt.Errorf("no embedded model for %q (embedded: %s)", symbol, strings.Join(Symbols(), ", "))
}
