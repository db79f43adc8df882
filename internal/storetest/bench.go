package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/closecast/closecast"
)

// BenchmarkUpsert4000 times the upsert of 4,000 new daily bars (about eleven
// years) into an empty store of b: `closecast fetch` of a long history.
// Each iteration writes another symbol, so every bar is an insert.
func BenchmarkUpsert4000(bm *testing.B, b Backend) {
	s, _ := open(bm, b)
	ctx := context.Background()
	bars := mkBars(day0, 4000, 100)
	i := 0
	for bm.Loop() {
		i++
		if a, _, err := s.Upsert(ctx, "SYM"+itoa(i), bars); err != nil || a != 4000 {
			bm.Fatalf("%d added, %v", a, err)
		}
	}
	bm.ReportMetric(float64(4000*bm.N)/bm.Elapsed().Seconds(), "bars/s")
}

// BenchmarkLedgerWrite times recording one live forecast, one transaction
// each (the server's ledger writer commits one batch per transaction; this is
// its slowest case, a batch of one), into a ledger of a year of forecasts.
func BenchmarkLedgerWrite(bm *testing.B, b Backend) {
	s, _ := open(bm, b)
	ctx := context.Background()
	var year []closecast.Prediction
	for i := range 365 {
		year = append(year, pred("BTC-USD", day0.AddDays(i), "m1", 101, 100))
	}
	if err := s.Record(ctx, time.Now(), year); err != nil {
		bm.Fatal(err)
	}
	d := day0.AddDays(365)
	for bm.Loop() {
		if err := s.Record(ctx, time.Now(), []closecast.Prediction{pred("BTC-USD", d, "m1", 101, 100)}); err != nil {
			bm.Fatal(err)
		}
		d++
	}
	bm.ReportMetric(float64(bm.N)/bm.Elapsed().Seconds(), "writes/s")
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
