package web

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/internal/atomicfile"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/sqlite"
)

// TestDashboardOnRealServer drives the page served by the real server with
// the shipped model and the embedded data (offline): what the page shows is
// what the API answers. CLOSECAST_UPDATE_SCREENSHOT=1 refreshes
// docs/dashboard.png, the README's picture.
func TestDashboardOnRealServer(t *testing.T) {
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	// A store as closecast serve has: the bars' cache and the ledger of
	// live forecasts behind the live accuracy panel.
	store, err := sqlite.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	bars := history.New(marketdata.Embedded(), store, nil)
	handler := server.New(server.Config{
		Predictor: predict.New(m, bars), History: bars, Model: m.Meta, Symbol: m.Meta.Symbol, Dashboard: FS, Ledger: store,
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	b := newBrowser(t)
	b.do(t, "load", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.URL+"/"))
	b.waitReady(t, "page ready")
	if got := text(t, b, "#model-version"); got != m.Meta.Version {
		t.Errorf("model version shown %q, want %q", got, m.Meta.Version)
	}
	if got := eval[string](t, b, `document.getElementById('date').value`); got != "2026-04-01" {
		t.Errorf("default date %q, want the day after the embedded data, 2026-04-01", got)
	}
	b.waitFor(t, "candles", `(() => { const p = `+chartPixels+`; return p.up > 200 && p.down > 200; })()`)
	if got := text(t, b, "#live-empty"); !strings.HasPrefix(got, "No live predictions scored yet") {
		t.Errorf("live accuracy with an empty ledger: %q", got)
	}

	// A past day: the page must show exactly what POST /predict answers.
	const day = "2025-07-10"
	resp, err := http.Post(srv.URL+"/predict", "application/json", strings.NewReader(`{"date":"`+day+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var api struct {
		Prediction float64 `json:"prediction"`
		LastClose  float64 `json:"last_close"`
		Actual     float64 `json:"actual"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&api); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /predict: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	b.do(t, "predict "+day, chromedp.SetValue(chromedp.CSS("#date"), day), chromedp.Click(chromedp.CSS("#predict-btn")))
	b.waitFor(t, "answer", `document.getElementById('predict-form').dataset.state === 'done'`)
	if got := text(t, b, "#result-prediction"); got != usd(api.Prediction) {
		t.Errorf("page shows %q, the API answered %s", got, usd(api.Prediction))
	}
	if got := text(t, b, "#result-last-close"); got != usd(api.LastClose) {
		t.Errorf("last close %q, want %s", got, usd(api.LastClose))
	}
	if got := text(t, b, "#result-actual"); !strings.HasPrefix(got, usd(api.Actual)) {
		t.Errorf("actual %q, want %s", got, usd(api.Actual))
	}
	// Back to the default day for the picture: the forecast past the data.
	b.do(t, "predict 2026-04-01", chromedp.SetValue(chromedp.CSS("#date"), "2026-04-01"), chromedp.Click(chromedp.CSS("#predict-btn")))
	b.waitFor(t, "answer", `document.getElementById('predict-form').dataset.state === 'done' && document.getElementById('result-actual').textContent.includes('not known')`)
	shots := t.TempDir()
	shot := b.screenshot(t, shots, "desktop-real.png")

	// A day past the data: the server's 422 with the valid range, in the page.
	b.do(t, "predict 2026-06-01", chromedp.SetValue(chromedp.CSS("#date"), "2026-06-01"), chromedp.Click(chromedp.CSS("#predict-btn")))
	b.waitFor(t, "error", `document.getElementById('predict-form').dataset.state === 'error'`)
	if got := text(t, b, "#predict-error"); !strings.Contains(got, "to 2026-04-01") {
		t.Errorf("422 shown as %q", got)
	}
	if errs := b.consoleErrors("/predict"); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}

	// The forecast of 2026-04-01 (the day after the data) was live: once
	// that day's close is stored, the panel shows it scored.
	resp, err = http.Post(srv.URL+"/predict", "application/json", strings.NewReader(`{"date":"2026-04-01"}`))
	if err != nil {
		t.Fatal(err)
	}
	var live struct {
		Prediction float64 `json:"prediction"`
		LastClose  float64 `json:"last_close"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&live); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /predict 2026-04-01: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if err := handler.Close(context.Background()); err != nil { // flush the ledger's queue
		t.Fatal(err)
	}
	closeApr1 := live.LastClose * 1.02
	apr1 := closecast.Bar{Date: closecast.MustParseDate("2026-04-01"), Open: live.LastClose, High: closeApr1, Low: live.LastClose, Close: closeApr1, Volume: 1}
	if _, _, err := store.Upsert(context.Background(), "BTC-USD", []closecast.Bar{apr1}); err != nil {
		t.Fatal(err)
	}
	b.do(t, "reload", chromedp.Reload())
	b.waitReady(t, "page ready with a scored forecast")
	if n := eval[int](t, b, `document.querySelectorAll('#live-rows tbody tr').length`); n != 1 {
		t.Fatalf("live table has %d rows, want 1", n)
	}
	for k, want := range map[string]float64{"predicted": live.Prediction, "actual": closeApr1, "persistence_error": closeApr1 - live.LastClose} {
		if got := text(t, b, "#live-rows tbody tr td[data-key="+k+"]"); got != usd(want) {
			t.Errorf("live %s shown %q, want %s", k, got, usd(want))
		}
	}
	if got := strings.TrimSuffix(text(t, b, "#live-summary tbody tr:nth-child(1) td[data-key=mae]"), " (best)"); got != strings.TrimPrefix(usd(math.Abs(live.Prediction-closeApr1)), "$") {
		t.Errorf("live model MAE shown %q, want %s", got, usd(math.Abs(live.Prediction-closeApr1)))
	}
	if os.Getenv("CLOSECAST_UPDATE_SCREENSHOT") == "1" {
		png, err := os.ReadFile(shot)
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("screenshot: %v", err)
		}
		if err := atomicfile.Write(filepath.Join("..", "docs", "dashboard.png"), png); err != nil {
			t.Fatal(err)
		}
	}
}
