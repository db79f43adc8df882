package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/sqlite"
	"github.com/closecast/closecast/sqlite/sqlitetest"
)

// A store file with a corrupt page (a real damaged SQLite file): /readyz
// reports it as 503 naming the file, while forecasts for days the embedded
// data covers still answer 200 from the real model.
func TestDamagedStoreIsNotReadyButEmbeddedForecastsWork(t *testing.T) {
	ctx := context.Background()
	emb, err := marketdata.EmbeddedSeries(closecast.DefaultSymbol)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Upsert(ctx, closecast.DefaultSymbol, emb.Bars[len(emb.Bars)-400:]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := sqlitetest.Damage(path, "bars"); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	bars := history.New(marketdata.Embedded(), db, nil)
	e := &testEnv{srv: New(Config{Predictor: predict.New(m, bars), History: bars, Model: m.Meta.Summary(),
		Symbol: m.Meta.Symbol, Ledger: db, StoreHealth: db.Damaged})}
	defer e.srv.Close(ctx)

	w := e.do("GET", "/readyz", "")
	if got := decodeBody[errorBody](t, w); w.Code != 503 || got.Code != codeUnavailable || !strings.Contains(got.Error, path) {
		t.Fatalf("readyz with a damaged store: %d %s; want 503 naming %s", w.Code, w.Body, path)
	}
	last := emb.Bars[len(emb.Bars)-1].Date
	if w := e.do("GET", "/predict?date="+last.String(), ""); w.Code != 200 {
		t.Fatalf("forecast of an embedded day with a damaged store: %d %s", w.Code, w.Body)
	}
}

// liveBars is a provider that has n days after the embedded data.
type liveBars struct{ bars []closecast.Bar }

func (l liveBars) Bars(_ context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	return closecast.Series{Symbol: symbol, Bars: l.bars}.Between(from, to), nil
}

// Another connection holds the store's write lock (BEGIN EXCLUSIVE, as a
// second server or a `closecast fetch` would) past the busy timeout: a
// forecast whose bars were fetched fine is answered 200 from them, the
// failed write only logged, and the ledger's forecast is retried, not a 500.
func TestHeldStoreLockDoesNotFailAForecast(t *testing.T) {
	ctx := context.Background()
	emb, err := marketdata.EmbeddedSeries(closecast.DefaultSymbol)
	if err != nil {
		t.Fatal(err)
	}
	last := emb.Bars[len(emb.Bars)-1]
	var fresh []closecast.Bar
	for k := 1; k <= 2; k++ {
		c := last.Close * (1 + 0.01*float64(k))
		fresh = append(fresh, closecast.Bar{Date: last.Date.AddDays(k), Open: c, High: c * 1.01, Low: c * 0.99, Close: c, Volume: 1e9})
	}
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sqlite.OpenBusyTimeout(path, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	release, err := sqlitetest.HoldLock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return last.Date.AddDays(3).Time().Add(12 * time.Hour) }
	bars := history.New(marketdata.Embedded(), db, liveBars{fresh}, history.WithClock(now))
	e := &testEnv{srv: New(Config{Predictor: predict.New(m, bars), History: bars, Model: m.Meta.Summary(),
		Symbol: m.Meta.Symbol, Ledger: db, StoreHealth: db.Damaged})}
	defer e.srv.Close(ctx)

	target := last.Date.AddDays(3)
	w := e.do("GET", "/predict?date="+target.String(), "")
	if w.Code != 200 {
		t.Fatalf("forecast of %s with the store locked: %d %s; want 200 from the fetched bars", target, w.Code, w.Body)
	}
	if w := e.do("GET", "/readyz", ""); w.Code != 200 {
		t.Fatalf("readyz with a busy (not damaged) store: %d %s", w.Code, w.Body)
	}
}
