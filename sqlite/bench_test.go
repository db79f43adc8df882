package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/closecast/closecast"
)

// benchStore opens a file store in a temporary directory, closed when b ends.
func benchStore(b *testing.B) *DB {
	db, err := Open(b.TempDir() + "/" + FileName)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// recordDays records a forecast of BTC-USD for each of the n days before day0.
func recordDays(b *testing.B, db *DB, n int) {
	var ps []closecast.Prediction
	for i := range n {
		ps = append(ps, pred("BTC-USD", day0-closecast.Date(n)+closecast.Date(i), "m1", 101, 100))
	}
	if err := db.Record(context.Background(), time.Now(), ps); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBars reads a 70-day window from a store of 4000 days.
// go test -run '^$' -bench . -benchmem ./sqlite
func BenchmarkBars(b *testing.B) {
	ctx := context.Background()
	db := benchStore(b)
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0-4000, 4000, 100)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := db.Bars(ctx, "BTC-USD", day0-70, day0-1)
		if err != nil || s.Len() != 70 {
			b.Fatalf("%d bars, %v", s.Len(), err)
		}
	}
}

// BenchmarkRange is the cheap "what is the last stored day" query.
func BenchmarkRange(b *testing.B) {
	ctx := context.Background()
	db := benchStore(b)
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0-4000, 4000, 100)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, ok, err := db.Range(ctx, "BTC-USD"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkRecordAndScore is the ledger's write path on a file store with
// a year of forecasts: Record one forecast (the server's writer commits one
// such transaction per batch), then the Upsert of its day's bar that scores it.
func BenchmarkRecordAndScore(b *testing.B) {
	ctx := context.Background()
	db := benchStore(b)
	recordDays(b, db, 365)
	d := day0
	b.ReportAllocs()
	for b.Loop() {
		if err := db.Record(ctx, time.Now(), []closecast.Prediction{pred("BTC-USD", d, "m1", 101, 100)}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(d, 1, 100)); err != nil {
			b.Fatal(err)
		}
		d++
	}
}

// BenchmarkScored reads a 30-day window from a ledger of 1000 scored days.
func BenchmarkScored(b *testing.B) {
	ctx := context.Background()
	db := benchStore(b)
	recordDays(b, db, 1000)
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0-1000, 1000, 100)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got, err := db.Scored(ctx, "BTC-USD", 30); err != nil || len(got) != 30 {
			b.Fatalf("%d rows, %v", len(got), err)
		}
	}
}
