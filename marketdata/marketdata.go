// Package marketdata holds the daily market data closecast ships and the CSV
// codec for it.
//
// The data set is embedded in the binary (go:embed), so closecast knows
// BTC-USD (2014-09-17 .. 2026-03-31) and ETH-USD (2017-11-09 .. 2026-03-31)
// with no network and no set-up; data/README.md says where the files came
// from. Embedded returns it as a closecast.Source, CSVFile serves any CSV in
// the same layout (see Header), and ReadCSV/WriteCSV are the codec.
package marketdata

import (
	"context"
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/readlimit"
)

// data holds one CSV per symbol, named after the symbol in lower case with a
// "-daily.csv" suffix: data/btc-usd-daily.csv is BTC-USD.
//
//go:embed data/*.csv
var data embed.FS

const fileSuffix = "-daily.csv"

// embeddedSet is the parsed embedded data, one entry per symbol, each parsed
// at most once and only when first asked for: a Lambda cold start that only
// serves BTC-USD never pays for ETH-USD.
var embeddedSet = func() map[string]*lazySeries {
	entries, err := data.ReadDir("data")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory exists
	}
	m := make(map[string]*lazySeries, len(entries))
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, fileSuffix) {
			continue
		}
		sym := strings.ToUpper(strings.TrimSuffix(name, fileSuffix))
		m[sym] = &lazySeries{symbol: sym, file: path.Join("data", name)}
	}
	return m
}()

type lazySeries struct {
	symbol, file string
	once         sync.Once
	series       closecast.Series
	err          error
}

func (l *lazySeries) load() (closecast.Series, error) {
	l.once.Do(func() {
		b, err := data.ReadFile(l.file)
		if err != nil {
			l.err = err
			return
		}
		// The shipped data is checked against the default jump limit, not
		// $CLOSECAST_MAX_JUMP: it is the same data whatever the setting.
		bars, err := parseCSV(b, l.file, closecast.DefaultMaxJump)
		if err != nil {
			l.err = fmt.Errorf("embedded data is corrupt: %w", err)
			return
		}
		l.series = closecast.Series{Symbol: l.symbol, Bars: bars}
	})
	return l.series, l.err
}

// Symbols returns the symbols of the embedded data set, sorted:
// ["BTC-USD", "ETH-USD"].
func Symbols() []string {
	out := make([]string, 0, len(embeddedSet))
	for s := range embeddedSet {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// EmbeddedSource is the closecast.Source over the embedded data set. Its zero
// value is ready to use; Embedded returns one.
type EmbeddedSource struct{}

var (
	_ closecast.Source = EmbeddedSource{}
	_ closecast.Source = (*FileSource)(nil)
)

// Embedded returns the embedded data set as a closecast.Source. Symbols are
// matched case-insensitively ("btc-usd" is BTC-USD); any other symbol is an
// error wrapping closecast.ErrUnknownSymbol.
func Embedded() EmbeddedSource { return EmbeddedSource{} }

// Bars returns the embedded bars of symbol dated within [from, to]. The bars
// are a fresh copy: callers may modify them without corrupting the shared,
// parsed-once data set.
func (EmbeddedSource) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	s, err := EmbeddedSeries(symbol)
	if err != nil {
		return closecast.Series{}, err
	}
	sub := s.Between(from, to)
	sub.Bars = append([]closecast.Bar(nil), sub.Bars...)
	return sub, nil
}

// EmbeddedSeries returns the whole embedded series of symbol, parsing it on
// first use. The returned Bars are shared by all callers and must not be
// modified (use EmbeddedSource.Bars for a private copy).
func EmbeddedSeries(symbol string) (closecast.Series, error) {
	l, ok := embeddedSet[strings.ToUpper(symbol)]
	if !ok {
		return closecast.Series{}, fmt.Errorf("%w %q: the embedded data set has %s", closecast.ErrUnknownSymbol, symbol, strings.Join(Symbols(), ", "))
	}
	return l.load()
}

// FileSource is a closecast.Source over one CSV file in the Header (or
// YahooHeader) layout. The file holds one market but carries no symbol, so it
// serves whatever symbol it is asked for. It is read and validated once, on
// the first call to Bars; later calls reuse the result (including an error).
type FileSource struct {
	path string
	once sync.Once
	bars []closecast.Bar
	err  error
}

// CSVFile returns a Source reading the CSV at path (the CLI's --csv FILE).
// Nothing is read until the first Bars call.
func CSVFile(path string) *FileSource { return &FileSource{path: path} }

// Load reads and validates the file (once) and returns all its bars, shared
// and not to be modified.
func (f *FileSource) Load() ([]closecast.Bar, error) {
	f.once.Do(func() {
		fh, err := readlimit.Open(f.path, readlimit.CSV)
		if err != nil {
			f.err = err
			return
		}
		defer fh.Close()
		f.bars, f.err = ReadCSV(fh, f.path)
	})
	return f.bars, f.err
}

// Bars returns a copy of the file's bars dated within [from, to], labelled
// with symbol.
func (f *FileSource) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	bars, err := f.Load()
	if err != nil {
		return closecast.Series{}, err
	}
	sub := closecast.Series{Symbol: symbol, Bars: bars}.Between(from, to)
	sub.Bars = append([]closecast.Bar(nil), sub.Bars...)
	return sub, nil
}
