package yahootest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
)

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return resp.StatusCode, v
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

// The fake's synthesised response for the recorded request has the recorded
// response's bars, byte for byte as JSON values: timestamps, every quote
// array and adjclose. Only meta differs (it describes request time).
func TestSynthesisMatchesRecording(t *testing.T) {
	s, err := marketdata.Embedded().Bars(context.Background(), "BTC-USD", closecast.MustParseDate("2019-12-01"), closecast.MustParseDate("2020-02-01"))
	if err != nil {
		t.Fatal(err)
	}
	srv := New()
	defer srv.Close()
	srv.Now = func() time.Time { return time.Unix(1740051840, 0) }
	srv.AddBars("BTC-USD", s.Bars)
	status, got := get(t, srv.URL+"/v8/finance/chart/BTC-USD?interval=1d&period1=1577836800&period2=1578009600")
	var want map[string]any
	if err := json.Unmarshal(Sample(), &want); err != nil {
		t.Fatal(err)
	}
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	for _, path := range [][]any{
		{"chart", "error"},
		{"chart", "result", 0, "timestamp"},
		{"chart", "result", 0, "indicators"},
		{"chart", "result", 0, "meta", "exchangeTimezoneName"},
		{"chart", "result", 0, "meta", "gmtoffset"},
		{"chart", "result", 0, "meta", "currentTradingPeriod", "regular"},
		{"chart", "result", 0, "meta", "regularMarketTime"},
	} {
		if g, w := dig(got, path...), dig(want, path...); !reflect.DeepEqual(g, w) {
			t.Errorf("%v:\n got %v\nwant %v", path, g, w)
		}
	}
}

func TestUnknownSymbolAndBadQuery(t *testing.T) {
	srv := New()
	defer srv.Close()
	srv.AddBars("BTC-USD", nil)
	status, v := get(t, srv.URL+"/v8/finance/chart/NOPE?interval=1d&period1=0&period2=1")
	if status != 404 || dig(v, "chart", "error", "code") != "Not Found" || dig(v, "chart", "result") != nil {
		t.Errorf("unknown symbol: %d %v", status, v)
	}
	status, v = get(t, srv.URL+"/v8/finance/chart/BTC-USD?interval=1h&period1=0&period2=1")
	if status != 400 || dig(v, "chart", "error", "code") != "Bad Request" {
		t.Errorf("interval=1h: %d %v", status, v)
	}
	status, v = get(t, srv.URL+"/v8/finance/chart/BTC-USD?interval=1d&period1=5&period2=1")
	if status != 400 {
		t.Errorf("period1 > period2: %d %v", status, v)
	}
	// An empty window has meta but no timestamp, as Yahoo's.
	status, v = get(t, srv.URL+"/v8/finance/chart/BTC-USD?interval=1d&period1=0&period2=1")
	if status != 200 || dig(v, "chart", "result", 0, "timestamp") != nil || dig(v, "chart", "result", 0, "meta", "symbol") != "BTC-USD" {
		t.Errorf("empty window: %d %v", status, v)
	}
	if srv.Requests() != 4 {
		t.Errorf("%d requests logged, want 4", srv.Requests())
	}
}

// Faults are used one per request, in order, and can target one symbol.
func TestFaultQueue(t *testing.T) {
	srv := New()
	defer srv.Close()
	srv.Replay("A", Sample())
	srv.Replay("B", Sample())
	srv.Inject(Fault{Symbol: "B", Status: 500}, TooManyRequests(1500*time.Millisecond))
	resp, _ := http.Get(srv.URL + "/v8/finance/chart/A")
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("A: %d Retry-After %q; want the untargeted 429, Retry-After rounded up to 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, _ = http.Get(srv.URL + "/v8/finance/chart/A")
	resp.Body.Close()
	if resp.StatusCode != 200 || srv.Pending() != 1 {
		t.Errorf("A again: %d, %d pending; want 200 with B's fault still queued", resp.StatusCode, srv.Pending())
	}
	resp, _ = http.Get(srv.URL + "/v8/finance/chart/B")
	resp.Body.Close()
	if resp.StatusCode != 500 || srv.Pending() != 0 {
		t.Errorf("B: %d", resp.StatusCode)
	}
	srv.Reset()
	if srv.Requests() != 0 {
		t.Error("Reset kept the log")
	}
}

func TestContinue(t *testing.T) {
	s, _ := marketdata.EmbeddedSeries("BTC-USD")
	more := Continue(s.Bars, 100, 7)
	all := append(append([]closecast.Bar(nil), s.Bars...), more...)
	joined, err := closecast.NewSeries("BTC-USD", all)
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 100 || len(joined.Gaps()) != 0 || more[0].Open != s.Bars[len(s.Bars)-1].Close {
		t.Errorf("%d bars, gaps %v, first open %v", len(more), joined.Gaps(), more[0].Open)
	}
	if !reflect.DeepEqual(Continue(s.Bars, 5, 7), more[:5]) || reflect.DeepEqual(Continue(s.Bars, 5, 8), more[:5]) {
		t.Error("Continue is not a function of its seed")
	}
}

func TestBodyAndMetaFaults(t *testing.T) {
	s := New()
	defer s.Close()
	bars := []closecast.Bar{{Date: closecast.MustParseDate("2020-01-01"), Open: 1, High: 2, Low: 1, Close: 2, Volume: 1}}
	s.AddBars("BTC-USD", bars)
	url := s.URL + "/v8/finance/chart/BTC-USD?interval=1d&period1=0&period2=2000000000"

	s.Inject(HTML())
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Valid(b) || len(b) == 0 || b[0] != '<' {
		t.Errorf("HTML: %d %q", resp.StatusCode, b)
	}

	s.Inject(ForeignSymbol("ETH-USD"), ForeignCurrency("EUR"))
	_, v := get(t, url)
	if got := dig(v, "chart", "result", 0, "meta", "symbol"); got != "ETH-USD" {
		t.Errorf("ForeignSymbol: meta.symbol %v", got)
	}
	_, v = get(t, url)
	if got := dig(v, "chart", "result", 0, "meta", "currency"); got != "EUR" {
		t.Errorf("ForeignCurrency: meta.currency %v", got)
	}
	_, v = get(t, url)
	if dig(v, "chart", "result", 0, "meta", "symbol") != "BTC-USD" || dig(v, "chart", "result", 0, "meta", "currency") != "USD" {
		t.Errorf("after the faults: meta %v", dig(v, "chart", "result", 0, "meta"))
	}
}
