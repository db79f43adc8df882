package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/sqlite"
)

// TestLiveDistributionOnRealServer: with a ledger of scored forecasts
// that kept their distributions, the real server's /api/accuracy scores
// them against the baselines (evaluate.Live, as closecast serve wires
// it), and the live panel shows exactly those figures.
func TestLiveDistributionOnRealServer(t *testing.T) {
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := series.Last()
	// Ten scored days, forecast by the model itself with its conformal
	// distribution, as closecast serve records them.
	if _, _, err := store.Upsert(ctx, m.Meta.Symbol, series.Between(last.AddDays(-9), last).Bars); err != nil {
		t.Fatal(err)
	}
	svc := predict.New(m, history.New(marketdata.Embedded(), nil, nil))
	var ps []closecast.Prediction
	for d := last.AddDays(-9); d <= last; d++ {
		h, err := svc.PredictHorizon(ctx, m.Meta.Symbol, d, closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalConformal, Levels: closecast.DistributionLevels[:]})
		if err != nil {
			t.Fatal(err)
		}
		p := h.First
		p.Actual, p.Quantiles = nil, (*closecast.Distribution)(h.Days[0].Quantiles)
		ps = append(ps, p)
	}
	if err := store.Record(ctx, time.Unix(1, 0), ps); err != nil {
		t.Fatal(err)
	}
	bars := history.New(marketdata.Embedded(), store, nil)
	handler := server.New(server.Config{
		Predictor: svc, History: bars, Model: m.Meta, Symbol: m.Meta.Symbol, Dashboard: FS, Ledger: store,
		Distribution: evaluate.NewLive(store, bars, evaluate.ACI{Gamma: evaluate.ACIGamma}),
	})
	defer handler.Close(ctx)
	srv := httptest.NewServer(handler)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/api/accuracy?symbol=" + m.Meta.Symbol + "&days=30")
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		Distribution map[string]any `json:"distribution"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/api/accuracy: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	d := acc.Distribution
	if d == nil || d["n"] != float64(10) || len(d["baselines"].([]any)) != 5 {
		t.Fatalf("distribution %v; want 10 days and five baselines", d)
	}
	d["n"] = 10 // as the page's dataset reads it back

	b := newBrowser(t)
	b.do(t, "load", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.URL+"/"))
	b.waitReady(t, "page ready")
	b.waitFor(t, "the distribution table", `document.querySelectorAll('#live-dist tbody tr').length === 3`)
	checkLiveDistribution(t, b, d)
	if errs := b.consoleErrors(t, "/api/models"); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}
