package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/sqlite"
	"github.com/closecast/closecast/yahoo"
)

// dateFlag is a flag.Value holding a YYYY-MM-DD date; set reports whether it
// was given.
type dateFlag struct {
	d   closecast.Date
	set bool
}

func (f *dateFlag) String() string {
	if !f.set {
		return ""
	}
	return f.d.String()
}

func (f *dateFlag) Set(s string) error {
	d, err := closecast.ParseDate(s)
	if err != nil {
		return err
	}
	f.d, f.set = d, true
	return nil
}

// or returns the date, or def when the flag was not given.
func (f *dateFlag) or(def closecast.Date) closecast.Date {
	if f.set {
		return f.d
	}
	return def
}

// dataFlags are the flags of every command that reads bars.
type dataFlags struct {
	symbol   string
	from, to dateFlag
	csv      string
}

func (d *dataFlags) register(fs *flag.FlagSet, withRange bool) {
	fs.StringVar(&d.symbol, "symbol", closecast.DefaultSymbol, "market `symbol` (Yahoo ticker: BTC-USD, ETH-USD, AAPL, PETR4.SA …)")
	if withRange {
		fs.Var(&d.from, "from", "first `day` (YYYY-MM-DD), inclusive; default: the first day known")
		fs.Var(&d.to, "to", "last `day` (YYYY-MM-DD), inclusive; default: the last day known")
	}
	fs.StringVar(&d.csv, "csv", "", "read bars from this CSV `file` (Date,Open,High,Low,Close,Volume) instead of the store")
}

// earliest and latest bound "everything" for a range flag left out.
var (
	earliest = closecast.MustParseDate("1900-01-01")
	latest   = closecast.MustParseDate("2200-01-01")
)

// source returns where bars come from: the CSV file when --csv is given,
// else the local store layered over the embedded data, with Yahoo behind
// them when live is true. Offline, a store file that does not exist yet is
// not created: read-only commands leave no trace on a fresh machine.
func (d *dataFlags) source(e *env, live bool) (closecast.Source, func(), error) {
	if d.csv != "" {
		if _, err := os.Stat(d.csv); err != nil {
			return nil, nil, err
		}
		return marketdata.CSVFile(d.csv), func() {}, nil
	}
	maxJump, err := maxJumpSetting(e, "")
	if err != nil {
		return nil, nil, err
	}
	store, err := openDB(context.Background(), e, !live)
	if err != nil {
		return nil, nil, err
	}
	var liveSrc closecast.Source
	if live {
		c := yahooClient(e)
		c.MaxJump = maxJump
		liveSrc = c
	}
	if store == nil {
		return history.New(marketdata.Embedded(), nil, liveSrc, history.WithMaxJump(maxJump)), func() {}, nil
	}
	return history.New(marketdata.Embedded(), store, liveSrc, history.WithMaxJump(maxJump)), func() { store.Close() }, nil
}

func storePath(e *env) (string, error) {
	if home := e.getenv(sqlite.HomeEnv); home != "" {
		return home + string(os.PathSeparator) + sqlite.FileName, nil
	}
	return sqlite.DefaultPath()
}

// yahooURLEnv names the environment variable that overrides Yahoo's base URL.
const yahooURLEnv = yahoo.EnvBaseURL

// yahooClient returns the Yahoo client, pointed at --yahoo-url, else
// CLOSECAST_YAHOO_URL, else Yahoo itself.
func yahooClient(e *env) *yahoo.Client {
	c := &yahoo.Client{}
	if e.yahooURL != "" {
		c.BaseURL = e.yahooURL
	} else if u := strings.TrimSpace(e.getenv(yahooURLEnv)); u != "" {
		c.BaseURL = u
	}
	if e.tuneYahoo != nil {
		e.tuneYahoo(c)
	}
	return c
}

// yahooURLFlag registers --yahoo-url on commands that may fetch.
func yahooURLFlag(fs *flag.FlagSet, e *env) {
	fs.StringVar(&e.yahooURL, "yahoo-url", "", "Yahoo Finance base `URL` (default $"+yahooURLEnv+", else "+yahoo.DefaultBaseURL+")")
}

// load reads the bars of the flags' symbol and range.
func (d *dataFlags) load(ctx context.Context, e *env, live bool) (closecast.Series, error) {
	src, closeFn, err := d.source(e, live)
	if err != nil {
		return closecast.Series{}, err
	}
	defer closeFn()
	s, err := src.Bars(ctx, d.symbol, d.from.or(earliest), d.to.or(latest))
	if err != nil {
		return closecast.Series{}, err
	}
	if s.Len() == 0 {
		return s, fmt.Errorf("no bars of %s between %s and %s", d.symbol, d.from.or(earliest), d.to.or(latest))
	}
	return s, nil
}
