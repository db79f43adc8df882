package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/yahoo"
	"github.com/closecast/closecast/yahoo/yahootest"
)

// TestOnlyServedSymbolsReachTheProvider wires the production chain (the
// embedded data, then the real Yahoo client against the fake) and asks for
// a symbol the fake knows but the server does not serve: every route
// answers 404 unknown_symbol and the fake sees no request. A symbol on the
// --symbols list is fetched, which shows the chain does reach the fake.
func TestOnlyServedSymbolsReachTheProvider(t *testing.T) {
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	fake := yahootest.New()
	t.Cleanup(fake.Close)
	emb, err := marketdata.Embedded().Bars(context.Background(), "BTC-USD", closecast.MustParseDate("2025-01-01"), closecast.MustParseDate("2025-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	fake.AddBars("SOL-USD", emb.Bars)
	fake.AddBars("ADA-USD", emb.Bars)
	client := &yahoo.Client{BaseURL: fake.URL, BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond, AttemptTimeout: 5 * time.Second}
	bars := history.New(marketdata.Embedded(), nil, client)
	e := &testEnv{srv: New(Config{Predictor: predict.New(m, bars), History: bars, Model: m.Meta, Symbol: m.Meta.Symbol,
		Symbols: []string{"ada-usd", "eth-usd"}})}
	for _, target := range []string{
		"/api/history?symbol=SOL-USD",
		"/api/history?symbol=sol-usd&from=2025-03-01&to=2025-03-31",
		"/predict?date=2025-06-01&symbol=SOL-USD",
		"/predict?date=2025-06-01&symbol=SOL-USD&horizon=3",
	} {
		w := e.do("GET", target, "")
		b := decodeBody[errorBody](t, w)
		if w.Code != 404 || b.Code != codeUnknownSymbol || !strings.Contains(b.Error, "served: ADA-USD, BTC-USD, ETH-USD") {
			t.Errorf("%s: %d %s, want 404 unknown_symbol naming the served symbols", target, w.Code, w.Body)
		}
	}
	if w := e.do("POST", "/predict", `{"date":"2025-06-01","symbol":"SOL-USD"}`); w.Code != 404 {
		t.Errorf("POST /predict SOL-USD: %d %s", w.Code, w.Body)
	}
	if n := fake.Requests(); n != 0 {
		t.Fatalf("the provider was asked %d times for a symbol the server does not serve", n)
	}
	w := e.do("GET", "/api/history?symbol=ADA-USD&from=2025-03-01&to=2025-03-31", "")
	if w.Code != 200 || len(decodeBody[historyResponse](t, w).Bars) != 31 {
		t.Fatalf("allowed ADA-USD: %d %.200s", w.Code, w.Body)
	}
	if fake.Requests() == 0 {
		t.Error("an allowed symbol was not fetched: the test does not exercise the provider")
	}
}
