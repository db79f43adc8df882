package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
