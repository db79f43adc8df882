package history_test

import (
	"context"
	"fmt"
	"log"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/sqlite"
)

// Offline wiring: embedded data under a local store, no live provider. The
// CLI opens sqlite.Open(sqlite.DefaultPath()) instead of a memory store and
// passes its Yahoo client as the third layer unless told to stay offline.
func Example() {
	ctx := context.Background()
	store, err := sqlite.OpenMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	// A revised bar in the store wins over the embedded one.
	day := closecast.MustParseDate("2025-04-30")
	if _, _, err := store.Upsert(ctx, "BTC-USD", []closecast.Bar{{Date: day, Open: 94000, High: 96000, Low: 93000, Close: 95000, Volume: 1}}); err != nil {
		log.Fatal(err)
	}
	bars := history.New(marketdata.Embedded(), store, nil)
	s, err := bars.Bars(ctx, "btc-usd", closecast.MustParseDate("2025-04-01"), day)
	if err != nil {
		log.Fatal(err)
	}
	first, _ := s.First()
	last, _ := s.Last()
	fmt.Println(s.Symbol, s.Len(), first, last, s.Bars[s.Len()-1].Close)
	// Output: BTC-USD 30 2025-04-01 2025-04-30 95000
}
