package sqlite

import (
	"context"
	"testing"
)

// BenchmarkBars reads a 70-day window from a store of 4000 days.
// go test -run '^$' -bench . -benchmem ./sqlite
func BenchmarkBars(b *testing.B) {
	ctx := context.Background()
	db, err := Open(b.TempDir() + "/" + FileName)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
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
	db, err := Open(b.TempDir() + "/" + FileName)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0-4000, 4000, 100)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, ok, err := db.Range(ctx, "BTC-USD"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
