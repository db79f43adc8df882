package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/internal/atomicfile"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
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
	bars := history.New(marketdata.Embedded(), nil, nil)
	srv := httptest.NewServer(server.New(server.Config{
		Predictor: predict.New(m, bars), History: bars, Model: m.Meta, Symbol: m.Meta.Symbol, Dashboard: FS,
	}))
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
