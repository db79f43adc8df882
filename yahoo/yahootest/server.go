// Package yahootest is a fake Yahoo Finance chart API v8 server for tests of
// every closecast package that fetches bars (net/http/httptest, loopback
// only). It serves chart responses synthesised from []closecast.Bar for any
// period1/period2, replays recorded bodies such as Sample, answers unknown
// symbols the way Yahoo does, injects faults on demand, and counts and logs
// requests so tests can assert retries and single-flight.
//
// It does not import package yahoo: its JSON is written from Yahoo's format,
// not from the client's decoder, so the two check each other.
//
//	srv := yahootest.New()
//	defer srv.Close()
//	srv.AddBars("BTC-USD", bars)
//	srv.Inject(yahootest.TooManyRequests(time.Second), yahootest.ServerError(503))
//	c := &yahoo.Client{BaseURL: srv.URL, BackoffBase: time.Millisecond}
package yahootest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/closecast/closecast"
)

//go:embed testdata/chart-BTC-USD-2020-01-01-to-2020-01-03.json
var sample []byte

// Sample returns a recorded Yahoo response (a copy): BTC-USD, interval 1d,
// period1 2020-01-01 and period2 2020-01-03 00:00 UTC (inclusive), three bars
// equal to the embedded CSV's rows for those days. Its meta describes the
// live quote of 2025-02-20, as meta always describes request time. Source:
// gadicc/node-yahoo-finance2 (MIT), tests/fixtures/http/chart-BTC-USD-2020-01-01-to-2020-01-03.json.
func Sample() []byte { return slices.Clone(sample) }

// Market describes how a symbol trades, which decides how the fake stamps
// bars and fills meta: Timezone is the exchange's IANA zone, Open and Close
// the regular session as offsets from local midnight. A daily bar's
// timestamp is its session open, as Yahoo stamps them.
type Market struct {
	Timezone       string
	Open, Close    time.Duration
	InstrumentType string
	Currency       string
}

var (
	// Crypto trades around the clock on UTC days (Yahoo's session is
	// 00:00–23:59 UTC), bars stamped 00:00 UTC.
	Crypto = Market{Timezone: "UTC", Open: 0, Close: 24*time.Hour - time.Minute, InstrumentType: "CRYPTOCURRENCY", Currency: "USD"}
	// NYSE is a New York equity: bars stamped 09:30 New York time
	// (13:30 or 14:30 UTC), session closing at 16:00.
	NYSE = Market{Timezone: "America/New_York", Open: 9*time.Hour + 30*time.Minute, Close: 16 * time.Hour, InstrumentType: "EQUITY", Currency: "USD"}
	// B3 is São Paulo's exchange (^BVSP, PETR4.SA), 10:00–17:00 local.
	B3 = Market{Timezone: "America/Sao_Paulo", Open: 10 * time.Hour, Close: 17 * time.Hour, InstrumentType: "EQUITY", Currency: "BRL"}
	// Sydney is an exchange east of UTC whose bars are stamped on the
	// previous UTC day: the 10:00 open is 23:00 or 00:00 UTC depending on
	// daylight saving time.
	Sydney = Market{Timezone: "Australia/Sydney", Open: 10 * time.Hour, Close: 16 * time.Hour, InstrumentType: "INDEX", Currency: "AUD"}
)

// Fault is one misbehaviour, applied to the next request (to the next one
// for Symbol, if set). Faults queue up and are used in order, one per
// request; with the queue empty the server behaves. Build them with the
// constructors below, or set several fields (e.g. a 200 that hangs and is
// then truncated).
type Fault struct {
	Symbol     string        // only requests for this symbol; "" any
	Status     int           // respond with this status instead of data
	RetryAfter string        // Retry-After header sent with Status
	Code, Desc string        // with Status: a chart.error body {code, description}
	Hang       time.Duration // wait this long (or until the client gives up) first
	Truncate   bool          // cut the body in half
	Body       []byte        // answer 200 with this body instead (an HTML page, garbage)
	// Meta faults, on synthesised responses only: meta names another
	// symbol or currency than the market's, as a misrouted answer would.
	MetaSymbol, MetaCurrency string
	// Data faults, on synthesised responses only:
	Null      []closecast.Date // these days' bars come back with null values
	Duplicate []closecast.Date // these days' bars come twice; the second copy has a different Close
	Reverse   bool             // timestamps come newest first
}

// TooManyRequests is a 429 with Retry-After in whole seconds, rounded up as
// the header allows no fractions: TooManyRequests(time.Millisecond) makes a
// client wait a full second, TooManyRequests(0) not at all.
func TooManyRequests(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))), Code: "Too Many Requests", Desc: "Rate limited"}
}

// ServerError is a bare 5xx (or any status) with a plain-text body.
func ServerError(status int) Fault { return Fault{Status: status} }

// Hang makes the server wait d before answering normally; make d longer than
// the client's attempt timeout to simulate a stuck connection.
func Hang(d time.Duration) Fault { return Fault{Hang: d} }

// Truncated answers 200 with the first half of the JSON body.
func Truncated() Fault { return Fault{Truncate: true} }

// HTML answers 200 with a web page instead of JSON, as a captive portal, a
// consent wall or a proxy's error page does.
func HTML() Fault {
	return Fault{Body: []byte("<!DOCTYPE html>\n<html><head><title>Yahoo</title></head><body>Please enable cookies.</body></html>\n")}
}

// Garbage answers 200 with bytes that are no JSON at all.
func Garbage() Fault { return Fault{Body: []byte("\x00\x1f\x8b garbage {{{")} }

// ForeignSymbol answers with meta.symbol set to symbol (another market's
// answer), bars unchanged.
func ForeignSymbol(symbol string) Fault { return Fault{MetaSymbol: symbol} }

// ForeignCurrency answers with meta.currency set to currency.
func ForeignCurrency(currency string) Fault { return Fault{MetaCurrency: currency} }

// NullBars serves the bars of these days with null values (as Yahoo does for
// days it has no data for).
func NullBars(days ...closecast.Date) Fault { return Fault{Null: days} }

// DuplicateBars serves each of these days twice in a row; the second copy's
// Close is moved to the midpoint of Low and High, so a test can tell which
// copy a client kept.
func DuplicateBars(days ...closecast.Date) Fault { return Fault{Duplicate: days} }

// OutOfOrder serves timestamps newest first.
func OutOfOrder() Fault { return Fault{Reverse: true} }

// ChartError answers status with Yahoo's error body
// {"chart": {"result": null, "error": {"code": code, "description": desc}}}.
func ChartError(status int, code, desc string) Fault {
	return Fault{Status: status, Code: code, Desc: desc}
}

// Request is one request the server saw.
type Request struct {
	Symbol    string // the decoded path segment
	Path      string // the path as sent, escaped
	Query     url.Values
	UserAgent string
	At        time.Time
}

type market struct {
	m    Market
	loc  *time.Location
	bars []closecast.Bar
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give yahoo.Client.BaseURL.
	URL string
	// Now is the server's clock for meta (regularMarketTime, the current
	// trading period) and for which bars exist yet: a bar whose timestamp is
	// after Now is not served. nil means time.Now. Set it before requests.
	Now func() time.Time

	srv     *httptest.Server
	mu      sync.Mutex
	markets map[string]*market
	replays map[string][]byte
	faults  []Fault
	log     []Request
}

// New starts a fake on a loopback port. Close it when done.
func New() *Server {
	s := &Server{markets: map[string]*market{}, replays: map[string][]byte{}}
	s.srv = httptest.NewServer(s.Handler())
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, ending hung requests first.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// AddBars serves bars for symbol as a crypto market (UTC days). Bars replace
// any served before for symbol; they are copied.
func (s *Server) AddBars(symbol string, bars []closecast.Bar) { s.AddMarket(symbol, Crypto, bars) }

// AddMarket serves bars for symbol, stamped and described as m says. It
// panics if m.Timezone is not a known zone (a mistake in the test).
func (s *Server) AddMarket(symbol string, m Market, bars []closecast.Bar) {
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		panic("yahootest: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markets[symbol] = &market{m: m, loc: loc, bars: slices.Clone(bars)}
	delete(s.replays, symbol)
}

// Replay serves body (status 200) for every request for symbol, whatever
// period it asks for, as a recorded fixture would. Status, hang and truncation
// faults still apply; data faults do not.
func (s *Server) Replay(symbol string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replays[symbol] = slices.Clone(body)
	delete(s.markets, symbol)
}

// Inject queues faults for the next requests, one each, in order.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// Pending returns how many injected faults have not been used yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// Requests returns how many chart requests the server has received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// Log returns a copy of the requests received, in arrival order.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Reset forgets the request log and any pending faults.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.faults = nil, nil
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

const chartPrefix = "/v8/finance/chart/"

// Handler returns the fake as an http.Handler, to mount on a listener of the
// caller's choosing (e.g. a fake Yahoo for an end-to-end run of the binary).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, chartPrefix) {
			http.NotFound(w, r)
			return
		}
		symbol := strings.TrimPrefix(r.URL.Path, chartPrefix)
		s.mu.Lock()
		s.log = append(s.log, Request{Symbol: symbol, Path: r.URL.EscapedPath(), Query: r.URL.Query(), UserAgent: r.UserAgent(), At: time.Now()})
		var f Fault
		for i, q := range s.faults {
			if q.Symbol == "" || q.Symbol == symbol {
				f = q
				s.faults = slices.Delete(s.faults, i, i+1)
				break
			}
		}
		mk, replay := s.markets[symbol], s.replays[symbol]
		s.mu.Unlock()

		if f.Hang > 0 {
			t := time.NewTimer(f.Hang)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.Status != 0 {
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			if f.Code != "" {
				writeJSON(w, f.Status, errorBody(f.Code, f.Desc), false)
			} else {
				http.Error(w, http.StatusText(f.Status), f.Status)
			}
			return
		}
		if f.Body != nil {
			w.WriteHeader(http.StatusOK)
			w.Write(f.Body)
			return
		}
		var body []byte
		switch {
		case replay != nil:
			body = replay
		case mk != nil:
			p1, err1 := strconv.ParseInt(r.URL.Query().Get("period1"), 10, 64)
			p2, err2 := strconv.ParseInt(r.URL.Query().Get("period2"), 10, 64)
			if iv := r.URL.Query().Get("interval"); iv != "1d" {
				writeJSON(w, http.StatusBadRequest, errorBody("Bad Request", fmt.Sprintf("Invalid input - interval=%s is not supported", iv)), false)
				return
			}
			if err1 != nil || err2 != nil || p1 > p2 {
				writeJSON(w, http.StatusBadRequest, errorBody("Bad Request", "Invalid input - period1 and period2 must be Unix times, period1 <= period2"), false)
				return
			}
			body = s.chart(symbol, mk, p1, p2, f)
		default:
			writeJSON(w, http.StatusNotFound, errorBody("Not Found", "No data found, symbol may be delisted"), false)
			return
		}
		writeJSON(w, http.StatusOK, body, f.Truncate)
	})
}

func writeJSON(w http.ResponseWriter, status int, body []byte, truncate bool) {
	if truncate {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

func errorBody(code, desc string) []byte {
	b, _ := json.Marshal(map[string]any{"chart": map[string]any{"result": nil, "error": map[string]string{"code": code, "description": desc}}})
	return b
}

// The JSON layout of a chart response, as Yahoo writes it.
type (
	chartJSON struct {
		Chart struct {
			Result []resultJSON `json:"result"`
			Error  any          `json:"error"`
		} `json:"chart"`
	}
	resultJSON struct {
		Meta       metaJSON `json:"meta"`
		Timestamp  []int64  `json:"timestamp,omitempty"`
		Indicators struct {
			Quote    []quoteJSON `json:"quote"`
			AdjClose []struct {
				AdjClose []*float64 `json:"adjclose,omitempty"`
			} `json:"adjclose,omitempty"`
		} `json:"indicators"`
	}
	quoteJSON struct {
		Open   []*float64 `json:"open,omitempty"`
		High   []*float64 `json:"high,omitempty"`
		Low    []*float64 `json:"low,omitempty"`
		Close  []*float64 `json:"close,omitempty"`
		Volume []*float64 `json:"volume,omitempty"`
	}
	periodJSON struct {
		Timezone  string `json:"timezone"`
		Start     int64  `json:"start"`
		End       int64  `json:"end"`
		GMTOffset int64  `json:"gmtoffset"`
	}
	metaJSON struct {
		Currency             string  `json:"currency"`
		Symbol               string  `json:"symbol"`
		ExchangeName         string  `json:"exchangeName"`
		InstrumentType       string  `json:"instrumentType"`
		RegularMarketTime    int64   `json:"regularMarketTime"`
		GMTOffset            int64   `json:"gmtoffset"`
		Timezone             string  `json:"timezone"`
		ExchangeTimezoneName string  `json:"exchangeTimezoneName"`
		RegularMarketPrice   float64 `json:"regularMarketPrice,omitempty"`
		CurrentTradingPeriod struct {
			Pre     periodJSON `json:"pre"`
			Regular periodJSON `json:"regular"`
			Post    periodJSON `json:"post"`
		} `json:"currentTradingPeriod"`
		DataGranularity string `json:"dataGranularity"`
		Range           string `json:"range"`
	}
)

// chart synthesises the response for bars stamped within [p1, p2]
// (both inclusive, as Yahoo's are) and not after now, with fault f's data
// faults applied.
func (s *Server) chart(symbol string, mk *market, p1, p2 int64, f Fault) []byte {
	now := s.now()
	type row struct {
		ts   int64
		b    closecast.Bar
		null bool
	}
	var rows []row
	for _, b := range mk.bars {
		y, m, d := b.Date.Time().Date()
		ts := time.Date(y, m, d, 0, 0, 0, 0, mk.loc).Add(mk.m.Open).Unix()
		if ts < p1 || ts > p2 || ts > now.Unix() {
			continue
		}
		rows = append(rows, row{ts: ts, b: b, null: slices.Contains(f.Null, b.Date)})
		if slices.Contains(f.Duplicate, b.Date) {
			dup := b
			dup.Close = (b.Low + b.High) / 2
			rows = append(rows, row{ts: ts, b: dup})
		}
	}
	if f.Reverse {
		slices.Reverse(rows)
	}
	var res resultJSON
	res.Meta = s.meta(symbol, mk, now)
	if f.MetaSymbol != "" {
		res.Meta.Symbol = f.MetaSymbol
	}
	if f.MetaCurrency != "" {
		res.Meta.Currency = f.MetaCurrency
	}
	q := quoteJSON{}
	var adj []*float64
	for _, r := range rows {
		res.Timestamp = append(res.Timestamp, r.ts)
		v := func(x float64) *float64 {
			if r.null {
				return nil
			}
			return &x
		}
		q.Open = append(q.Open, v(r.b.Open))
		q.High = append(q.High, v(r.b.High))
		q.Low = append(q.Low, v(r.b.Low))
		q.Close = append(q.Close, v(r.b.Close))
		q.Volume = append(q.Volume, v(r.b.Volume))
		adj = append(adj, v(r.b.Close))
	}
	res.Indicators.Quote = []quoteJSON{q}
	if len(rows) > 0 {
		res.Indicators.AdjClose = append(res.Indicators.AdjClose, struct {
			AdjClose []*float64 `json:"adjclose,omitempty"`
		}{adj})
	}
	var c chartJSON
	c.Chart.Result = []resultJSON{res}
	b, err := json.Marshal(c)
	if err != nil {
		panic("yahootest: " + err.Error()) // only non-finite bars fail, a test's mistake
	}
	return b
}

// meta describes the market at now, as Yahoo's meta describes request time:
// today's regular session and the last price served.
func (s *Server) meta(symbol string, mk *market, now time.Time) metaJSON {
	local := now.In(mk.loc)
	abbr, off := local.Zone()
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, mk.loc)
	start, end := midnight.Add(mk.m.Open).Unix(), midnight.Add(mk.m.Close).Unix()
	m := metaJSON{
		Currency: mk.m.Currency, Symbol: symbol, ExchangeName: "FAKE", InstrumentType: mk.m.InstrumentType,
		RegularMarketTime: now.Unix(), GMTOffset: int64(off), Timezone: abbr, ExchangeTimezoneName: mk.m.Timezone,
		DataGranularity: "1d",
	}
	if n := len(mk.bars); n > 0 {
		m.RegularMarketPrice = mk.bars[n-1].Close
	}
	p := func(a, b int64) periodJSON {
		return periodJSON{Timezone: abbr, Start: a, End: b, GMTOffset: int64(off)}
	}
	m.CurrentTradingPeriod.Pre = p(start, start)
	m.CurrentTradingPeriod.Regular = p(start, end)
	m.CurrentTradingPeriod.Post = p(end, end)
	return m
}
