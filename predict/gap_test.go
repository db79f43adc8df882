package predict

import (
	"context"
	"errors"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
)

// holes is the embedded BTC-USD series with some days removed.
type holes struct{ bars []closecast.Bar }

func withHoles(t *testing.T, from, to closecast.Date) holes {
	t.Helper()
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	var out []closecast.Bar
	for _, b := range s.Bars {
		if b.Date < from || b.Date > to {
			out = append(out, b)
		}
	}
	return holes{out}
}

func (h holes) Bars(_ context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	s := closecast.Series{Symbol: symbol, Bars: h.bars}.Between(from, to)
	s.Bars = append([]closecast.Bar(nil), s.Bars...)
	return s, nil
}

// A forecast whose input window has missing days is refused with the days
// named, never made from a longer calendar span; and no out-of-range answer
// ever claims the refused date can be forecast.
func TestPredictRefusesGappedWindows(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name           string
		holeFrom, hole closecast.Date
		date           closecast.Date
		want           closecast.Gap
	}{
		{"one day inside the window", d("2025-05-20"), d("2025-05-20"), d("2025-06-01"), closecast.Gap{From: d("2025-05-20"), To: d("2025-05-20")}},
		{"the day before", d("2025-05-31"), d("2025-05-31"), d("2025-06-01"), closecast.Gap{From: d("2025-05-31"), To: d("2025-05-31")}},
		{"the date inside a gap", d("2025-05-30"), d("2025-06-02"), d("2025-06-01"), closecast.Gap{From: d("2025-05-30"), To: d("2025-05-31")}},
		{"a gap longer than the look-back", d("2025-03-01"), d("2025-05-29"), d("2025-06-01"), closecast.Gap{To: d("2025-05-29")}}, // From: the window's first day
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, _ := service(t, withHoles(t, tc.holeFrom, tc.hole))
			_, err := svc.Predict(ctx, "", tc.date)
			var re *closecast.RangeError
			if errors.As(err, &re) && tc.date >= re.Earliest && tc.date <= re.Latest {
				t.Fatalf("out-of-range error whose valid range holds %s: %v", tc.date, err)
			}
			var ge *closecast.GapError
			if !errors.As(err, &ge) || ge.Date != tc.date || len(ge.Missing) != 1 || ge.Missing[0].To != tc.want.To {
				t.Fatalf("got %v; want a GapError of days up to %s", err, tc.want.To)
			}
			if want := max(tc.want.From, tc.date.AddDays(-ge.Window)); ge.Missing[0].From != want {
				t.Errorf("missing %v, want from %s", ge.Missing, want)
			}
		})
	}
	// Without holes the same forecast is made.
	svc, _ := service(t, marketdata.Embedded())
	if _, err := svc.Predict(ctx, "", d("2025-06-01")); err != nil {
		t.Fatal(err)
	}
}
