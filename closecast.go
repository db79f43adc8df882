// Package closecast holds the domain of the closecast forecaster: daily bars,
// validated series, forecasts, and the seams (Source, Store) through which bars
// reach the model. It depends on nothing but the standard library; every other
// package imports it, never the reverse.
package closecast

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Version is the closecast release, stamped into artifacts and printed by
// `closecast version`. Overridden at link time with
// -ldflags "-X github.com/closecast/closecast.Version=…".
var Version = "0.1.0-dev"

// DefaultSymbol is the market closecast forecasts when none is named.
const DefaultSymbol = "BTC-USD"

// MaxSymbolLen bounds a symbol; Yahoo's longest tickers are far shorter.
const MaxSymbolLen = 32

// NormalizeSymbol upper-cases symbol — tickers are case-insensitive (Yahoo
// and the embedded data set both read "btc-usd" as BTC-USD), and one market
// must not be kept twice — and rejects what cannot be a ticker: empty, longer
// than MaxSymbolLen bytes, or containing spaces or control characters (often
// a sign of a mangled flag).
func NormalizeSymbol(symbol string) (string, error) {
	if symbol == "" {
		return "", errors.New("empty symbol")
	}
	if len(symbol) > MaxSymbolLen {
		return "", fmt.Errorf("symbol %.40q… is longer than %d bytes", symbol, MaxSymbolLen)
	}
	for _, r := range symbol {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("symbol %q contains a space or control character", symbol)
		}
	}
	return strings.ToUpper(symbol), nil
}

// Date is a calendar day in UTC, counted in days since 1970-01-01.
// Daily bars are keyed by Date; consecutive days differ by exactly one,
// which makes gap detection and "the day after" plain integer arithmetic.
type Date int32

// DateLayout is the one textual form of a Date: ISO 8601 "YYYY-MM-DD".
const DateLayout = "2006-01-02"

// ParseDate parses "YYYY-MM-DD". It rejects anything else, including
// out-of-range days such as 2025-02-30.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// MustParseDate is ParseDate for constants in code and tests; it panics on a bad date.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf returns the UTC calendar day that contains t.
func DateOf(t time.Time) Date {
	return Date(math.Floor(float64(t.Unix()) / 86400))
}

// Today returns the current UTC day.
func Today() Date { return DateOf(time.Now()) }

// Time returns 00:00 UTC of d.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Unix returns the Unix time, in seconds, of 00:00 UTC of d.
func (d Date) Unix() int64 { return int64(d) * 86400 }

// AddDays returns the day n days after d (before, for negative n).
func (d Date) AddDays(n int) Date { return d + Date(n) }

// String formats d as "YYYY-MM-DD".
func (d Date) String() string { return d.Time().Format(DateLayout) }

// MarshalText implements encoding.TextMarshaler ("YYYY-MM-DD"), so a Date is a
// JSON string.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Bar is one daily OHLCV bar of a market. Date is the UTC day the bar covers;
// prices are in the quote currency as the provider serves them; Volume is the
// provider's daily volume (for Yahoo crypto tickers, in USD).
type Bar struct {
	Date   Date    `json:"date"`
	Open   float64 `json:"open"`
	High   float64 `json:"high"`
	Low    float64 `json:"low"`
	Close  float64 `json:"close"`
	Volume float64 `json:"volume"`
}

// FieldError says which field of a bar is invalid and why.
type FieldError struct {
	Field  string // "Date", "Open", "High", "Low", "Close" or "Volume"
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks one bar on its own: finite positive prices,
// Low ≤ min(Open, Close) ≤ max(Open, Close) ≤ High and a finite Volume ≥ 0.
// The error is a *FieldError naming the first offending field.
func (b Bar) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"Open", b.Open}, {"High", b.High}, {"Low", b.Low}, {"Close", b.Close}} {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			return &FieldError{p.name, "not a finite number"}
		}
		if p.v <= 0 {
			return &FieldError{p.name, fmt.Sprintf("%v is not a positive price", p.v)}
		}
	}
	if math.IsNaN(b.Volume) || math.IsInf(b.Volume, 0) || b.Volume < 0 {
		return &FieldError{"Volume", fmt.Sprintf("%v is not a finite volume ≥ 0", b.Volume)}
	}
	if b.Low > math.Min(b.Open, b.Close) {
		return &FieldError{"Low", fmt.Sprintf("%v is above min(Open, Close) = %v", b.Low, math.Min(b.Open, b.Close))}
	}
	if b.High < math.Max(b.Open, b.Close) {
		return &FieldError{"High", fmt.Sprintf("%v is below max(Open, Close) = %v", b.High, math.Max(b.Open, b.Close))}
	}
	return nil
}

// Gap is a run of missing days inside a series: From..To inclusive.
type Gap struct {
	From Date `json:"from"`
	To   Date `json:"to"`
}

// Days returns how many days the gap spans.
func (g Gap) Days() int { return int(g.To-g.From) + 1 }

// Series is the daily history of one symbol: bars with strictly ascending,
// unique dates. Construct it with NewSeries, which validates; a Series value
// built by hand is trusted as is.
type Series struct {
	Symbol string
	Bars   []Bar
}

// ErrUnsorted is wrapped by NewSeries when dates are not strictly ascending.
var ErrUnsorted = errors.New("dates not strictly ascending")

// BarError locates an invalid bar: its index in the input and the field error.
type BarError struct {
	Index int
	Date  Date
	Err   error
}

func (e *BarError) Error() string { return fmt.Sprintf("bar %d (%s): %v", e.Index, e.Date, e.Err) }

// Unwrap returns the underlying field or ordering error.
func (e *BarError) Unwrap() error { return e.Err }

// NewSeries validates bars (each bar, then strictly ascending unique dates)
// and returns them as a Series. It does not copy bars. Gaps are allowed; see
// Series.Gaps.
func NewSeries(symbol string, bars []Bar) (Series, error) {
	for i, b := range bars {
		if err := b.Validate(); err != nil {
			return Series{}, &BarError{Index: i, Date: b.Date, Err: err}
		}
		if i > 0 && b.Date <= bars[i-1].Date {
			return Series{}, &BarError{Index: i, Date: b.Date,
				Err: fmt.Errorf("%w: %s follows %s", ErrUnsorted, b.Date, bars[i-1].Date)}
		}
	}
	return Series{Symbol: symbol, Bars: bars}, nil
}

// Len returns the number of bars.
func (s Series) Len() int { return len(s.Bars) }

// First returns the date of the first bar; ok is false for an empty series.
func (s Series) First() (d Date, ok bool) {
	if len(s.Bars) == 0 {
		return 0, false
	}
	return s.Bars[0].Date, true
}

// Last returns the date of the last bar; ok is false for an empty series.
func (s Series) Last() (d Date, ok bool) {
	if len(s.Bars) == 0 {
		return 0, false
	}
	return s.Bars[len(s.Bars)-1].Date, true
}

// Search returns the index of the first bar dated on or after d (len(Bars) if none).
func (s Series) Search(d Date) int {
	lo, hi := 0, len(s.Bars)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.Bars[m].Date < d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Index returns the index of the bar dated d, or -1.
func (s Series) Index(d Date) int {
	i := s.Search(d)
	if i < len(s.Bars) && s.Bars[i].Date == d {
		return i
	}
	return -1
}

// Between returns the sub-series with dates in [from, to], sharing storage
// with s. A zero from or to is not special: pass the bounds you mean.
func (s Series) Between(from, to Date) Series {
	i, j := s.Search(from), s.Search(to+1)
	if j < i {
		j = i
	}
	return Series{Symbol: s.Symbol, Bars: s.Bars[i:j]}
}

// Closes returns the closing prices in date order (a new slice).
func (s Series) Closes() []float64 {
	out := make([]float64, len(s.Bars))
	for i, b := range s.Bars {
		out[i] = b.Close
	}
	return out
}

// Gaps returns the runs of calendar days missing between the first and the
// last bar. Daily crypto series have none; exchange-traded symbols have one
// per weekend and holiday.
func (s Series) Gaps() []Gap {
	var gaps []Gap
	for i := 1; i < len(s.Bars); i++ {
		if d := s.Bars[i].Date - s.Bars[i-1].Date; d > 1 {
			gaps = append(gaps, Gap{From: s.Bars[i-1].Date + 1, To: s.Bars[i].Date - 1})
		}
	}
	return gaps
}

// MissingDays returns the total number of calendar days inside the gaps.
func (s Series) MissingDays() int {
	n := 0
	for _, g := range s.Gaps() {
		n += g.Days()
	}
	return n
}

// Source is where bars come from: the embedded data set, a CSV file, the
// local store or a live provider. Bars returns the validated daily bars of
// symbol with dates in [from, to], ascending; an unknown symbol is an error
// wrapping ErrUnknownSymbol.
type Source interface {
	Bars(ctx context.Context, symbol string, from, to Date) (Series, error)
}

// ErrUnknownSymbol is wrapped by a Source that has no data at all for a symbol.
var ErrUnknownSymbol = errors.New("unknown symbol")

// Store keeps bars locally. It is a Source, and Upsert adds or replaces
// bars of one symbol atomically: either all bars are written or, on error,
// the store is left exactly as it was.
type Store interface {
	Source
	// Upsert inserts bars that are new and replaces stored bars of the same
	// date whose values differ. It reports how many were added and updated.
	Upsert(ctx context.Context, symbol string, bars []Bar) (added, updated int, err error)
	// Range returns the first and last stored date of symbol; ok is false if
	// none is stored.
	Range(ctx context.Context, symbol string) (first, last Date, ok bool, err error)
	// Symbols lists the symbols with stored bars, sorted.
	Symbols(ctx context.Context) ([]string, error)
}

// Forecast is one predicted daily close.
type Forecast struct {
	Symbol string  `json:"symbol"`
	Date   Date    `json:"date"`  // the day whose close is predicted
	Value  float64 `json:"value"` // predicted close, in the series' currency
}

// Prediction is a forecast with the evidence behind it: which model made it
// and from which input window.
type Prediction struct {
	Forecast
	Model     string   `json:"model"`            // version of the model that made it
	InputFrom Date     `json:"input_from"`       // first day of the input window
	InputTo   Date     `json:"input_to"`         // last day of the input window (the day before Date)
	LastClose float64  `json:"last_close"`       // close of InputTo
	Actual    *float64 `json:"actual,omitempty"` // close of Date, when already known
}

// Predictor forecasts the close of symbol on date from the model's window of
// closes ending the day before. A date it cannot forecast is a *RangeError; a
// market data provider that is needed but unreachable is an error wrapping
// ErrUnavailable; an unknown symbol wraps ErrUnknownSymbol.
type Predictor interface {
	Predict(ctx context.Context, symbol string, date Date) (Prediction, error)
}

// RangeError says that Date cannot be forecast for Symbol and which dates can:
// Earliest (the first day with a full input window) to Latest (the day after
// the last known close).
type RangeError struct {
	Symbol                 string
	Date, Earliest, Latest Date
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("cannot forecast %s for %s: dates from %s to %s can be forecast", e.Symbol, e.Date, e.Earliest, e.Latest)
}

// ErrUnavailable is wrapped by errors from a market data provider that could
// not be reached or kept failing after its retries.
var ErrUnavailable = errors.New("market data provider unavailable")
