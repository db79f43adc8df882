package serving

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/sqlite"
)

// countingSource is a live provider that counts what it is asked and has
// nothing: every fetch fails as an unreachable provider would.
type countingSource struct{ n int }

func (c *countingSource) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	c.n++
	return closecast.Series{}, closecast.ErrUnavailable
}

// TestNewWiresTheChain: the server New builds forecasts with the given
// model from the embedded data (the same value predict gives in-process),
// describes that model at /api/model, keeps the caller's settings (a
// symbol allow-list) and reports the live provider's fetches at /metrics.
func TestNewWiresTheChain(t *testing.T) {
	m, err := models.Load("")
	if err != nil {
		t.Fatal(err)
	}
	live := &countingSource{}
	srv := New(Options{Model: m, Live: live, Server: server.Config{Symbols: []string{"ETH-USD"}}})
	defer srv.Close(context.Background())
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		return w
	}

	series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := series.Last()
	day := last.AddDays(-10)
	want, err := predict.New(m, history.New(marketdata.Embedded(), nil, nil)).Predict(context.Background(), m.Meta.Symbol, day)
	if err != nil {
		t.Fatal(err)
	}
	w := get("/predict?date=" + day.String())
	var got server.PredictResponse
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil {
		t.Fatalf("/predict: %d %s", w.Code, w.Body)
	}
	if got.Prediction != want.Value || got.Symbol != m.Meta.Symbol || got.Model != m.Meta.Version {
		t.Errorf("/predict = %v %s %s; want %v %s %s", got.Prediction, got.Symbol, got.Model, want.Value, m.Meta.Symbol, m.Meta.Version)
	}

	var meta struct {
		Version string `json:"version"`
		Symbol  string `json:"symbol"`
	}
	if w := get("/api/model"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &meta) != nil || meta.Version != m.Meta.Version || meta.Symbol != m.Meta.Symbol {
		t.Errorf("/api/model: %d %s", w.Code, w.Body)
	}
	if w := get("/predict?symbol=SPY&date=" + day.String()); w.Code != http.StatusNotFound {
		t.Errorf("/predict of a symbol not allowed: %d, want 404", w.Code)
	}
	// Days after the embedded data are asked of the live provider (which
	// fails): the chain's provider counters show it.
	if w := get("/predict?date=" + last.AddDays(3).String()); w.Code != http.StatusServiceUnavailable || live.n != 1 {
		t.Errorf("/predict past the data: %d after %d fetches; want 503 after one: %s", w.Code, live.n, w.Body)
	}
	metrics := get("/metrics").Body.String()
	if !strings.Contains(metrics, "closecast_provider_fetches_total 1") {
		t.Errorf("/metrics lacks the provider's one fetch:\n%s", metrics)
	}
	if w := get("/"); w.Code != 200 || !strings.Contains(w.Body.String(), "<html") {
		t.Errorf("dashboard at /: %d", w.Code)
	}
}

// TestNewWithAStore: bars and the ledger come from the store the caller
// opened (a real SQLite file here): /api/accuracy is served from it, and
// without one it is a 404 no_ledger, as on the Lambda.
func TestNewWithAStore(t *testing.T) {
	m, err := models.Load("")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	with := New(Options{Model: m, Store: db, Server: server.Config{Ledger: db, StoreHealth: db.Damaged}})
	defer with.Close(context.Background())
	without := New(Options{Model: m})
	defer without.Close(context.Background())
	for _, tc := range []struct {
		name string
		srv  *server.Server
		want int
	}{{"with a ledger", with.Server, http.StatusOK}, {"without", without.Server, http.StatusNotFound}} {
		w := httptest.NewRecorder()
		tc.srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/accuracy", nil))
		if w.Code != tc.want {
			t.Errorf("%s: /api/accuracy %d, want %d: %s", tc.name, w.Code, tc.want, w.Body)
		}
	}
	w := httptest.NewRecorder()
	with.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusOK {
		t.Errorf("/readyz with a sound store: %d %s", w.Code, w.Body)
	}
}
