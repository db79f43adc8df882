package storetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/closecast/closecast"
)

// day0 is the first day of the suite's bars.
var day0 = closecast.MustParseDate("2025-01-01")

// mkBars returns n valid consecutive daily bars from start whose closes are
// level, level+1, …
func mkBars(start closecast.Date, n int, level float64) []closecast.Bar {
	bars := make([]closecast.Bar, n)
	for i := range bars {
		c := level + float64(i)
		bars[i] = closecast.Bar{Date: start.AddDays(i), Open: c - 0.5, High: c + 1, Low: c - 1, Close: c, Volume: 1000 + float64(i)}
	}
	return bars
}

// mustBars reads the bars of symbol in [from, to].
func mustBars(t testing.TB, s Store, symbol string, from, to closecast.Date) []closecast.Bar {
	t.Helper()
	series, err := s.Bars(context.Background(), symbol, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return series.Bars
}

func testUpsertCounts(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	first := mkBars(day0, 10, 100)
	if a, u, err := s.Upsert(ctx, "BTC-USD", first); err != nil || a != 10 || u != 0 {
		t.Fatalf("first upsert: %d added, %d updated, %v; want 10, 0", a, u, err)
	}
	if a, u, err := s.Upsert(ctx, "BTC-USD", first); err != nil || a != 0 || u != 0 {
		t.Fatalf("same bars again: %d added, %d updated, %v; want 0, 0", a, u, err)
	}
	// Days 8, 9 revised, days 10..12 new.
	next := mkBars(day0.AddDays(8), 5, 500)
	if a, u, err := s.Upsert(ctx, "btc-usd", next); err != nil || a != 3 || u != 2 {
		t.Fatalf("overlapping upsert: %d added, %d updated, %v; want 3, 2", a, u, err)
	}
	want := append(slices.Clone(first[:8]), next...)
	if got := mustBars(t, s, "BTC-USD", day0, day0.AddDays(100)); !slices.Equal(got, want) {
		t.Fatalf("stored bars\n%v\nwant\n%v", got, want)
	}
}

func testUpsertExact(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	// Doubles whose shortest decimal form is long, and one next to another:
	// a text protocol that rounds would change them, and the unchanged
	// re-upsert below would then count updates.
	c := 0.1 + 0.2
	bar := closecast.Bar{Date: day0, Open: c, High: math.Nextafter(c, 1), Low: c / 3, Close: c,
		Volume: 123456789.12345679}
	// The extremes closecast accepts, one ulp inside its plausible range.
	lo, hi := math.Nextafter(closecast.MinPrice, 1), math.Nextafter(closecast.MaxPrice, 0)
	tiny := closecast.Bar{Date: day0 + 1, Open: lo, High: hi, Low: lo, Close: math.Pi, Volume: 0}
	bars := []closecast.Bar{bar, tiny}
	if _, _, err := s.Upsert(ctx, "BTC-USD", bars); err != nil {
		t.Fatal(err)
	}
	got := mustBars(t, s, "BTC-USD", day0, day0+1)
	if !slices.Equal(got, bars) {
		t.Fatalf("read back %v, want %v bit for bit", got, bars)
	}
	if a, u, err := s.Upsert(ctx, "BTC-USD", bars); err != nil || a != 0 || u != 0 {
		t.Fatalf("re-upserting the same doubles: %d added, %d updated, %v; want 0, 0", a, u, err)
	}
}

func testUpsertRejects(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	bars := mkBars(day0, 10, 100)
	bars[5].Low = bars[5].Close + 1 // Low above the close
	_, _, err := s.Upsert(ctx, "BTC-USD", bars)
	var be *closecast.BarError
	if !errors.As(err, &be) || be.Index != 5 {
		t.Fatalf("upsert with bar 5 invalid: %v; want a *closecast.BarError for bar 5", err)
	}
	unsorted := mkBars(day0, 3, 100)
	unsorted[1], unsorted[2] = unsorted[2], unsorted[1]
	if _, _, err := s.Upsert(ctx, "BTC-USD", unsorted); !errors.Is(err, closecast.ErrUnsorted) {
		t.Fatalf("unsorted upsert: %v; want ErrUnsorted", err)
	}
	if _, _, err := s.Upsert(ctx, "BAD SYMBOL", mkBars(day0, 1, 100)); err == nil {
		t.Fatal("a symbol with a space was accepted")
	}
	if _, _, ok, err := s.Range(ctx, "BTC-USD"); err != nil || ok {
		t.Fatalf("after refused upserts: range ok=%v, %v; want nothing stored", ok, err)
	}
}

func testUpsertCancelled(t *testing.T, b Backend) {
	s, _ := open(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Upsert(ctx, "BTC-USD", mkBars(day0, 100, 100)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled upsert: %v; want context.Canceled", err)
	}
	if _, _, ok, err := s.Range(context.Background(), "BTC-USD"); err != nil || ok {
		t.Fatalf("after a cancelled upsert: range ok=%v, %v; want nothing stored", ok, err)
	}
}

func testBarsRangeSymbols(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	if syms, err := s.Symbols(ctx); err != nil || len(syms) != 0 {
		t.Fatalf("symbols of an empty store: %v, %v", syms, err)
	}
	if _, err := s.Bars(ctx, "BTC-USD", day0, day0); !errors.Is(err, closecast.ErrUnknownSymbol) {
		t.Fatalf("bars of an unknown symbol: %v; want ErrUnknownSymbol", err)
	}
	for _, sym := range []string{"eth-usd", "BTC-USD", "^GSPC"} {
		if _, _, err := s.Upsert(ctx, sym, mkBars(day0.AddDays(len(sym)), 20, 100)); err != nil {
			t.Fatal(err)
		}
	}
	syms, err := s.Symbols(ctx)
	if want := []string{"BTC-USD", "ETH-USD", "^GSPC"}; err != nil || !slices.Equal(syms, want) {
		t.Fatalf("symbols %v, %v; want %v (normalized, bytewise order)", syms, err, want)
	}
	first, last, ok, err := s.Range(ctx, "eth-usd")
	if err != nil || !ok || first != day0.AddDays(7) || last != day0.AddDays(26) {
		t.Fatalf("range of ETH-USD: %s..%s ok=%v %v; want %s..%s", first, last, ok, err, day0.AddDays(7), day0.AddDays(26))
	}
	if _, _, ok, err := s.Range(ctx, "XRP-USD"); err != nil || ok {
		t.Fatalf("range of a symbol without bars: ok=%v, %v", ok, err)
	}
	got := mustBars(t, s, "BTC-USD", day0.AddDays(10), day0.AddDays(12))
	if want := mkBars(day0.AddDays(7), 20, 100)[3:6]; !slices.Equal(got, want) {
		t.Fatalf("bars in a range: %v, want %v", got, want)
	}
	if got := mustBars(t, s, "BTC-USD", day0.AddDays(1000), day0.AddDays(1010)); len(got) != 0 {
		t.Fatalf("bars of a known symbol in an empty range: %v, want none", got)
	}
	if _, err := s.Bars(ctx, "BTC-USD", day0.AddDays(2), day0); err == nil {
		t.Fatal("from after to was accepted")
	}
}
