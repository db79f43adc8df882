package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/closecast/closecast/metrics"
)

// TestDashboardVerdictFromDieboldMariano checks that a model storing the
// Diebold–Mariano test against persistence (versus_persistence) is judged by
// it, not by metrics.LevelTolerance: 1 % better with p = 0.003 is better,
// 5 % worse with p = 0.3 is level, and the header shows the p-value while
// the explanation names the test, in both languages.
func TestDashboardVerdictFromDieboldMariano(t *testing.T) {
	// Each load gets its own fake API, so that no server goroutine reads
	// the model while the test edits it.
	pMAE := 0.0
	b := newBrowser(t)
	load := func(t *testing.T, path string, rel float64, vp map[string]any) (mMAE float64) {
		t.Helper()
		api := newFakeAPI(t)
		h := api.model["metrics"].(map[string]any)["holdout"].(map[string]any)
		pMAE = h["persistence"].(map[string]any)["mae"].(float64)
		mMAE = pMAE * (1 + rel)
		h["model"].(map[string]any)["mae"] = mMAE
		h["versus_persistence"] = vp
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		b.do(t, "load "+path, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.URL+path))
		b.waitReady(t, "page ready at "+path)
		return mMAE
	}
	verdicts := func(t *testing.T) int {
		t.Helper()
		return eval[int](t, b, `document.querySelectorAll('#model-holdout .good, #model-holdout .bad').length`)
	}

	t.Run("significant inside the threshold", func(t *testing.T) {
		mMAE := load(t, "/?lang=en", -metrics.LevelTolerance/2, map[string]any{"dm": -2.98, "p": 0.003, "n": 300, "verdict": "better"})
		want := usd(mMAE) + " vs " + usd(pMAE) + " for persistence (model better by 1.0%; Diebold–Mariano p = 0.003)"
		if got := text(t, b, "#model-holdout"); got != want {
			t.Errorf("hold-out header %q, want %q", got, want)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#model-holdout .good').length`); n != 1 {
			t.Errorf("a significantly better model is not shown as good (%d .good)", n)
		}
		if got := text(t, b, "#metrics-level"); !strings.Contains(got, "Diebold–Mariano test") || !strings.Contains(got, "p = 0.003") || !strings.Contains(got, "within 2%") {
			t.Errorf("explanation %q does not name the test that decided (and the tables' 2%% rule)", got)
		}
	})

	t.Run("not significant outside the threshold", func(t *testing.T) {
		mMAE := load(t, "/?lang=en", 0.05, map[string]any{"dm": 1.04, "p": 0.3, "n": 300, "verdict": "level"})
		want := "level with persistence (MAE " + usd(mMAE) + " against " + usd(pMAE) + "; Diebold–Mariano p = 0.30)"
		if got := text(t, b, "#model-holdout"); got != want {
			t.Errorf("hold-out header %q, want %q", got, want)
		}
		if n := verdicts(t); n != 0 {
			t.Errorf("a level model is coloured as a verdict (%d elements)", n)
		}
		load(t, "/?lang=pt-BR", 0.05, map[string]any{"dm": 1.04, "p": 0.3, "n": 300, "verdict": "level"})
		want = "empatado com a persistência (MAE " + ptUSD(mMAE) + " contra " + ptUSD(pMAE) + "; Diebold–Mariano p = 0,30)"
		if got := strings.ReplaceAll(text(t, b, "#model-holdout"), "\u00a0", " "); got != want {
			t.Errorf("hold-out header %q, want %q", got, want)
		}
		if got := text(t, b, "#metrics-level"); !strings.Contains(got, "teste de Diebold–Mariano") || !strings.Contains(got, "p = 0,30") {
			t.Errorf("Portuguese explanation %q does not name the test that decided", got)
		}
	})
}
