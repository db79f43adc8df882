package features

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/closecast/closecast"
)

// loadBTC reads the shipped BTC-USD CSV (Date,Open,High,Low,Close,Volume)
// with dates in [from, to].
func loadBTC(t *testing.T, from, to string) []closecast.Bar {
	t.Helper()
	f, err := os.Open("../marketdata/data/btc-usd-daily.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var bars []closecast.Bar
	for _, r := range recs[1:] {
		if r[0] < from || r[0] > to {
			continue
		}
		var v [5]float64
		for j := range v {
			if v[j], err = strconv.ParseFloat(r[j+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		bars = append(bars, closecast.Bar{Date: closecast.MustParseDate(r[0]), Open: v[0], High: v[1], Low: v[2], Close: v[3], Volume: v[4]})
	}
	return bars
}

// TestReferenceWindowCounts pins the alignment to the reference notebook:
// 2677 closes → 2617 windows of 60, the first 80 % (2093) train, and the
// first hold-out target is 2023-11-24.
func TestReferenceWindowCounts(t *testing.T) {
	bars := loadBTC(t, "2018-01-01", "2025-04-30")
	rows, dates, err := Matrix(bars, []string{"close"})
	if err != nil {
		t.Fatal(err)
	}
	s := FitMinMax(rows)
	if math.Abs(s.Min[0]-3236.761719) > 5e-7 || s.Max[0] != 106146.265625 { // printed to 6 decimals
		t.Errorf("scaler fitted on all closes = %+v, want the notebook's min/max", s)
	}
	scaled := s.TransformRows(rows)
	y := TargetClose.Column(bars)
	for i := range y {
		y[i] = s.Scale(0, y[i])
	}
	x, yy, err := Windows(scaled, y, 60)
	if err != nil {
		t.Fatal(err)
	}
	if len(yy) != 2617 || len(x) != 2617*60 {
		t.Fatalf("%d windows, want 2617", len(yy))
	}
	nTrain := int(0.8 * float64(len(yy)))
	if nTrain != 2093 || dates[nTrain+60].String() != "2023-11-24" {
		t.Errorf("train %d windows, first hold-out target %s; want 2093 and 2023-11-24", nTrain, dates[nTrain+60])
	}
	if x[0] != float32(scaled[0][0]) || yy[0] != float32(scaled[60][0]) {
		t.Error("first sample is not closes 0..59 → close 60")
	}

	// the multivariate set over the whole history: every value finite,
	// the 179 warm-up bars of the 180-day statistics dropped
	all := loadBTC(t, "0000", "9999")
	rows, dates, err = Matrix(all, Names())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(all)-179 || dates[0] != all[179].Date {
		t.Errorf("%d rows from %s, want %d from %s", len(rows), dates[0], len(all)-179, all[179].Date)
	}
}
