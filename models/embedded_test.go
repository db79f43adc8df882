package models

import (
	"slices"
	"strings"
	"testing"
)

// Every embedded model loads under its symbol, forecasts that symbol, carries
// its evaluations, and is loaded once; BTC-USD's is the default.
func TestEmbeddedModels(t *testing.T) {
	if got, want := Symbols(), []string{"BTC-USD", "ETH-USD"}; !slices.Equal(got, want) {
		t.Fatalf("Symbols() = %v, want %v", got, want)
	}
	for _, sym := range Symbols() {
		m, err := Embedded(sym)
		if err != nil {
			t.Fatalf("%s: %v", sym, err)
		}
		md := m.Meta
		if md.Symbol != sym || md.Config.Symbol != sym {
			t.Errorf("Embedded(%q) forecasts %s (config %s)", sym, md.Symbol, md.Config.Symbol)
		}
		if md.Metrics.Holdout == nil || md.Metrics.Validation == nil || md.Metrics.Tuning == nil {
			t.Errorf("%s: the embedded model lacks its evaluations", sym)
		} else if md.Metrics.Holdout.N != 524 || md.Metrics.Validation.N != 46 {
			// The same calendar ranges for every market: 2023-11-24..2025-04-30 and 2025-06-01..2025-07-16.
			t.Errorf("%s: hold-out %d days, validation %d days; want 524 and 46", sym, md.Metrics.Holdout.N, md.Metrics.Validation.N)
		}
		if again, _ := Embedded(sym); again != m {
			t.Errorf("%s: Embedded loads the model again on every call", sym)
		}
	}
	btc, _ := Embedded("BTC-USD")
	if def, _ := Default(); def != btc {
		t.Error(`Embedded("BTC-USD") is not Default()`)
	}
	eth, _ := Embedded("ETH-USD")
	if !strings.HasPrefix(eth.Meta.Version, "eth-usd-eth-default-") {
		t.Errorf("ETH-USD model version %q, want the eth-default config's", eth.Meta.Version)
	}
}

// Every embedded directory is listed, so none is shipped that no symbol
// reaches.
func TestEveryEmbeddedDirectoryIsListed(t *testing.T) {
	entries, err := files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs, listed []string
	for _, e := range entries {
		dirs = append(dirs, e.Name())
	}
	for _, m := range shipped {
		listed = append(listed, m.dir)
	}
	slices.Sort(listed)
	if !slices.Equal(dirs, listed) {
		t.Errorf("embedded directories %v, listed %v", dirs, listed)
	}
}

func TestEmbeddedUnknownSymbol(t *testing.T) {
	for _, sym := range []string{"SOL-USD", "eth-usd", ""} {
		m, err := Embedded(sym)
		if err == nil || m != nil {
			t.Fatalf("Embedded(%q) = %v, %v; want an error", sym, m, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "BTC-USD, ETH-USD") || !strings.Contains(msg, `"`+sym+`"`) {
			t.Errorf("Embedded(%q) error %q should name the symbol and the embedded ones", sym, msg)
		}
	}
}
