package yahoo

import (
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// FuzzDecode checks that no response body makes Decode or Chart.Bars panic,
// and that whatever Bars returns is what a store may take: valid bars,
// strictly ascending, within the window, none unfinished.
func FuzzDecode(f *testing.F) {
	s := yahootest.Sample()
	f.Add(s)
	f.Add(s[:len(s)/2])
	f.Add([]byte(`{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}`))
	f.Add([]byte(`{"chart":{"result":[{"meta":{"exchangeTimezoneName":"America/New_York"},"timestamp":[1577975400,1577889000],"indicators":{"quote":[{"open":[1,null],"high":[2,2],"low":[1,1],"close":[1,1],"volume":[0,0]}]}}]}}`))
	f.Add([]byte(`{"chart":{"result":[{"meta":{"symbol":"X","currency":"USD"},"timestamp":[1577836800,1577923200],"indicators":{"quote":[{"open":[1,1],"high":[2,1e300],"low":[1,1],"close":[1,1e300],"volume":[0,0]}]}}]}}`))
	f.Add([]byte(`{"chart":{"result":[{"meta":{"symbol":"X"},"timestamp":[1577836800],"indicators":{"quote":[{"open":[1e-310],"high":[2],"low":[1e-310],"close":[1],"volume":[0]}]}}]}}`))
	f.Add([]byte("<!DOCTYPE html><html><body>Please enable cookies.</body></html>"))
	now := time.Date(2026, 4, 5, 12, 0, 0, 0, time.UTC)
	from, to := closecast.MustParseDate("1970-01-01"), closecast.MustParseDate("2100-01-01")
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := Decode(body)
		if err != nil {
			return
		}
		bars, _, err := c.Bars("X", from, to, now)
		if err != nil {
			return
		}
		if _, err := closecast.NewSeries("X", bars); err != nil {
			t.Fatalf("Bars returned an invalid series: %v", err)
		}
		for _, b := range bars {
			if b.Date < from || b.Date > to || b.Date >= closecast.DateOf(now) {
				t.Fatalf("bar %s outside the window or not final at %v", b.Date, now)
			}
		}
	})
}
