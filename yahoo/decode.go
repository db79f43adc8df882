package yahoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	// Exchange timezones (America/New_York, America/Sao_Paulo, …) must
	// resolve in a scratch container or a Lambda without /usr/share/zoneinfo;
	// getting a stock's trading day wrong is worse than 450 kB of binary.
	_ "time/tzdata"

	"github.com/closecast/closecast"
)

// APIError is Yahoo's own error report: a response whose chart.error is
// {"code": "Not Found", "description": "No data found, symbol may be delisted"}.
// It reads "yahoo: Not Found: No data found, symbol may be delisted". A "Not
// Found" error wraps closecast.ErrUnknownSymbol.
type APIError struct {
	Status      int    `json:"-"` // HTTP status it came with
	Code        string `json:"code"`
	Description string `json:"description"`
}

// Error reads "yahoo: <code>: <description>".
func (e *APIError) Error() string { return "yahoo: " + e.Code + ": " + e.Description }

// Unwrap returns closecast.ErrUnknownSymbol for Yahoo's "Not Found", so
// callers can tell a typo from an outage with errors.Is.
func (e *APIError) Unwrap() error {
	if strings.EqualFold(e.Code, "Not Found") {
		return closecast.ErrUnknownSymbol
	}
	return nil
}

// ErrMalformed is wrapped by Decode's errors for bodies that are not a
// well-formed chart response (bad or truncated JSON, ragged arrays).
var ErrMalformed = errors.New("malformed chart response")

// Meta is the part of chart.result[0].meta closecast uses. It describes the
// live quote at request time, not the requested window.
type Meta struct {
	Symbol               string `json:"symbol"`
	Currency             string `json:"currency"`
	InstrumentType       string `json:"instrumentType"`
	ExchangeName         string `json:"exchangeName"`
	ExchangeTimezoneName string `json:"exchangeTimezoneName"` // IANA name, e.g. "America/New_York"
	Timezone             string `json:"timezone"`             // abbreviation, e.g. "EST"
	GMTOffset            int64  `json:"gmtoffset"`            // seconds east of UTC, now
	RegularMarketTime    int64  `json:"regularMarketTime"`
	DataGranularity      string `json:"dataGranularity"`
	CurrentTradingPeriod struct {
		Regular TradingPeriod `json:"regular"`
	} `json:"currentTradingPeriod"`
}

// TradingPeriod is one session of the current trading day, Unix seconds.
type TradingPeriod struct {
	Start     int64 `json:"start"`
	End       int64 `json:"end"`
	GMTOffset int64 `json:"gmtoffset"`
}

// Row is one bar as Yahoo served it, before any cleaning: Time is the bar's
// Unix timestamp (00:00 UTC for crypto, the session open for exchanges), and
// Null is set when any of the five values was JSON null (that value is 0).
type Row struct {
	Time                           int64
	Open, High, Low, Close, Volume float64
	Null                           bool
}

// Chart is a decoded chart API v8 response: Meta and the rows in the order
// served (possibly unsorted, duplicated or holding nulls).
type Chart struct {
	Meta Meta
	Rows []Row
}

// wire is the JSON layout of a chart response:
//
//	{"chart": {"result": [{"meta": {…}, "timestamp": [t0, t1, …],
//	  "indicators": {"quote": [{"open": […], "high": […], "low": […],
//	  "close": […], "volume": […]}], "adjclose": [{"adjclose": […]}]}}],
//	  "error": null}}
//
// The quote arrays run parallel to timestamp and may hold null. An error
// response has "result": null and "error": {"code": …, "description": …}.
// A window without bars has no "timestamp" and an empty quote object.
type wire struct {
	Chart struct {
		Result []struct {
			Meta       Meta     `json:"meta"`
			Timestamp  []*int64 `json:"timestamp"`
			Indicators struct {
				Quote []struct {
					Open   []*float64 `json:"open"`
					High   []*float64 `json:"high"`
					Low    []*float64 `json:"low"`
					Close  []*float64 `json:"close"`
					Volume []*float64 `json:"volume"`
				} `json:"quote"`
			} `json:"indicators"`
		} `json:"result"`
		Error *APIError `json:"error"`
	} `json:"chart"`
}

// Decode parses a chart API v8 response body. Yahoo's chart.error comes back
// as an *APIError; a body that is not a well-formed chart response is an
// error wrapping ErrMalformed. It never panics, whatever the input (see
// FuzzDecode).
func Decode(body []byte) (*Chart, error) {
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("yahoo: %w: %v", ErrMalformed, err)
	}
	if e := w.Chart.Error; e != nil {
		if e.Code == "" && e.Description == "" {
			return nil, fmt.Errorf("yahoo: %w: empty chart.error", ErrMalformed)
		}
		return nil, e
	}
	if len(w.Chart.Result) == 0 {
		return nil, fmt.Errorf("yahoo: %w: no chart.result and no chart.error", ErrMalformed)
	}
	r := w.Chart.Result[0]
	c := &Chart{Meta: r.Meta}
	n := len(r.Timestamp)
	if n == 0 {
		return c, nil
	}
	if len(r.Indicators.Quote) == 0 {
		return nil, fmt.Errorf("yahoo: %w: %d timestamps but no indicators.quote", ErrMalformed, n)
	}
	q := r.Indicators.Quote[0]
	cols := []struct {
		name string
		v    []*float64
	}{{"open", q.Open}, {"high", q.High}, {"low", q.Low}, {"close", q.Close}, {"volume", q.Volume}}
	for _, col := range cols {
		if len(col.v) != n {
			return nil, fmt.Errorf("yahoo: %w: indicators.quote[0].%s has %d values for %d timestamps", ErrMalformed, col.name, len(col.v), n)
		}
	}
	c.Rows = make([]Row, n)
	for i, ts := range r.Timestamp {
		if ts == nil {
			return nil, fmt.Errorf("yahoo: %w: timestamp[%d] is null", ErrMalformed, i)
		}
		row := &c.Rows[i]
		row.Time = *ts
		for k, dst := range []*float64{&row.Open, &row.High, &row.Low, &row.Close, &row.Volume} {
			if p := cols[k].v[i]; p != nil {
				*dst = *p
			} else {
				row.Null = true
			}
		}
	}
	return c, nil
}

// Report says what cleaning a chart took. Every bar Yahoo served is either
// returned or accounted for here.
type Report struct {
	Symbol   string
	Timezone string // the exchange timezone that mapped timestamps to days
	// Attempts is how many HTTP requests the fetch took (Fetch only).
	Attempts int
	// Dropped lists the days of bars with a null value, left out.
	Dropped []closecast.Date
	// Duplicates lists days served more than once; the last one served is kept.
	Duplicates []closecast.Date
	// OutOfOrder counts timestamps that came before their predecessor; the
	// bars were sorted.
	OutOfOrder int
	// Unfinished lists days left out because they had not ended yet at the
	// clock's "now" (the still-open current day; a later day only on a
	// skewed clock). Their bars are provisional and never returned.
	Unfinished []closecast.Date
}

// String summarises the report in one line for the CLI, e.g.
// "1 null bar dropped (2020-01-02); open day 2026-03-31 left out".
func (r Report) String() string {
	var parts []string
	list := func(ds []closecast.Date) string {
		s := make([]string, len(ds))
		for i, d := range ds {
			s[i] = d.String()
		}
		return strings.Join(s, ", ")
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	if n := len(r.Dropped); n > 0 {
		parts = append(parts, fmt.Sprintf("%s dropped (%s)", plural(n, "null bar", "null bars"), list(r.Dropped)))
	}
	if n := len(r.Duplicates); n > 0 {
		parts = append(parts, fmt.Sprintf("%s served twice, last kept (%s)", plural(n, "day", "days"), list(r.Duplicates)))
	}
	if r.OutOfOrder > 0 {
		parts = append(parts, fmt.Sprintf("%s out of order, sorted", plural(r.OutOfOrder, "timestamp", "timestamps")))
	}
	if n := len(r.Unfinished); n > 0 {
		parts = append(parts, fmt.Sprintf("unfinished %s left out (%s)", plural(n, "day", "days")[2:], list(r.Unfinished)))
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, "; ")
}

// Clean reports whether the fetch needed no cleaning: every bar Yahoo served
// was final, unique, in order and complete.
func (r Report) Clean() bool {
	return len(r.Dropped) == 0 && len(r.Duplicates) == 0 && r.OutOfOrder == 0 && len(r.Unfinished) == 0
}

// BarError is a served bar that fails closecast.Bar.Validate (Err is a
// *closecast.FieldError) or the jump limit (a *closecast.JumpError): it
// names the symbol, the day and the rule. Fetch returns no bars at all when one is
// invalid, so garbage never reaches a store.
type BarError struct {
	Symbol string
	Date   closecast.Date
	Err    error // a *closecast.FieldError
}

// Error names the symbol, the day and the field.
func (e *BarError) Error() string {
	var fe *closecast.FieldError
	if errors.As(e.Err, &fe) {
		return fmt.Sprintf("yahoo: %s %s: invalid bar: field %v", e.Symbol, e.Date, e.Err)
	}
	return fmt.Sprintf("yahoo: %s %s: invalid bar: %v", e.Symbol, e.Date, e.Err)
}

// Unwrap returns the field error.
func (e *BarError) Unwrap() error { return e.Err }

// Location returns the exchange's timezone: meta.exchangeTimezoneName if it
// names a known zone, else a fixed zone at meta.gmtoffset (right for all but
// the days around a DST change), else UTC.
func (m Meta) Location() *time.Location {
	if m.ExchangeTimezoneName != "" {
		if loc, err := time.LoadLocation(m.ExchangeTimezoneName); err == nil {
			return loc
		}
	}
	if m.GMTOffset != 0 {
		return time.FixedZone(m.Timezone, int(m.GMTOffset))
	}
	return time.UTC
}

// dayIn returns the calendar day, in loc, that contains Unix time ts, as a
// closecast.Date (which counts calendar days; it is UTC only in name here).
func dayIn(ts int64, loc *time.Location) closecast.Date {
	y, m, d := time.Unix(ts, 0).In(loc).Date()
	return closecast.DateOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// firstUnfinished returns the first exchange day that has not ended at now:
// today in the exchange's timezone, or tomorrow once today's regular session
// is over. A market that trades around the clock (crypto: a "regular"
// session of 24 hours, less a minute) never closes early, so its day ends at
// midnight; a session of under 20 hours marks an exchange with a close.
func (m Meta) firstUnfinished(now time.Time, loc *time.Location) closecast.Date {
	today := dayIn(now.Unix(), loc)
	reg := m.CurrentTradingPeriod.Regular
	if reg.End > reg.Start && reg.End-reg.Start < 20*3600 &&
		dayIn(reg.Start, loc) == today && now.Unix() >= reg.End {
		return today + 1
	}
	return today
}

// Bars cleans the chart into final daily bars dated within [from, to]
// (exchange calendar days), ascending, with a Report of everything left out:
// timestamps are mapped to the exchange's calendar day (Meta.Location), bars
// with nulls are dropped, out-of-order bars sorted, duplicates of a day
// reduced to the last served, days not yet over at now left out. A remaining
// bar that fails closecast.Bar.Validate is a *BarError and no bars are
// returned.
func (c *Chart) Bars(symbol string, from, to closecast.Date, now time.Time) ([]closecast.Bar, Report, error) {
	loc := c.Meta.Location()
	rep := Report{Symbol: symbol, Timezone: loc.String()}
	rows := make([]Row, 0, len(c.Rows))
	for i, r := range c.Rows {
		if i > 0 && r.Time < c.Rows[i-1].Time {
			rep.OutOfOrder++
		}
		if r.Null {
			if d := dayIn(r.Time, loc); d >= from && d <= to {
				rep.Dropped = append(rep.Dropped, d)
			}
			continue
		}
		rows = append(rows, r)
	}
	// Stable, so that among bars of one timestamp the last served stays last.
	slices.SortStableFunc(rows, func(a, b Row) int { return cmpInt64(a.Time, b.Time) })
	slices.Sort(rep.Dropped)
	rep.Dropped = slices.Compact(rep.Dropped)
	unfinished := c.Meta.firstUnfinished(now, loc)
	bars := make([]closecast.Bar, 0, len(rows))
	for _, r := range rows {
		d := dayIn(r.Time, loc)
		b := closecast.Bar{Date: d, Open: r.Open, High: r.High, Low: r.Low, Close: r.Close, Volume: r.Volume}
		if k := len(bars); k > 0 && bars[k-1].Date == d {
			if n := len(rep.Duplicates); d >= from && d <= to && (n == 0 || rep.Duplicates[n-1] != d) {
				rep.Duplicates = append(rep.Duplicates, d)
			}
			bars[k-1] = b
			continue
		}
		bars = append(bars, b)
	}
	out := bars[:0]
	for _, b := range bars {
		if b.Date >= unfinished {
			if b.Date >= from && b.Date <= to {
				rep.Unfinished = append(rep.Unfinished, b.Date)
			}
			continue
		}
		if b.Date < from || b.Date > to {
			continue
		}
		if err := b.Validate(); err != nil {
			return nil, rep, &BarError{Symbol: symbol, Date: b.Date, Err: err}
		}
		out = append(out, b)
	}
	return out, rep, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
