package yahoo

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/yahoo/yahootest"
)

func TestDecodeSample(t *testing.T) {
	c, err := Decode(yahootest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	m := c.Meta
	if m.Symbol != "BTC-USD" || m.ExchangeTimezoneName != "UTC" || m.InstrumentType != "CRYPTOCURRENCY" ||
		m.CurrentTradingPeriod.Regular.End != 1740095940 || m.DataGranularity != "1d" {
		t.Errorf("meta %+v", m)
	}
	want := []Row{
		{1577836800, 7194.89208984375, 7254.33056640625, 7174.9443359375, 7200.17431640625, 18565664997, false},
		{1577923200, 7202.55126953125, 7212.1552734375, 6935.27001953125, 6985.47021484375, 20802083465, false},
		{1578009600, 6984.4287109375, 7413.71533203125, 6914.99609375, 7344.88427734375, 28111481032, false},
	}
	if !reflect.DeepEqual(c.Rows, want) {
		t.Errorf("rows\n%v\nwant\n%v", c.Rows, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	sample := string(yahootest.Sample())
	for _, tc := range []struct{ body, want string }{
		{sample[:len(sample)/2], "yahoo: malformed chart response: unexpected end of JSON input"},
		{"", "yahoo: malformed chart response: unexpected end of JSON input"},
		{"<html>rate limited</html>", "yahoo: malformed chart response: invalid character '<' looking for beginning of value"},
		{`{}`, "yahoo: malformed chart response: no chart.result and no chart.error"},
		{`{"chart":{"result":[],"error":null}}`, "yahoo: malformed chart response: no chart.result and no chart.error"},
		{`{"chart":{"result":null,"error":{}}}`, "yahoo: malformed chart response: empty chart.error"},
		{`{"chart":{"result":[{"timestamp":[1,2]}]}}`, "yahoo: malformed chart response: 2 timestamps but no indicators.quote"},
		{`{"chart":{"result":[{"timestamp":[1,2],"indicators":{"quote":[{"open":[1,1],"high":[1,1],"low":[1],"close":[1,1],"volume":[1,1]}]}}]}}`,
			"yahoo: malformed chart response: indicators.quote[0].low has 1 values for 2 timestamps"},
		{`{"chart":{"result":[{"timestamp":[1,null],"indicators":{"quote":[{"open":[1,1],"high":[1,1],"low":[1,1],"close":[1,1],"volume":[1,1]}]}}]}}`,
			"yahoo: malformed chart response: timestamp[1] is null"},
		{`{"chart":{"result":[{"timestamp":["x"]}]}}`, "yahoo: malformed chart response: json: cannot unmarshal string into Go struct field .chart.result.timestamp of type int64"},
	} {
		_, err := Decode([]byte(tc.body))
		if err == nil || !errors.Is(err, ErrMalformed) || err.Error() != tc.want {
			t.Errorf("Decode(%.40q):\n got %v\nwant %s", tc.body, err, tc.want)
		}
	}
	_, err := Decode([]byte(`{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}`))
	var ae *APIError
	if !errors.As(err, &ae) || !errors.Is(err, closecast.ErrUnknownSymbol) || err.Error() != "yahoo: Not Found: No data found, symbol may be delisted" {
		t.Errorf("chart.error: %v", err)
	}
	_, err = Decode([]byte(`{"chart":{"result":null,"error":{"code":"Bad Request","description":"Invalid input"}}}`))
	if !errors.As(err, &ae) || errors.Is(err, closecast.ErrUnknownSymbol) {
		t.Errorf("Bad Request: %v must not read as an unknown symbol", err)
	}
}

// A window without bars: meta, no timestamp, an empty quote.
func TestDecodeEmptyWindow(t *testing.T) {
	c, err := Decode([]byte(`{"chart":{"result":[{"meta":{"symbol":"AAPL","exchangeTimezoneName":"America/New_York"},"indicators":{"quote":[{}],"adjclose":[{}]}}],"error":null}}`))
	if err != nil || len(c.Rows) != 0 || c.Meta.Symbol != "AAPL" {
		t.Fatalf("%+v, %v", c, err)
	}
	bars, rep, err := c.Bars("AAPL", 0, 30000, time.Now())
	if err != nil || len(bars) != 0 || rep.String() != "clean" || rep.Timezone != "America/New_York" {
		t.Errorf("%v %+v %v", bars, rep, err)
	}
}

func bar(day string, close float64) closecast.Bar {
	return closecast.Bar{Date: d(day), Open: close, High: close + 1, Low: close - 1, Close: close, Volume: 5}
}

func row(b closecast.Bar, ts int64) Row {
	return Row{Time: ts, Open: b.Open, High: b.High, Low: b.Low, Close: b.Close, Volume: b.Volume}
}

// Chart.Bars cleaning, row by row: nulls, duplicates of a timestamp and of a
// day, disorder, the window and the open day, all in one response.
func TestChartBarsCleaning(t *testing.T) {
	b1, b2, b3, b4, b5 := bar("2026-01-01", 10), bar("2026-01-02", 20), bar("2026-01-03", 30), bar("2026-01-04", 40), bar("2026-01-05", 50)
	b3late := b3
	b3late.Close = 30.5
	null := row(b2, d("2026-01-02").Unix())
	null.Null = true
	meta := Meta{ExchangeTimezoneName: "UTC"}
	// Yahoo's crypto session: 00:00 to 23:59 UTC; trading goes on to midnight.
	meta.CurrentTradingPeriod.Regular = TradingPeriod{Start: d("2026-01-05").Unix(), End: d("2026-01-06").Unix() - 60}
	c := &Chart{Meta: meta, Rows: []Row{
		row(b1, d("2026-01-01").Unix()),
		row(b3, d("2026-01-03").Unix()),
		null,
		row(b2, d("2026-01-02").Unix()),             // the same day again, with values: kept, and not a duplicate since the null copy was dropped
		row(b3late, d("2026-01-03").Unix()+60*60*5), // a later snapshot of the same day: kept
		row(b4, d("2026-01-04").Unix()),
		row(b5, d("2026-01-05").Unix()),
	}}
	now := d("2026-01-05").Time().Add(23*time.Hour + 59*time.Minute + 30*time.Second) // crypto session "ended" at 23:59
	bars, rep, err := c.Bars("BTC-USD", d("2026-01-02"), d("2026-01-06"), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []closecast.Bar{b2, b3late, b4}; !reflect.DeepEqual(bars, want) {
		t.Errorf("bars\n%v\nwant\n%v", bars, want)
	}
	want := Report{Symbol: "BTC-USD", Timezone: "UTC", Dropped: []closecast.Date{d("2026-01-02")}, Duplicates: []closecast.Date{d("2026-01-03")},
		OutOfOrder: 1, Unfinished: []closecast.Date{d("2026-01-05")}}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report\n%+v\nwant\n%+v", rep, want)
	}
	if s := rep.String(); s != "1 null bar dropped (2026-01-02); 1 day served twice, last kept (2026-01-03); 1 timestamp out of order, sorted; unfinished day left out (2026-01-05)" {
		t.Errorf("String() = %q", s)
	}
}

// Without an exchangeTimezoneName the gmtoffset decides the day.
func TestMetaLocationFallback(t *testing.T) {
	m := Meta{ExchangeTimezoneName: "Nowhere/Atlantis", Timezone: "BRT", GMTOffset: -3 * 3600}
	loc := m.Location()
	ts := time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC).Unix() // 22:00 on March 2 in São Paulo
	if got := dayIn(ts, loc); got != d("2026-03-02") {
		t.Errorf("day %s, want 2026-03-02", got)
	}
	if (Meta{}).Location() != time.UTC {
		t.Error("empty meta is not UTC")
	}
	if !strings.Contains(Meta{ExchangeTimezoneName: "America/Sao_Paulo"}.Location().String(), "Sao_Paulo") {
		t.Error("IANA zone not loaded")
	}
}

func TestReportClean(t *testing.T) {
	if r := (Report{Attempts: 3, Timezone: "UTC"}); !r.Clean() || r.String() != "clean" {
		t.Errorf("%+v: Clean %v, %q", r, r.Clean(), r.String())
	}
	for _, r := range []Report{{Dropped: []closecast.Date{1}}, {Duplicates: []closecast.Date{1}}, {OutOfOrder: 1}, {Unfinished: []closecast.Date{1}}} {
		if r.Clean() || r.String() == "clean" {
			t.Errorf("%+v reported clean", r)
		}
	}
}
