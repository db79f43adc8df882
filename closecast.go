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
	"os"
	"strconv"
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

// Plausible magnitudes of a bar. The engine computes in float32 (largest
// ~3.4e38, smallest normal ~1.2e-38), and features multiply, divide and take
// logs of prices and volumes: bounds far inside float32's range leave
// headroom for that arithmetic, and no real market quotes outside them (the
// cheapest tokens trade near 1e-6 USD, the dearest shares near 1e6). A bar
// outside them is a provider's or a file's error, such as a close of 1e300
// or a denormal 1e-310, never data.
const (
	MinPrice  = 1e-6 // smallest price accepted
	MaxPrice  = 1e9  // largest price accepted
	MaxVolume = 1e15 // largest daily volume accepted (BTC-USD's record is ~3.5e11 USD)
)

// DefaultMaxJump is the largest factor by which a close may differ from the
// previous bar's close (up or down: close/prev in [1/f, f]). The largest
// daily moves in the embedded data are the crash of 2020-03-12 (a factor of
// 1.59 for BTC-USD, 1.73 for ETH-USD); 4 leaves room for a real market's
// worst day while refusing a misplaced decimal point or a unit change. A market
// that really moves more can raise it: closecast.EnvMaxJump, or the CLI's
// --max-jump.
const DefaultMaxJump = 4.0

// EnvMaxJump names the environment variable that overrides DefaultMaxJump
// for every command that reads or fetches bars (a factor > 1).
const EnvMaxJump = "CLOSECAST_MAX_JUMP"

// ParseMaxJump parses a jump factor given by a user (flag or environment):
// a finite number > 1. "" means DefaultMaxJump.
func ParseMaxJump(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultMaxJump, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 1 {
		return 0, fmt.Errorf("max jump %q: want a number > 1 (the largest factor between consecutive closes)", s)
	}
	return f, nil
}

// MaxJump returns the jump limit in force for this process: $CLOSECAST_MAX_JUMP
// when set (an error if it is not a number > 1), else DefaultMaxJump. Every
// reader of bars from outside the binary (CSV files, the store, a provider)
// applies it, so one setting covers fetch, serve and the offline commands.
func MaxJump() (float64, error) {
	f, err := ParseMaxJump(os.Getenv(EnvMaxJump))
	if err != nil {
		return 0, fmt.Errorf("$%s: %w", EnvMaxJump, err)
	}
	return f, nil
}

// JumpError is a close that differs from the previous bar's close by more
// than the allowed factor.
type JumpError struct {
	Prev        Date    // day of the previous close
	PrevClose   float64 // its close
	Close       float64 // the offending close
	Factor, Max float64 // the factor between them, and the allowed one
}

func (e *JumpError) Error() string {
	return fmt.Sprintf("close %v is %.4g× the close %v of %s, beyond the %g× jump limit (set %s to allow more)",
		e.Close, e.Factor, e.PrevClose, e.Prev, e.Max, EnvMaxJump)
}

// CheckJumps checks that each close in bars (ascending) is within a factor
// maxJump (≤ 1 means DefaultMaxJump) of the previous bar's close. The error
// is a *BarError naming the later day of the first pair that fails, wrapping
// a *JumpError.
func CheckJumps(bars []Bar, maxJump float64) error {
	if maxJump <= 1 {
		maxJump = DefaultMaxJump
	}
	for i := 1; i < len(bars); i++ {
		prev, cur := bars[i-1].Close, bars[i].Close
		f := cur / prev
		if f < 1 {
			f = prev / cur
		}
		if !(f <= maxJump) { // also NaN
			return &BarError{Index: i, Date: bars[i].Date, Err: &JumpError{Prev: bars[i-1].Date, PrevClose: prev, Close: cur, Factor: f, Max: maxJump}}
		}
	}
	return nil
}

// Validate checks one bar on its own: finite prices within [MinPrice,
// MaxPrice], Low ≤ min(Open, Close) ≤ max(Open, Close) ≤ High and a finite
// Volume in [0, MaxVolume]. The error is a *FieldError naming the first
// offending field.
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
		if p.v < MinPrice || p.v > MaxPrice {
			return &FieldError{p.name, fmt.Sprintf("%v is outside the plausible price range [%g, %g]", p.v, MinPrice, MaxPrice)}
		}
	}
	if math.IsNaN(b.Volume) || math.IsInf(b.Volume, 0) || b.Volume < 0 {
		return &FieldError{"Volume", fmt.Sprintf("%v is not a finite volume ≥ 0", b.Volume)}
	}
	if b.Volume > MaxVolume {
		return &FieldError{"Volume", fmt.Sprintf("%v is above the plausible volume limit %g", b.Volume, MaxVolume)}
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

// MissingIn returns the runs of days in [from, to] that have no bar,
// including runs at either end.
func (s Series) MissingIn(from, to Date) []Gap {
	var gaps []Gap
	next := from
	for _, b := range s.Between(from, to).Bars {
		if b.Date > next {
			gaps = append(gaps, Gap{From: next, To: b.Date - 1})
		}
		next = b.Date + 1
	}
	if next <= to {
		gaps = append(gaps, Gap{From: next, To: to})
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
	// Quantiles is the forecast distribution of Date's close, made by the
	// model's base interval method (its conformal calibration, or its
	// quantile head), never adapted. Nil when the model has none or it was
	// not kept (ledger rows recorded before the ledger kept distributions).
	Quantiles *Distribution `json:"quantiles,omitempty"`
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
	if e.Earliest > e.Latest {
		return fmt.Sprintf("cannot forecast %s for %s: too few bars are known (a full input window first ends on %s, the last close is %s)", e.Symbol, e.Date, e.Earliest.AddDays(-1), e.Latest.AddDays(-1))
	}
	return fmt.Sprintf("cannot forecast %s for %s: dates from %s to %s can be forecast", e.Symbol, e.Date, e.Earliest, e.Latest)
}

// Empty reports whether no date at all can be forecast (Earliest after
// Latest: fewer bars than one input window).
func (e *RangeError) Empty() bool { return e.Earliest > e.Latest }

// GapError says that Date cannot be forecast for Symbol because its input
// window of Window consecutive daily bars has missing days: closecast never
// forecasts from a longer calendar span than the model was trained on.
type GapError struct {
	Symbol  string
	Date    Date
	Window  int   // consecutive bars the forecast needs, ending the day before Date
	Missing []Gap // the missing days inside that span, ascending
}

func (e *GapError) Error() string {
	parts := make([]string, len(e.Missing))
	for i, g := range e.Missing {
		parts[i] = g.From.String()
		if g.To != g.From {
			parts[i] += " to " + g.To.String()
		}
	}
	verb := "are"
	if len(e.Missing) == 1 && e.Missing[0].Days() == 1 {
		verb = "is"
	}
	return fmt.Sprintf("cannot forecast %s for %s: the %d days before it must all have bars, but %s %s missing",
		e.Symbol, e.Date, e.Window, strings.Join(parts, ", "), verb)
}

// NonFiniteError is a number inside the forecasting engine that is NaN or
// ±Inf: an input feature, a network output or a price after inverse
// scaling. It is never served as a number; it means broken data or a broken
// model, and says where.
type NonFiniteError struct {
	Stage string // "input", "output" or "price"
	Date  Date   // the forecast day
	Value float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("the forecast of %s is not a finite number: %s is %v", e.Date, e.Stage, e.Value)
}

// Finite returns a *NonFiniteError for v if it is NaN or ±Inf, else nil.
func Finite(stage string, date Date, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return &NonFiniteError{Stage: stage, Date: date, Value: v}
	}
	return nil
}

// ErrUnavailable is wrapped by errors from a market data provider that could
// not be reached or kept failing after its retries.
var ErrUnavailable = errors.New("market data provider unavailable")
