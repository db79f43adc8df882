package yahoo

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/yahoo/yahootest"
)

var d = closecast.MustParseDate

// embedded returns the shipped BTC-USD bars of [from, to].
func embedded(t *testing.T, from, to string) []closecast.Bar {
	t.Helper()
	s, err := marketdata.Embedded().Bars(context.Background(), "BTC-USD", d(from), d(to))
	if err != nil {
		t.Fatal(err)
	}
	return s.Bars
}

// fixedClock returns a Now func reading t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// newFake starts a fake serving the shipped BTC-USD bars of March 2026 plus
// synthetic April 2026 days beyond the shipped data, with both clocks at
// now, and a client with millisecond back-off.
func newFake(t *testing.T, now time.Time) (*yahootest.Server, *Client, []closecast.Bar) {
	t.Helper()
	bars := embedded(t, "2026-03-01", "2026-03-31")
	last := bars[len(bars)-1]
	for i := 1; i <= 30; i++ {
		b := last
		b.Date = last.Date.AddDays(i)
		b.Close = last.Close + float64(i)
		b.High = b.Close + 10
		bars = append(bars, b)
	}
	srv := yahootest.New()
	t.Cleanup(srv.Close)
	srv.Now = fixedClock(now)
	srv.AddBars("BTC-USD", bars)
	c := &Client{BaseURL: srv.URL, Now: fixedClock(now), BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, AttemptTimeout: 2 * time.Second}
	return srv, c, bars
}

func between(bars []closecast.Bar, from, to string) []closecast.Bar {
	s := closecast.Series{Bars: bars}.Between(d(from), d(to))
	return s.Bars
}

var april5Noon = time.Date(2026, 4, 5, 12, 0, 0, 0, time.UTC)

func TestFetchRecordedSample(t *testing.T) {
	srv := yahootest.New()
	defer srv.Close()
	srv.Replay("BTC-USD", yahootest.Sample())
	c := &Client{BaseURL: srv.URL + "/"} // a trailing slash must not double up
	res, err := c.Fetch(context.Background(), "BTC-USD", d("2020-01-01"), d("2020-01-03"))
	if err != nil {
		t.Fatal(err)
	}
	if want := embedded(t, "2020-01-01", "2020-01-03"); !reflect.DeepEqual(res.Bars, want) {
		t.Errorf("bars\n%v\nwant the shipped CSV rows\n%v", res.Bars, want)
	}
	if r := res.Report; r.String() != "clean" || r.Attempts != 1 || r.Timezone != "UTC" {
		t.Errorf("report %+v", r)
	}
	req := srv.Log()[0]
	if req.Path != "/v8/finance/chart/BTC-USD" {
		t.Errorf("path %q", req.Path)
	}
	q := req.Query
	if q.Get("interval") != "1d" || q.Get("events") != "div|split" || q.Get("includePrePost") != "false" ||
		q.Get("period1") != "1577750400" || q.Get("period2") != "1578182399" {
		t.Errorf("query %v: want interval=1d, events=div|split, includePrePost=false, period1 2019-12-31, period2 2020-01-04 23:59:59", q)
	}
	if strings.HasPrefix(req.UserAgent, "Go-http-client") || !strings.Contains(req.UserAgent, "Mozilla/5.0") {
		t.Errorf("User-Agent %q: Yahoo rejects Go's default", req.UserAgent)
	}
}

// Days past the shipped data come back, the open day does not.
func TestFetchBeyondEmbeddedAndOpenDay(t *testing.T) {
	_, c, bars := newFake(t, april5Noon)
	res, err := c.Fetch(context.Background(), "BTC-USD", d("2026-03-25"), d("2026-04-10"))
	if err != nil {
		t.Fatal(err)
	}
	if want := between(bars, "2026-03-25", "2026-04-04"); !reflect.DeepEqual(res.Bars, want) {
		t.Errorf("got %d bars %v..%v, want 2026-03-25..2026-04-04", len(res.Bars), res.Bars[0].Date, res.Bars[len(res.Bars)-1].Date)
	}
	if !reflect.DeepEqual(res.Report.Unfinished, []closecast.Date{d("2026-04-05")}) {
		t.Errorf("unfinished %v, want [2026-04-05]", res.Report.Unfinished)
	}
	if got := res.Report.String(); got != "unfinished day left out (2026-04-05)" {
		t.Errorf("report %q", got)
	}
	// One second past midnight UTC the day is over and final.
	c.Now = fixedClock(time.Date(2026, 4, 6, 0, 0, 1, 0, time.UTC))
	res, err = c.Fetch(context.Background(), "BTC-USD", d("2026-04-05"), d("2026-04-05"))
	if err != nil || len(res.Bars) != 1 || res.Bars[0] != between(bars, "2026-04-05", "2026-04-05")[0] {
		t.Errorf("after midnight: %v, %v", res.Bars, err)
	}
}

// Client is a closecast.Source.
func TestClientIsSource(t *testing.T) {
	_, c, bars := newFake(t, april5Noon)
	var src closecast.Source = c
	s, err := src.Bars(context.Background(), "BTC-USD", d("2026-04-01"), d("2026-04-02"))
	if err != nil || s.Symbol != "BTC-USD" || !reflect.DeepEqual(s.Bars, between(bars, "2026-04-01", "2026-04-02")) {
		t.Errorf("Bars = %+v, %v", s, err)
	}
}

// weekdays returns a bar per weekday in [from, to], a gap for each weekend.
func weekdays(from, to string) []closecast.Bar {
	var out []closecast.Bar
	for day := d(from); day <= d(to); day++ {
		if wd := day.Time().Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		p := 100 + float64(day%50)
		out = append(out, closecast.Bar{Date: day, Open: p, High: p + 2, Low: p - 2, Close: p + 1, Volume: 1e6})
	}
	return out
}

// Exchange-traded symbols: timestamps map to the exchange's calendar day
// (AAPL is stamped 13:30 or 14:30 UTC; Sydney's 10:00 open is the previous
// UTC day), and a day is final once its session has closed.
func TestFetchExchangeDays(t *testing.T) {
	srv := yahootest.New()
	defer srv.Close()
	aapl := weekdays("2026-03-02", "2026-03-13") // spans the US DST change of 2026-03-08
	srv.AddMarket("AAPL", yahootest.NYSE, aapl)
	ny, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		now      time.Time
		last     string
		open     []closecast.Date
		testName string
	}{
		{time.Date(2026, 3, 11, 15, 0, 0, 0, ny), "2026-03-10", []closecast.Date{d("2026-03-11")}, "during the session"},
		{time.Date(2026, 3, 11, 16, 30, 0, 0, ny), "2026-03-11", nil, "after the close"},
		{time.Date(2026, 3, 11, 21, 0, 0, 0, ny), "2026-03-11", nil, "next UTC day, same NY day"},
	} {
		srv.Now = fixedClock(tc.now)
		c := &Client{BaseURL: srv.URL, Now: fixedClock(tc.now)}
		res, err := c.Fetch(context.Background(), "AAPL", d("2026-03-02"), d("2026-03-13"))
		if err != nil {
			t.Fatalf("%s: %v", tc.testName, err)
		}
		if want := between(aapl, "2026-03-02", tc.last); !reflect.DeepEqual(res.Bars, want) {
			t.Errorf("%s: got %v, want bars through %s on their own dates", tc.testName, res.Bars, tc.last)
		}
		if !reflect.DeepEqual(res.Report.Unfinished, tc.open) || res.Report.Timezone != "America/New_York" {
			t.Errorf("%s: report %+v", tc.testName, res.Report)
		}
	}

	axjo := weekdays("2026-03-30", "2026-04-10") // spans Sydney's DST end on 2026-04-05
	srv.AddMarket("^AXJO", yahootest.Sydney, axjo)
	now := time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC)
	srv.Now = fixedClock(now)
	c := &Client{BaseURL: srv.URL, Now: fixedClock(now)}
	res, err := c.Fetch(context.Background(), "^AXJO", d("2026-03-30"), d("2026-04-10"))
	if err != nil || !reflect.DeepEqual(res.Bars, axjo) {
		t.Errorf("^AXJO: %v, %v; want %v", res.Bars, err, axjo)
	}
	if p := srv.Log()[len(srv.Log())-1].Path; p != "/v8/finance/chart/%5EAXJO" {
		t.Errorf("path %q: the symbol must be an escaped path segment", p)
	}
}

func TestFetchDataFaults(t *testing.T) {
	srv, c, bars := newFake(t, april5Noon)
	ctx := context.Background()
	want := between(bars, "2026-04-01", "2026-04-04")

	srv.Inject(yahootest.NullBars(d("2026-04-02"), d("2026-04-03")))
	res, err := c.Fetch(ctx, "BTC-USD", d("2026-04-01"), d("2026-04-04"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Bars, []closecast.Bar{want[0], want[3]}) ||
		!reflect.DeepEqual(res.Report.Dropped, []closecast.Date{d("2026-04-02"), d("2026-04-03")}) {
		t.Errorf("nulls: bars %v, report %+v", res.Bars, res.Report)
	}

	srv.Inject(yahootest.DuplicateBars(d("2026-04-03")))
	res, err = c.Fetch(ctx, "BTC-USD", d("2026-04-01"), d("2026-04-04"))
	if err != nil {
		t.Fatal(err)
	}
	kept := want[2]
	kept.Close = (kept.Low + kept.High) / 2 // the fake's second copy
	if len(res.Bars) != 4 || res.Bars[2] != kept || !reflect.DeepEqual(res.Report.Duplicates, []closecast.Date{d("2026-04-03")}) {
		t.Errorf("duplicate: bars %v, report %+v; want the last copy kept", res.Bars, res.Report)
	}

	srv.Inject(yahootest.OutOfOrder())
	res, err = c.Fetch(ctx, "BTC-USD", d("2026-04-01"), d("2026-04-04"))
	if err != nil || !reflect.DeepEqual(res.Bars, want) || res.Report.OutOfOrder == 0 {
		t.Errorf("out of order: %v, %v, report %+v", res.Bars, err, res.Report)
	}
	if srv.Requests() != 3 {
		t.Errorf("%d requests, want 3: data faults need no retry", srv.Requests())
	}
}

func TestFetchInvalidBar(t *testing.T) {
	srv, c, bars := newFake(t, april5Noon)
	bad := append([]closecast.Bar(nil), bars...)
	i := 10
	bad[i].Low = bad[i].High + 1
	srv.AddBars("BTC-USD", bad)
	res, err := c.Fetch(context.Background(), "BTC-USD", d("2026-03-01"), d("2026-04-04"))
	var be *BarError
	if !errors.As(err, &be) || be.Date != bad[i].Date || res.Bars != nil {
		t.Fatalf("got %d bars, err %v; want a *BarError for %s and no bars", len(res.Bars), err, bad[i].Date)
	}
	if want := "yahoo: BTC-USD " + bad[i].Date.String() + ": invalid bar: field Low: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want prefix %q", err, want)
	}
}

func TestFetchRetries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		faults []yahootest.Fault
	}{
		{"500s", []yahootest.Fault{yahootest.ServerError(500), yahootest.ServerError(502), yahootest.ServerError(503)}},
		{"429", []yahootest.Fault{yahootest.TooManyRequests(0)}},
		{"hang", []yahootest.Fault{yahootest.Hang(5 * time.Second)}},
		{"chart.error with 503", []yahootest.Fault{yahootest.ChartError(503, "Service Unavailable", "try later")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// newFake's generous AttemptTimeout: an answer of the fake must
			// never time out, however busy the machine; only the hang does.
			srv, c, bars := newFake(t, april5Noon)
			srv.Inject(tc.faults...)
			var retries []int
			c.OnRetry = func(attempt int, err error, wait time.Duration) {
				if err == nil || wait < 0 || wait > c.BackoffMax {
					t.Errorf("OnRetry(%d, %v, %v)", attempt, err, wait)
				}
				retries = append(retries, attempt)
			}
			res, err := c.Fetch(ctx, "BTC-USD", d("2026-04-01"), d("2026-04-04"))
			if err != nil {
				t.Fatal(err)
			}
			n := len(tc.faults) + 1
			if len(retries) != n-1 || retries[0] != 1 || retries[n-2] != n-1 {
				t.Errorf("OnRetry saw attempts %v, want 1..%d", retries, n-1)
			}
			if srv.Requests() != n || res.Report.Attempts != n {
				t.Errorf("%d requests, report says %d attempts; want %d", srv.Requests(), res.Report.Attempts, n)
			}
			if !reflect.DeepEqual(res.Bars, between(bars, "2026-04-01", "2026-04-04")) {
				t.Errorf("bars %v", res.Bars)
			}
		})
	}
}

func TestFetchGivesUp(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		fault yahootest.Fault
		want  string
		is    error
	}{
		{yahootest.ServerError(503), "yahoo: BTC-USD unavailable after 4 attempts; last: HTTP 503 Service Unavailable: Service Unavailable", nil},
		{yahootest.TooManyRequests(0), "yahoo: BTC-USD unavailable after 4 attempts; last: Too Many Requests: Rate limited", nil},
		{yahootest.Hang(5 * time.Second), "yahoo: BTC-USD unavailable after 4 attempts; last: timed out after 50ms: context deadline exceeded", context.DeadlineExceeded},
	} {
		t.Run(tc.want, func(t *testing.T) {
			srv, c, _ := newFake(t, april5Noon)
			if tc.is == context.DeadlineExceeded {
				// Every attempt hangs until it times out: a short timeout
				// keeps the test quick. The others answer at once and keep
				// newFake's generous one, so that a busy machine cannot turn
				// their answer into a timeout.
				c.AttemptTimeout = 50 * time.Millisecond
			}
			srv.Inject(tc.fault, tc.fault, tc.fault, tc.fault, tc.fault)
			res, err := c.Fetch(ctx, "BTC-USD", d("2026-04-01"), d("2026-04-04"))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err %v\nwant %s", err, tc.want)
			}
			var ue *UnavailableError
			if !errors.Is(err, closecast.ErrUnavailable) || !errors.As(err, &ue) || ue.Attempts != 4 {
				t.Errorf("err %#v: want an *UnavailableError of 4 attempts wrapping ErrUnavailable", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err does not wrap %v", tc.is)
			}
			if res.Bars != nil || srv.Requests() != 4 || srv.Pending() != 1 {
				t.Errorf("%d bars, %d requests, %d faults left; want none, 4, 1", len(res.Bars), srv.Requests(), srv.Pending())
			}
		})
	}
}

// 4xx other than 429 and Yahoo's chart.error are final answers: one request.
func TestFetchNoRetry(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		fault   *yahootest.Fault
		symbol  string
		want    string
		unknown bool
	}{
		{nil, "NOPE", "yahoo: Not Found: No data found, symbol may be delisted", true},
		{&yahootest.Fault{Status: 404, Code: "Not Found", Desc: "No data found, symbol may be delisted"}, "BTC-USD", "yahoo: Not Found: No data found, symbol may be delisted", true},
		{&yahootest.Fault{Status: 400, Code: "Bad Request", Desc: "Data doesn't exist for startDate = 1, endDate = 2"}, "BTC-USD", "yahoo: Bad Request: Data doesn't exist for startDate = 1, endDate = 2", false},
		{&yahootest.Fault{Status: 200, Code: "Unprocessable", Desc: "odd"}, "BTC-USD", "yahoo: Unprocessable: odd", false},
		{&yahootest.Fault{Status: 403}, "BTC-USD", "yahoo: HTTP 403 Forbidden: Forbidden", false},
	} {
		srv, c, _ := newFake(t, april5Noon)
		if tc.fault != nil {
			srv.Inject(*tc.fault)
		}
		_, err := c.Fetch(ctx, tc.symbol, d("2026-04-01"), d("2026-04-04"))
		if err == nil || err.Error() != tc.want {
			t.Errorf("err %v\nwant %s", err, tc.want)
			continue
		}
		if errors.Is(err, closecast.ErrUnknownSymbol) != tc.unknown || errors.Is(err, closecast.ErrUnavailable) {
			t.Errorf("%v: Is(ErrUnknownSymbol) = %v, want %v; must not be ErrUnavailable", err, !tc.unknown, tc.unknown)
		}
		if srv.Requests() != 1 {
			t.Errorf("%v: %d requests, want 1 (no retry)", err, srv.Requests())
		}
	}
}

// Retry-After is a floor under the jittered back-off.
func TestFetchHonoursRetryAfter(t *testing.T) {
	srv, c, _ := newFake(t, april5Noon)
	c.BackoffMax = 5 * time.Second
	srv.Inject(yahootest.TooManyRequests(time.Second))
	if _, err := c.Fetch(context.Background(), "BTC-USD", d("2026-04-01"), d("2026-04-01")); err != nil {
		t.Fatal(err)
	}
	log := srv.Log()
	if len(log) != 2 {
		t.Fatalf("%d requests, want 2", len(log))
	}
	if gap := log[1].At.Sub(log[0].At); gap < time.Second {
		t.Errorf("retried after %v, Retry-After said 1s", gap)
	}
}

// A Retry-After beyond BackoffMax, or a wait beyond the ctx deadline, ends
// the fetch at once instead of sleeping past what the caller allows.
func TestFetchStopsEarly(t *testing.T) {
	srv, c, _ := newFake(t, april5Noon)
	c.BackoffMax = 100 * time.Millisecond
	srv.Inject(yahootest.TooManyRequests(time.Hour))
	_, err := c.Fetch(context.Background(), "BTC-USD", d("2026-04-01"), d("2026-04-01"))
	if err == nil || !errors.Is(err, closecast.ErrUnavailable) || !strings.Contains(err.Error(), "server asks to retry after 1h0m0s") || srv.Requests() != 1 {
		t.Errorf("err %v after %d requests, want 1", err, srv.Requests())
	}

	// The next try is due in at least Retry-After (30s) whatever the
	// jitter, after the 10s deadline: no wait, no second request.
	srv, c, _ = newFake(t, april5Noon)
	c.BackoffBase, c.BackoffMax = time.Minute, time.Minute
	for range 4 {
		srv.Inject(yahootest.TooManyRequests(30 * time.Second))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Fetch(ctx, "BTC-USD", d("2026-04-01"), d("2026-04-01"))
	var ue *UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, closecast.ErrUnavailable) || !strings.Contains(err.Error(), "after the deadline") || srv.Requests() != 1 {
		t.Errorf("err %v after %d requests, want an UnavailableError (next try after the deadline) after 1", err, srv.Requests())
	}

	srv, c, _ = newFake(t, april5Noon)
	srv.Inject(yahootest.Hang(5 * time.Second))
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.Fetch(ctx, "BTC-USD", d("2026-04-01"), d("2026-04-01"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, closecast.ErrUnavailable) || srv.Requests() != 1 {
		t.Errorf("cancelled: err %v, %d requests; want context.Canceled, not ErrUnavailable, 1 request", err, srv.Requests())
	}
}

// The back-off before retry n is uniform in [0, min(max, base·2^(n−1))].
func TestBackoffFullJitter(t *testing.T) {
	c := &Client{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}
	for n, ceil := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 80: time.Second} {
		var sum time.Duration
		lo, hi := ceil, time.Duration(0)
		const k = 2000
		for range k {
			w := c.backoff(n)
			if w < 0 || w > ceil {
				t.Fatalf("retry %d: waited %v, outside [0, %v]", n, w, ceil)
			}
			sum += w
			lo, hi = min(lo, w), max(hi, w)
		}
		// Uniform: mean ≈ ceil/2 (σ of the mean ≈ 0.65 % of ceil), spread wide.
		if mean := sum / k; mean < ceil*45/100 || mean > ceil*55/100 || lo > ceil/10 || hi < ceil*9/10 {
			t.Errorf("retry %d: mean %v, range %v..%v; want uniform on [0, %v]", n, mean, lo, hi, ceil)
		}
	}
}

// Concurrent fetches share one Client safely (run with -race).
func TestFetchConcurrent(t *testing.T) {
	srv, c, bars := newFake(t, april5Noon)
	want := between(bars, "2026-03-10", "2026-04-04")
	srv.Inject(yahootest.ServerError(500), yahootest.ServerError(500))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			res, err := c.Fetch(context.Background(), "BTC-USD", d("2026-03-10"), d("2026-04-10"))
			if err == nil && !reflect.DeepEqual(res.Bars, want) {
				err = errors.New("wrong bars")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if srv.Requests() != 10 {
		t.Errorf("%d requests, want 8 + 2 retries", srv.Requests())
	}
}

func TestFetchBadArguments(t *testing.T) {
	c := &Client{BaseURL: "http://127.0.0.1:1"}
	if _, err := c.Fetch(context.Background(), " ", 1, 2); err == nil {
		t.Error("empty symbol accepted")
	}
	if _, err := c.Fetch(context.Background(), "BTC-USD", 2, 1); err == nil {
		t.Error("from > to accepted")
	}
}

// A connection refused is a network error: retried, then ErrUnavailable.
func TestFetchNetworkError(t *testing.T) {
	srv := yahootest.New()
	url := srv.URL
	srv.Close()
	c := &Client{BaseURL: url, Attempts: 2, BackoffBase: time.Millisecond}
	_, err := c.Fetch(context.Background(), "BTC-USD", 1, 2)
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.Attempts != 2 || ue.Status != 0 || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err %v", err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:00:10 GMT": 10 * time.Second,
		"Wed, 31 Dec 2025 00:00:10 GMT": 0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
	_ = http.StatusOK
}
