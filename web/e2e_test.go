package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/internal/atomicfile"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/metrics"
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
	// The shipped model is 0.1 % from persistence on the hold-out: level,
	// not better, by the Diebold–Mariano test stored with it, whose p-value
	// the header shows and the explanation names. Persistence's direction
	// hit rate is undefined on the page, and no cell of that column is best
	// but the highest defined one.
	h := m.Meta.Metrics.Holdout
	if h.VersusPersistence == nil || h.VersusPersistence.P < metrics.Significance {
		t.Fatalf("the shipped model's hold-out stores no level Diebold–Mariano test: %+v", h.VersusPersistence)
	}
	if want, got := fmt.Sprintf("level with persistence (MAE %s against %s; Diebold–Mariano p = %.2f)", usd(h.Model.MAE), usd(h.Persistence.MAE), h.VersusPersistence.P), text(t, b, "#model-holdout"); got != want {
		t.Errorf("hold-out header %q, want %q", got, want)
	}
	if got := text(t, b, "#metrics-level"); !strings.Contains(got, "Diebold–Mariano test") || !strings.Contains(got, fmt.Sprintf("p = %.2f", h.VersusPersistence.P)) {
		t.Errorf("the explanation does not name the test that decided: %q", got)
	}
	if got := text(t, b, "#metrics-holdout tbody tr:nth-child(2) td[data-key=direction]"); got != "–" {
		t.Errorf("persistence's direction hit rate shown %q, want –", got)
	}
	if got := eval[bool](t, b, `document.querySelector('#metrics-holdout tbody tr:nth-child(2) td[data-key=direction]').classList.contains('best')`); got {
		t.Error("persistence's undefined direction hit rate is marked best")
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
	// A 7-day horizon straddling the data's end (2026-03-31): the table
	// shows what POST /predict answers, day by day, and the chart its band.
	const hday = "2026-03-28"
	resp, err = http.Post(srv.URL+"/predict", "application/json", strings.NewReader(`{"date":"`+hday+`","horizon":7}`))
	if err != nil {
		t.Fatal(err)
	}
	var hz server.HorizonResponse
	if err := json.NewDecoder(resp.Body).Decode(&hz); err != nil || resp.StatusCode != 200 || len(hz.Forecasts) != 7 || hz.Interval == nil {
		t.Fatalf("POST /predict horizon 7: %d %v %+v", resp.StatusCode, err, hz)
	}
	resp.Body.Close()
	b.do(t, "predict 7 days from "+hday, chromedp.SetValue(chromedp.CSS("#horizon"), "7"),
		chromedp.SetValue(chromedp.CSS("#date"), hday), chromedp.Click(chromedp.CSS("#predict-btn")))
	b.waitFor(t, "horizon table", `document.getElementById('predict-form').dataset.state === 'done' && document.querySelectorAll('#horizon-table tbody tr').length === 7`)
	if got := text(t, b, "#result-prediction"); got != usd(hz.Prediction) {
		t.Errorf("page shows %q for day 1, the API answered %s", got, usd(hz.Prediction))
	}
	for i, f := range hz.Forecasts {
		cell := func(k string) string {
			return text(t, b, "#horizon-table tbody tr:nth-child("+strconv.Itoa(i+1)+") td[data-key="+k+"]")
		}
		if got := cell("prediction"); got != usd(f.Prediction) {
			t.Errorf("day %s forecast %q, the API answered %s", f.Date, got, usd(f.Prediction))
		}
		if f.P10 == nil || f.P90 == nil || cell("p10") != usd(*f.P10) || cell("p90") != usd(*f.P90) {
			t.Errorf("day %s band %q..%q, the API answered %v..%v", f.Date, cell("p10"), cell("p90"), f.P10, f.P90)
		}
		if known := f.Date <= closecast.MustParseDate("2026-03-31"); known != (f.Actual != nil) || known && cell("actual") != usd(*f.Actual) {
			t.Errorf("day %s actual %q, the API answered %v", f.Date, cell("actual"), f.Actual)
		}
	}
	if got := eval[string](t, b, `document.getElementById('chart').dataset.bandPoints`); got != "7" {
		t.Errorf("band points on the chart: %q, want 7", got)
	}
	// The shipped model is calibrated, so the band is conformal and says on what.
	if c := hz.Interval.Calibration; hz.Interval.Method != "conformal" || c == nil {
		t.Errorf("interval %+v, want conformal", hz.Interval)
	} else if got := text(t, b, "#horizon-band"); !strings.Contains(got, "conformal 80 % interval") || !strings.Contains(got, strconv.Itoa(c.Days)+" days") {
		t.Errorf("band note %q, want the conformal one with %d days", got, c.Days)
	}
	if got := text(t, b, "#horizon-steps"); !strings.Contains(got, "recursive") {
		t.Errorf("multi-step note %q", got)
	}
	b.waitFor(t, "the band on the canvas", `(() => { const p = `+bandPixels+`; return p > 20; })()`)
	b.do(t, "back to one day", chromedp.SetValue(chromedp.CSS("#horizon"), "1"))

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
	// A server older than multi-market serving answers GET /api/models 404.
	if errs := b.consoleErrors(t, "/predict", "/api/models"); len(errs) > 0 {
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
