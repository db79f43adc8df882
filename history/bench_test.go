package history

import (
	"context"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
)

// BenchmarkBars measures a /predict-sized read (70 days) that spans the
// embedded data and the store, online with nothing to fetch: the server's
// per-request cost of the data layer.
// go test -run '^$' -bench Bars -benchmem ./history
func BenchmarkBars(b *testing.B) {
	ctx := context.Background()
	emb, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		b.Fatal(err)
	}
	last, _ := emb.Last()
	store := openStore(b)
	if _, _, err := store.Upsert(ctx, "BTC-USD", bars(last+1, last+30, 70000)); err != nil {
		b.Fatal(err)
	}
	live := newFake("BTC-USD", nil)
	for _, bc := range []struct {
		name string
		live closecast.Source
	}{{"offline", nil}, {"online", live}} {
		b.Run(bc.name, func(b *testing.B) {
			l := New(marketdata.Embedded(), store, bc.live, WithClock(at(last+30).now))
			from, to := last-39, last+30
			b.ReportAllocs()
			for b.Loop() {
				s, err := l.Bars(ctx, "BTC-USD", from, to)
				if err != nil || s.Len() != 70 {
					b.Fatalf("%d bars, %v", s.Len(), err)
				}
			}
			if live.calls.Load() != 0 {
				b.Fatal("the provider was asked")
			}
		})
	}
}
