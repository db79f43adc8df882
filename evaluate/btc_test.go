package evaluate

import (
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
)

// The three evaluation ranges of BTC-USD.
var btcRanges = []struct {
	name     string
	from, to string
	days     int
}{
	{"hold-out", "2023-11-24", "2025-04-30", 524},
	{"validation", "2025-06-01", "2025-07-16", 46},
	{"backtest", "2025-05-01", "2026-03-31", 335},
}

// TestBaselinesOnBTC walks the five baselines one step ahead over the
// issue's three ranges of the embedded BTC-USD data, each forecast fitted
// on the closes before its day alone, and logs the table (go test
// ./evaluate/ -run BTC -v). It asserts the set-up (every day of each range
// scored, every baseline's forecasts valid) and that each baseline's 80 %
// band is a plausible one (60–95 % coverage), not the figures themselves.
func TestBaselinesOnBTC(t *testing.T) {
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range btcRanges {
		w, err := NewWalk(s, closecast.MustParseDate(r.from), closecast.MustParseDate(r.to), 1, MinReturns(NewBaselines()))
		if err != nil {
			t.Fatal(err)
		}
		methods, err := w.Run(NewBaselines())
		if err != nil {
			t.Fatal(err)
		}
		// Compare the best baseline (lowest pinball) with the others.
		rep, err := Score(w.Days, methods, "")
		if err != nil {
			t.Fatal(err)
		}
		if rep, err = Score(w.Days, methods, rep.Best()); err != nil {
			t.Fatal(err)
		}
		if rep.N != r.days {
			t.Errorf("%s: %d days scored, want %d", r.name, rep.N, r.days)
		}
		var b strings.Builder
		if err := rep.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s..%s, %d days, one step ahead; best by pinball: %s\n%s", r.name, rep.From, rep.To, rep.N, rep.Best(), b.String())
		for _, m := range rep.Methods {
			if c := m.Interval(80).Coverage; c < 60 || c > 95 {
				t.Errorf("%s: %s covers %.1f %% with its 80 %% band", r.name, m.Method, c)
			}
		}
	}
}
