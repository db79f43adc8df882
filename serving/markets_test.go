package serving

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/server"
)

// embeddedModels loads every embedded model.
func embeddedModels(t *testing.T) []*artifact.Model {
	t.Helper()
	var ms []*artifact.Model
	for _, sym := range models.Symbols() {
		m, err := models.Embedded(sym)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

func serve(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	h.ServeHTTP(w, r)
	return w
}

// TestServesEveryEmbeddedMarket: one server with the BTC-USD and ETH-USD
// models answers both, each with its own model's version (POST and GET,
// no symbol meaning BTC-USD); an unserved symbol is a 404 listing both and
// never reaches the live provider; /api/models lists both with hold-out
// errors beside persistence's; /api/model?symbol= describes each.
func TestServesEveryEmbeddedMarket(t *testing.T) {
	ms := embeddedModels(t)
	if len(ms) < 2 {
		t.Fatalf("want at least BTC-USD and ETH-USD embedded, got %d", len(ms))
	}
	live := &countingSource{}
	srv := New(Options{Models: ms, Live: live})
	defer srv.Close(context.Background())

	for _, m := range ms {
		series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
		if err != nil {
			t.Fatal(err)
		}
		last, _ := series.Last()
		day := last.AddDays(-5).String()
		for _, req := range []struct{ method, target, body string }{
			{"GET", "/predict?symbol=" + strings.ToLower(m.Meta.Symbol) + "&date=" + day, ""},
			{"POST", "/predict", `{"symbol": "` + m.Meta.Symbol + `", "date": "` + day + `"}`},
		} {
			w := serve(srv, req.method, req.target, req.body)
			var got server.PredictResponse
			if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil {
				t.Fatalf("%s %s: %d %s", req.method, req.target, w.Code, w.Body)
			}
			if got.Symbol != m.Meta.Symbol || got.Model != m.Meta.Version {
				t.Errorf("%s %s: symbol %s model %s, want %s %s", req.method, req.target, got.Symbol, got.Model, m.Meta.Symbol, m.Meta.Version)
			}
		}
		var meta struct{ Version, Symbol string }
		if w := serve(srv, "GET", "/api/model?symbol="+m.Meta.Symbol, ""); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &meta) != nil || meta.Version != m.Meta.Version {
			t.Errorf("/api/model?symbol=%s: %d %s", m.Meta.Symbol, w.Code, w.Body)
		}
	}
	// No symbol: BTC-USD, the reference contract.
	var got server.PredictResponse
	if w := serve(srv, "POST", "/predict", `{"date": "2025-05-01"}`); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Symbol != "BTC-USD" {
		t.Errorf("POST /predict without a symbol: %d %s, want BTC-USD", w.Code, w.Body)
	}

	for _, target := range []string{"/predict?symbol=SOL-USD&date=2025-05-01", "/api/history?symbol=SOL-USD", "/api/model?symbol=SOL-USD"} {
		w := serve(srv, "GET", target, "")
		var e struct {
			Error, Code string
			Symbols     []string
		}
		if w.Code != 404 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Code != "unknown_symbol" ||
			!slices.Equal(e.Symbols, []string{"BTC-USD", "ETH-USD"}) || e.Error != "unknown symbol: SOL-USD (served: BTC-USD, ETH-USD)" {
			t.Errorf("%s: %d %s, want 404 unknown_symbol listing BTC-USD and ETH-USD", target, w.Code, w.Body)
		}
	}
	if live.n != 0 {
		t.Errorf("unknown symbols reached the provider %d times", live.n)
	}
	// Forecast metrics are per served symbol, and only served symbols.
	metrics := serve(srv, "GET", "/metrics", "").Body.String()
	for _, want := range []string{`closecast_prediction_duration_seconds_count{symbol="ETH-USD"} 2` + "\n",
		`closecast_prediction_duration_seconds_count{symbol="BTC-USD"} 3` + "\n"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "SOL-USD") {
		t.Error("/metrics has a series of an unserved symbol")
	}

	var list struct {
		Default string `json:"default"`
		Models  []struct {
			Symbol    string   `json:"symbol"`
			Version   string   `json:"version"`
			Window    int      `json:"window"`
			LastKnown *string  `json:"last_known"`
			LastClose *float64 `json:"last_close"`
			Holdout   *struct {
				From, To    string
				Model       map[string]*float64
				Persistence map[string]*float64
			} `json:"holdout"`
		} `json:"models"`
	}
	w := serve(srv, "GET", "/api/models", "")
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &list) != nil {
		t.Fatalf("/api/models: %d %s", w.Code, w.Body)
	}
	if list.Default != "BTC-USD" || len(list.Models) != len(ms) {
		t.Fatalf("/api/models: %s", w.Body)
	}
	for i, m := range ms { // models.Symbols is sorted with BTC-USD first
		row := list.Models[i]
		ho := m.Meta.Metrics.Holdout
		if row.Symbol != m.Meta.Symbol || row.Version != m.Meta.Version || row.Window != m.Meta.Window {
			t.Errorf("/api/models row %d = %+v, want %s %s", i, row, m.Meta.Symbol, m.Meta.Version)
		}
		if row.Holdout == nil || ho == nil || row.Holdout.Model["mae"] == nil || *row.Holdout.Model["mae"] != ho.Model.MAE ||
			row.Holdout.Persistence["mae"] == nil || *row.Holdout.Persistence["mae"] != ho.Persistence.MAE || row.Holdout.From != ho.From.String() {
			t.Errorf("/api/models %s hold-out = %+v, want the artifact's beside persistence", row.Symbol, row.Holdout)
		}
	}
}

// TestSwapServesTheNewModel: Swap replaces the served set whole, and the
// cached answers of a symbol whose model changed are not served again.
func TestSwapServesTheNewModel(t *testing.T) {
	ms := embeddedModels(t)
	srv := New(Options{Models: ms[:1], Server: server.Config{CacheTTL: 1 << 40}})
	defer srv.Close(context.Background())
	if w := serve(srv, "GET", "/predict?symbol=ETH-USD&date=2025-05-01", ""); w.Code != 404 {
		t.Fatalf("ETH-USD before the swap: %d %s", w.Code, w.Body)
	}
	before := serve(srv, "GET", "/predict?date=2025-05-01", "").Body.String()
	// A second BTC-USD "version": the same weights under another name.
	renamed := *ms[0]
	renamed.Meta.Version = ms[0].Meta.Version + "-renamed"
	srv.Swap([]*artifact.Model{&renamed, ms[1]})
	var got server.PredictResponse
	w := serve(srv, "GET", "/predict?date=2025-05-01", "")
	if json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Model != renamed.Meta.Version {
		t.Errorf("after the swap: %s (before: %s), want model %s", w.Body, before, renamed.Meta.Version)
	}
	if w := serve(srv, "GET", "/predict?symbol=ETH-USD&date=2025-05-01", ""); w.Code != 200 {
		t.Errorf("ETH-USD after the swap: %d %s", w.Code, w.Body)
	}
	if v := srv.Markets(); v["BTC-USD"] != renamed.Meta.Version || v["ETH-USD"] != ms[1].Meta.Version {
		t.Errorf("Markets() = %v", v)
	}
}
