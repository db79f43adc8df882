package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/closecast/closecast"
	"github.com/closecast/closecast/internal/atomicfile"
	"github.com/closecast/closecast/metrics"
)

// chromiumPath finds the browser: $CLOSECAST_CHROMIUM, /usr/bin/chromium, or
// chromium on $PATH. Without one the browser tests fail under CI (CI=true),
// which must install Debian's chromium, and skip elsewhere.
func chromiumPath(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("CLOSECAST_CHROMIUM"), "/usr/bin/chromium"}
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			cands = append(cands, p)
		}
	}
	for _, p := range cands {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (CI must `apt-get install -y chromium`, or set CLOSECAST_CHROMIUM)")
	}
	t.Skip("chromium not found; install Debian's chromium or set CLOSECAST_CHROMIUM")
	return ""
}

// browser is one headless Chromium with one tab, plus everything the page
// wrote to its console.
type browser struct {
	ctx     context.Context
	mu      sync.Mutex
	log     []chromedp.ConsoleMessage
	barrier int // markers logged by consoleErrors so far
}

// newBrowser starts Chromium; extra options (a --lang flag) are added to
// the defaults.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	path := chromiumPath(t)
	// A Chromium process now and then exits before it answers (seen about
	// once in twenty test binaries on a loaded machine, with no output).
	// That is the browser failing to start, not the page failing a check,
	// so a fresh process with a fresh profile is tried, a few times.
	const attempts = 3
	var ctx context.Context
	for i := 1; ; i++ {
		var err error
		if ctx, err = startBrowser(t, path, extra); err == nil {
			break
		}
		if i == attempts {
			t.Fatalf("starting Chromium, %d attempts: %v", attempts, err)
		}
		t.Logf("starting Chromium (attempt %d of %d): %v", i, attempts, err)
	}
	b := &browser{ctx: ctx}
	msgs := chromedp.Console(ctx) // subscribes before any page loads
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.log = append(b.log, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// startBrowser starts one Chromium process with its own profile and
// returns its context, stopped at the test's end. It starts the browser
// before returning: an allocation that failed would otherwise be retried
// by the next action on the same context, and chromedp would then close
// that context's channel twice (a panic).
func startBrowser(t *testing.T, path string, extra []chromedp.ExecAllocatorOption) (context.Context, error) {
	profile := t.TempDir() // registered before the cancels, so removed after the browser exits
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		return nil, err
	}
	return ctx, nil
}

// consoleErrors returns the console errors and uncaught exceptions so far,
// except the browser's network log entries for 4xx/5xx answers from the
// given paths, which a test provoked on purpose.
func (b *browser) consoleErrors(t *testing.T, expectedFailures ...string) []string {
	t.Helper()
	// Console events arrive in order: once a marker logged now has arrived,
	// so has everything logged before it, however slow the machine.
	b.barrier++
	mark := fmt.Sprintf("closecast-test-barrier-%d", b.barrier)
	b.do(t, "log "+mark, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("console.info(%q)", mark)))
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard)
	defer cancel()
	for !b.logged(mark) {
		select {
		case <-ctx.Done():
			t.Fatalf("console marker %s never arrived", mark)
		case <-time.After(10 * time.Millisecond):
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
next:
	for _, m := range b.log {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		if m.Source == "network" {
			for _, p := range expectedFailures {
				if strings.HasSuffix(strings.SplitN(m.URL, "?", 2)[0], p) {
					continue next
				}
			}
		}
		out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
	}
	return out
}

// logged reports whether the page has logged text to its console.
func (b *browser) logged(text string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.log {
		if strings.Contains(m.String(), text) {
			return true
		}
	}
	return false
}

// hangGuard bounds every wait on the browser. It only stops a hung test:
// waits poll for a condition and return as soon as it holds, so a slow,
// loaded machine takes longer but never fails for it.
const hangGuard = 90 * time.Second

// do runs actions with a deadline, failing the test on error.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func text(t *testing.T, b *browser, sel string) string {
	t.Helper()
	return eval[string](t, b, fmt.Sprintf(`(document.querySelector(%q) || {textContent: "<missing %s>"}).textContent.trim()`, sel, sel))
}

// waitReady waits for the page's first render and fails with what the page
// and its console said if the page reports an error instead.
func (b *browser) waitReady(t *testing.T, what string) {
	t.Helper()
	b.waitFor(t, what, `document.body && ['ready', 'error'].includes(document.body.dataset.state)`)
	if st := eval[string](t, b, `document.body.dataset.state`); st != "ready" {
		t.Fatalf("%s: page state %q: %s; console: %q", what, st, text(t, b, "#fatal"), b.consoleErrors(t))
	}
}

// waitFor polls a JavaScript expression until it is truthy.
func (b *browser) waitFor(t *testing.T, what, js string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js)); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, js, err)
	}
}

func (b *browser) screenshot(t *testing.T, dir, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hangGuard)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := atomicfile.Write(p, png); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", p, len(png))
	return p
}

// usd formats v as en-US dollars, "$1,234.56" or "-$1,234.56", as
// Intl.NumberFormat does, so the test can compare what the page shows.
func usd(v float64) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var g []string
	for len(intPart) > 3 {
		g = append([]string{intPart[len(intPart)-3:]}, g...)
		intPart = intPart[:len(intPart)-3]
	}
	g = append([]string{intPart}, g...)
	out := "$" + strings.Join(g, ",") + "." + frac
	if v < 0 && s != "0.00" {
		out = "-" + out
	}
	return out
}

// showsCents reports whether shown ("$1,234.57", "-$3.10", "+$0.25") is v
// rounded to cents, sign included. Intl rounds a half cent away from zero
// and strconv to even, so one cent either way of an exact half is accepted.
func showsCents(shown string, v float64) bool {
	s := strings.NewReplacer("$", "", ",", "", "+", "").Replace(shown)
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || (v > 0.005 && !strings.HasPrefix(shown, "$") && !strings.HasPrefix(shown, "+$")) {
		return false
	}
	return math.Abs(x-v) <= 0.005+1e-9*math.Abs(v)
}

func TestUSD(t *testing.T) {
	for v, want := range map[float64]string{0: "$0.00", 5.5: "$5.50", 1234.567: "$1,234.57", -98765432.1: "-$98,765,432.10", 999.999: "$1,000.00"} {
		if got := usd(v); got != want {
			t.Errorf("usd(%v) = %q, want %q", v, got, want)
		}
	}
}

// chartPixels reports, for the largest canvas of the price chart, how many
// pixels have the candles' up and down colours (see COLORS in chart.js).
const chartPixels = `(() => {
  let best = null;
  for (const c of document.querySelectorAll('#chart canvas')) {
    if (!c.width || !c.height) continue;
    if (!best || c.width * c.height > best.width * best.height) best = c;
  }
  if (!best) return {up: 0, down: 0, other: 0};
  const d = best.getContext('2d').getImageData(0, 0, best.width, best.height).data;
  const near = (i, r, g, b) => Math.abs(d[i]-r) + Math.abs(d[i+1]-g) + Math.abs(d[i+2]-b) < 24;
  let up = 0, down = 0, other = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i+3] === 0) continue;
    if (near(i, 0x0a, 0x7d, 0x4f)) up++;
    else if (near(i, 0xc6, 0x28, 0x28)) down++;
    else if (!(d[i] > 240 && d[i+1] > 240 && d[i+2] > 240)) other++;
  }
  return {up, down, other};
})()`

// bandPixels counts the pixels of the chart's pane in the band's colour
// (COLORS.band, #00897b), which nothing else on the chart uses.
const bandPixels = `(() => {
  let best = null;
  for (const c of document.querySelectorAll('#chart canvas')) {
    if (!c.width || !c.height) continue;
    if (!best || c.width * c.height > best.width * best.height) best = c;
  }
  if (!best) return 0;
  const d = best.getContext('2d').getImageData(0, 0, best.width, best.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (d[i+3] > 0 && Math.abs(d[i]-0x00) + Math.abs(d[i+1]-0x89) + Math.abs(d[i+2]-0x7b) < 24) n++;
  return n;
})()`

// a11yProblems lists what a person with a screen reader, a keyboard or low
// vision would trip on: text below WCAG AA contrast against its background
// (4.5:1, or 3:1 for large text), form fields without a label, buttons
// without a name, and a chart without a text alternative.
const a11yProblems = `(() => {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const bg = (n) => {
    for (; n && n.nodeType === 1; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const out = [];
  const seen = new Set();
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) {
    const el = w.currentNode.parentElement;
    if (!w.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('svg, [hidden], .sr-only, #chart, noscript, .skip')) continue;
    const r = el.getBoundingClientRect();
    const st = getComputedStyle(el);
    if (!r.width || !r.height || st.visibility === 'hidden') continue;
    const L1 = lum(parse(st.color)), L2 = lum(bg(el));
    const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
    const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': ' + el.tagName + ' "' + el.textContent.trim().slice(0, 40) + '"');
  }
  for (const f of document.querySelectorAll('input, select, textarea')) {
    if (!(f.labels && f.labels.length) && !f.getAttribute('aria-label')) out.push('field without a label: #' + f.id);
  }
  for (const b of document.querySelectorAll('button')) {
    if (!(b.getAttribute('aria-label') || b.textContent).trim()) out.push('button without a name: ' + b.outerHTML.slice(0, 60));
  }
  for (const n of document.querySelectorAll('[role=img]')) {
    if (!(n.getAttribute('aria-label') || n.getAttribute('aria-labelledby'))) out.push('image without a text alternative: #' + n.id);
  }
  return out;
})()`

type pixels struct{ Up, Down, Other int }

// TestDashboardInBrowser loads the dashboard in headless Chromium against the
// fake API and uses it as a person would: reads the chart, metrics and loss
// curve, forecasts a date, hits a 422 and a 503, switches to Portuguese and
// back, and looks at it at phone width.
func TestDashboardInBrowser(t *testing.T) {
	api := newFakeAPI(t)
	srv := httptest.NewServer(api)
	defer srv.Close()
	b := newBrowser(t)
	shots := os.Getenv("CLOSECAST_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	b.do(t, "load", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.URL+"/"))
	b.waitReady(t, "page ready")
	// How long the page took is logged, not asserted: on a machine busy
	// with other work any budget would fail at random.
	t.Logf("page ready %s ms after navigation start", eval[string](t, b, `document.body.dataset.readyMs`))

	last := api.lastDate()
	next := last.AddDays(1)
	hf := api.model["predictions"].(map[string]any)["holdout"].([]map[string]any)[0]["date"].(closecast.Date)

	t.Run("header", func(t *testing.T) {
		if got := text(t, b, "h1"); got != "Bitcoin ($) price forecast BTC-USD" {
			t.Errorf("h1 = %q", got)
		}
		if got := eval[string](t, b, `document.documentElement.lang`); got != "en" {
			t.Errorf("html lang = %q, want en", got)
		}
		if got := text(t, b, "#model-version"); got != "test-fake-1" {
			t.Errorf("model version shown %q, want test-fake-1", got)
		}
		// One market served: no switcher, and the address stays as it was.
		if !eval[bool](t, b, `document.getElementById('market-box').hidden`) {
			t.Error("the market switcher is shown with one market served")
		}
		if got := eval[string](t, b, `location.search`); got != "" {
			t.Errorf("address %q after loading /, want it untouched", got)
		}
		h := api.model["metrics"].(map[string]any)["holdout"].(map[string]any)
		m, p := h["model"].(map[string]any)["mae"].(float64), h["persistence"].(map[string]any)["mae"].(float64)
		got := text(t, b, "#model-holdout")
		if !strings.Contains(got, usd(m)) || !strings.Contains(got, usd(p)) {
			t.Errorf("hold-out summary %q lacks model MAE %s and persistence MAE %s", got, usd(m), usd(p))
		}
		verdict := "model better"
		if m > p {
			verdict = "model worse"
		}
		if math.Abs(m/p-1) < metrics.LevelTolerance {
			t.Fatalf("the fake model's hold-out MAE %v is level with persistence's %v: this test wants a verdict", m, p)
		}
		if !strings.Contains(got, verdict) {
			t.Errorf("hold-out summary %q does not say %q (model %v, persistence %v)", got, verdict, m, p)
		}
	})

	t.Run("accessibility", func(t *testing.T) {
		for _, m := range eval[[]string](t, b, a11yProblems) {
			t.Error(m)
		}
		// Keyboard order from the top of a fresh page (nothing clicked yet):
		// skip link, language toggle, then the date field.
		var order []string
		for range 3 {
			b.do(t, "tab", chromedp.KeyEvent("\t"))
			order = append(order, eval[string](t, b, `(() => { const a = document.activeElement; return a.id || a.className || a.tagName; })()`))
		}
		if strings.Join(order, ",") != "skip,lang-toggle,date" {
			t.Errorf("tab order %v, want skip, lang-toggle, date", order)
		}
	})

	t.Run("history request", func(t *testing.T) {
		api.mu.Lock()
		reqs := append([]string(nil), api.historyReqs...)
		api.mu.Unlock()
		// The chart needs prices under the earliest model prediction, 30 days of context before it.
		want := "from=" + hf.AddDays(-30).String() + "&symbol=BTC-USD"
		if len(reqs) == 1 {
			if q, err := url.ParseQuery(reqs[0]); err == nil {
				reqs[0] = q.Encode() // sorted by key
			}
		}
		if len(reqs) != 1 || reqs[0] != want {
			t.Errorf("history requests %q, want one %q", reqs, want)
		}
	})

	t.Run("chart draws", func(t *testing.T) {
		b.waitFor(t, "candles on the canvas", `(() => { const p = `+chartPixels+`; return p.up > 200 && p.down > 200; })()`)
		px := eval[pixels](t, b, chartPixels)
		t.Logf("chart pixels: %+v", px)
		if px.Other < 100 {
			t.Errorf("chart has candles but no axes, grid or overlays: %+v", px)
		}
		// Overlays: the model's predictions are in the chart as line series.
		if n := eval[int](t, b, `document.querySelectorAll('#chart canvas').length`); n < 2 {
			t.Errorf("%d canvases in the chart, want the pane and its axes", n)
		}
		// Style toggle: the line view hides the candles.
		b.do(t, "line style", chromedp.Click(chromedp.CSS(`[data-style="line"]`)))
		b.waitFor(t, "line button pressed", `document.querySelector('[data-style="line"]').getAttribute('aria-pressed') === 'true'`)
		b.waitFor(t, "candles gone", `(() => { const p = `+chartPixels+`; return p.up < 50 && p.down < 50; })()`)
		b.do(t, "candle style", chromedp.Click(chromedp.CSS(`[data-style="candles"]`)))
		b.waitFor(t, "candles back", `(() => { const p = `+chartPixels+`; return p.up > 200; })()`)
	})

	t.Run("metrics and loss", func(t *testing.T) {
		for _, rng := range []string{"holdout", "validation"} {
			r := api.model["metrics"].(map[string]any)[rng].(map[string]any)
			for _, method := range []string{"model", "persistence", "ma7"} {
				row := map[string]int{"model": 1, "persistence": 2, "ma7": 3}[method]
				mae := r[method].(map[string]any)["mae"].(float64)
				sel := fmt.Sprintf("#metrics-%s tbody tr:nth-child(%d) td[data-key=mae]", rng, row)
				got := strings.TrimSuffix(text(t, b, sel), " (best)")
				if want := strings.TrimPrefix(usd(mae), "$"); got != want {
					t.Errorf("%s %s MAE shown %q, want %q", rng, method, got, want)
				}
			}
			dir := r["model"].(map[string]any)["direction"].(float64)
			got := strings.TrimSuffix(text(t, b, fmt.Sprintf("#metrics-%s tbody tr:nth-child(1) td[data-key=direction]", rng)), " (best)")
			if want := strconv.FormatFloat(dir, 'f', 1, 64) + "%"; got != want {
				t.Errorf("%s direction shown %q, want %q", rng, got, want)
			}
			// Persistence predicts no direction: null in the API, a dash on
			// the page, and the best of the column is one of the others.
			if d := r["persistence"].(map[string]any)["direction"]; d != nil {
				t.Fatalf("the fake API gives persistence a direction hit rate, %v", d)
			}
			cell := fmt.Sprintf("#metrics-%s tbody tr:nth-child(2) td[data-key=direction]", rng)
			if got := text(t, b, cell); got != "–" {
				t.Errorf("%s persistence direction shown %q, want –", rng, got)
			}
			// Best is the highest defined rate and any within the level
			// tolerance of it; persistence's undefined one never.
			ma7 := r["ma7"].(map[string]any)["direction"].(float64)
			top := math.Max(dir, ma7)
			var wantBest []int
			for row, v := range map[int]float64{1: dir, 3: ma7} {
				if v >= top*(1-metrics.LevelTolerance) {
					wantBest = append(wantBest, row)
				}
			}
			slices.Sort(wantBest)
			best := eval[[]int](t, b, fmt.Sprintf(`[1, 2, 3].filter((i) => document.querySelector('#metrics-%s tbody tr:nth-child(' + i + ') td[data-key=direction]').classList.contains('best'))`, rng))
			if !slices.Equal(best, wantBest) {
				t.Errorf("%s direction: rows %v marked best, want %v (model %v, ma7 %v)", rng, best, wantBest, dir, ma7)
			}
		}
		nTrain := len(api.model["loss_curve"].(map[string]any)["train"].([]float64))
		pts := eval[int](t, b, `document.querySelector('#loss-chart polyline.train').getAttribute('points').trim().split(/\s+/).length`)
		if pts != nTrain {
			t.Errorf("loss curve has %d points, want %d", pts, nTrain)
		}
	})

	t.Run("live accuracy", func(t *testing.T) {
		api.mu.Lock()
		reqs := append([]string(nil), api.accuracyReq...)
		api.mu.Unlock()
		if len(reqs) != 1 || reqs[0] != "days=30&symbol=BTC-USD" && reqs[0] != "symbol=BTC-USD&days=30" {
			t.Errorf("accuracy requests %q; want one for BTC-USD, 30 days", reqs)
		}
		if eval[bool](t, b, `document.getElementById('live').hidden`) {
			t.Fatal("the live accuracy panel is hidden although the ledger has scored forecasts")
		}
		want := api.accuracyBody(false)
		for row, k := range []string{"model", "persistence"} {
			st := want[k].(map[string]any)
			mae := strings.TrimSuffix(text(t, b, fmt.Sprintf("#live-summary tbody tr:nth-child(%d) td[data-key=mae]", row+1)), " (best)")
			if w := strings.TrimPrefix(usd(st["mae"].(float64)), "$"); mae != w {
				t.Errorf("live %s MAE shown %q, want %q", k, mae, w)
			}
			mape := strings.TrimSuffix(text(t, b, fmt.Sprintf("#live-summary tbody tr:nth-child(%d) td[data-key=mape]", row+1)), " (best)")
			if w := strconv.FormatFloat(st["mape"].(float64), 'f', 2, 64) + "%"; mape != w {
				t.Errorf("live %s MAPE shown %q, want %q", k, mape, w)
			}
		}
		rows := want["rows"].([]map[string]any)
		if n := eval[int](t, b, `document.querySelectorAll('#live-rows tbody tr').length`); n != len(rows) {
			t.Fatalf("live table has %d rows, want %d", n, len(rows))
		}
		for i, r := range rows {
			for _, k := range []string{"predicted", "actual", "persistence_error", "error"} {
				got := text(t, b, fmt.Sprintf("#live-rows tbody tr:nth-child(%d) td[data-key=%s]", i+1, k))
				if !showsCents(got, r[k].(float64)) {
					t.Errorf("live row %d %s shown %q, want %s", i, k, got, usd(r[k].(float64)))
				}
			}
		}
		if first := text(t, b, "#live-rows tbody tr:nth-child(1) th"); !strings.Contains(first, fmt.Sprint(last.Time().Day())) {
			t.Errorf("newest live row is %q; want %s first", first, last)
		}
		if got, want := text(t, b, "#live-pending"), fmt.Sprintf("Forecasts waiting for their day’s close: %d.", want["pending"]); got != want {
			t.Errorf("pending forecasts shown %q, want %q", got, want)
		}
		checkLiveDistribution(t, b, want["distribution"].(map[string]any))
	})

	t.Run("default date", func(t *testing.T) {
		if got := eval[string](t, b, `document.getElementById('date').value`); got != next.String() {
			t.Errorf("date input defaults to %q, want the day after the last bar, %s", got, next)
		}
		if got := text(t, b, "#date-hint"); !strings.Contains(got, next.String()) {
			t.Errorf("hint %q does not name %s", got, next)
		}
	})

	predictAt := func(t *testing.T, d string) {
		t.Helper()
		// Reset the form's state first, so that the wait below sees this
		// answer, not the previous one, whenever the click is handled.
		b.do(t, "predict "+d,
			chromedp.SetValue(chromedp.CSS("#date"), d),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('predict-form').dataset.state = 'idle'`),
			chromedp.Click(chromedp.CSS("#predict-btn")))
		b.waitFor(t, "answer", `['done', 'error'].includes(document.getElementById('predict-form').dataset.state)`)
	}

	t.Run("predict", func(t *testing.T) {
		day := last.AddDays(-10) // in the past, so the actual close is known
		predictAt(t, day.String())
		if st := eval[string](t, b, `document.getElementById('predict-form').dataset.state`); st != "done" {
			t.Fatalf("form state %q, error shown: %q", st, text(t, b, "#predict-error"))
		}
		api.mu.Lock()
		resp := api.lastPredict
		reqs := append([]string(nil), api.predictReqs...)
		api.mu.Unlock()
		var body map[string]string
		if err := json.Unmarshal([]byte(reqs[len(reqs)-1]), &body); err != nil || body["date"] != day.String() || body["symbol"] != "BTC-USD" || len(body) != 2 {
			t.Errorf("POST /predict body %q, want {date: %s, symbol: BTC-USD}", reqs[len(reqs)-1], day)
		}
		pred := resp["prediction"].(float64)
		shown := text(t, b, "#result-prediction")
		if shown != usd(pred) {
			t.Errorf("shown prediction %q, API answered %v (%s)", shown, pred, usd(pred))
		}
		if v, err := strconv.ParseFloat(eval[string](t, b, `document.getElementById('result-prediction').dataset.value`), 64); err != nil || v != pred {
			t.Errorf("data-value %v (%v), want exactly %v", v, err, pred)
		}
		if got, want := text(t, b, "#result-last-close"), usd(resp["last_close"].(float64)); got != want {
			t.Errorf("last close shown %q, want %q", got, want)
		}
		change := resp["change"].(float64)
		if got := text(t, b, "#result-change"); !strings.Contains(got, strings.TrimPrefix(usd(change), "-")) || !strings.Contains(got, strconv.FormatFloat(math.Abs(resp["change_pct"].(float64)), 'f', 2, 64)+"%") {
			t.Errorf("change shown %q, want %s and %.2f%%", got, usd(change), resp["change_pct"])
		}
		if got := text(t, b, "#result-actual"); !strings.HasPrefix(got, usd(resp["actual"].(float64))) {
			t.Errorf("actual shown %q, want %s first", got, usd(resp["actual"].(float64)))
		}
		inputs := resp["inputs"].(map[string]any)
		if got := text(t, b, "#result-window"); !strings.Contains(got, "(60 days)") {
			t.Errorf("input window shown %q, want %v days", got, inputs["days"])
		}
		var shownJSON map[string]any
		if err := json.Unmarshal([]byte(text(t, b, "#result-json")), &shownJSON); err != nil || shownJSON["prediction"] != pred || shownJSON["date"] != day.String() {
			t.Errorf("raw JSON shown %v (%v), want the API's answer", shownJSON, err)
		}
		if got := eval[string](t, b, `document.getElementById('result').getAttribute('aria-live')`); got != "polite" {
			t.Errorf("result aria-live = %q", got)
		}
		if !eval[bool](t, b, `document.getElementById('predict-error').hidden`) {
			t.Errorf("error box visible after a good answer: %q", text(t, b, "#predict-error"))
		}
		// The forecast's day after the last bar, the default, has no actual.
		predictAt(t, next.String())
		if got := text(t, b, "#result-actual"); got != "not known yet" {
			t.Errorf("actual for %s shown %q, want 'not known yet'", next, got)
		}
		b.screenshot(t, shots, "desktop.png")
	})

	t.Run("horizon", func(t *testing.T) {
		day := last.AddDays(-3) // four days known, three ahead
		b.do(t, "choose 7 days", chromedp.SetValue(chromedp.CSS("#horizon"), "7"))
		predictAt(t, day.String())
		if st := eval[string](t, b, `document.getElementById('predict-form').dataset.state`); st != "done" {
			t.Fatalf("form state %q, error shown: %q", st, text(t, b, "#predict-error"))
		}
		api.mu.Lock()
		resp := api.lastPredict
		reqs := append([]string(nil), api.predictReqs...)
		api.mu.Unlock()
		var body map[string]any
		if err := json.Unmarshal([]byte(reqs[len(reqs)-1]), &body); err != nil || body["date"] != day.String() || body["horizon"] != 7.0 || len(body) != 3 {
			t.Errorf("POST /predict body %q, want {date: %s, symbol, horizon: 7}", reqs[len(reqs)-1], day)
		}
		days, _ := resp["forecasts"].([]map[string]any)
		if len(days) != 7 {
			t.Fatalf("the fake API answered %d days", len(days))
		}
		if n := eval[int](t, b, `document.querySelectorAll('#horizon-table tbody tr').length`); n != 7 {
			t.Fatalf("horizon table has %d rows, want 7", n)
		}
		for i, f := range days {
			for _, k := range []string{"prediction", "p10", "p90"} {
				got := text(t, b, fmt.Sprintf("#horizon-table tbody tr:nth-child(%d) td[data-key=%s]", i+1, k))
				if !showsCents(got, f[k].(float64)) {
					t.Errorf("day %d %s shown %q, API answered %v (%s)", i+1, k, got, f[k], usd(f[k].(float64)))
				}
			}
			got := text(t, b, fmt.Sprintf("#horizon-table tbody tr:nth-child(%d) td[data-key=actual]", i+1))
			if a, ok := f["actual"].(float64); ok != (i < 4) || ok && !showsCents(got, a) || !ok && got != "—" {
				t.Errorf("day %d actual shown %q, API answered %v", i+1, got, f["actual"])
			}
		}
		if got := text(t, b, "#horizon-cap"); !strings.Contains(got, "7-day forecast") {
			t.Errorf("horizon caption %q", got)
		}
		if got := text(t, b, "#horizon-band"); !strings.Contains(got, "Monte-Carlo dropout (100 passes)") || !strings.Contains(got, "not calibrated") || !strings.Contains(got, "coverage") {
			t.Errorf("band explanation %q", got)
		}
		// The chart: the forecast line has the 7 days and the band its two
		// lines, and the band's colour is on the canvas.
		pts := eval[[]string](t, b, `[document.getElementById('chart').dataset.forecastPoints, document.getElementById('chart').dataset.bandPoints]`)
		if pts[0] != "7" || pts[1] != "7" {
			t.Errorf("chart forecast/band points %v, want 7 and 7", pts)
		}
		b.waitFor(t, "the band on the canvas", `(() => { const p = `+bandPixels+`; return p > 20; })()`)
		b.screenshot(t, shots, "horizon.png")

		if n := eval[int](t, b, `document.querySelectorAll('#horizon-adaptive').length`); n != 0 {
			t.Error("a past day's band is said to be adapted")
		}

		// A live horizon: the server adapted day 1's bands from its
		// ledger, and the page says so with the answer's α and n.
		predictAt(t, next.String())
		api.mu.Lock()
		ad := api.lastPredict["forecasts"].([]map[string]any)[0]["adaptive"].(map[string]any)
		api.mu.Unlock()
		want := fmt.Sprintf("adapted online from this server’s %d scored live forecasts", ad["n"]) + " by adaptive conformal inference (ACI): the 80 % band now aims at a miss rate of " +
			strconv.FormatFloat(ad["alpha"].(float64), 'f', 3, 64) + " instead of 0.2, its halves scaled by " + strconv.FormatFloat(ad["factor"].(float64), 'f', 2, 64) + "."
		if got := text(t, b, "#horizon-adaptive"); !strings.HasSuffix(got, want) {
			t.Errorf("adaptive note %q, want it to end %q", got, want)
		}

		// Back to one day: no table, no band.
		b.do(t, "choose 1 day", chromedp.SetValue(chromedp.CSS("#horizon"), "1"))
		predictAt(t, next.String())
		if n := eval[int](t, b, `document.querySelectorAll('#horizon-table').length`); n != 0 {
			t.Errorf("a one-day answer still shows a horizon table")
		}
		if got := eval[string](t, b, `document.getElementById('chart').dataset.bandPoints`); got != "0" {
			t.Errorf("band points after a one-day answer: %q", got)
		}
		b.waitFor(t, "the band gone", `(() => { const p = `+bandPixels+`; return p < 5; })()`)
	})

	t.Run("fan", func(t *testing.T) {
		api.mu.Lock()
		api.fan = true
		api.mu.Unlock()
		defer func() {
			api.mu.Lock()
			api.fan = false
			api.mu.Unlock()
		}()
		b.do(t, "choose 7 days", chromedp.SetValue(chromedp.CSS("#horizon"), "7"))
		predictAt(t, last.AddDays(-3).String())
		if st := eval[string](t, b, `document.getElementById('predict-form').dataset.state`); st != "done" {
			t.Fatalf("form state %q, error shown: %q", st, text(t, b, "#predict-error"))
		}
		api.mu.Lock()
		days, _ := api.lastPredict["forecasts"].([]map[string]any)
		api.mu.Unlock()
		// Every band of the answer is drawn, widest first, on every day.
		pts := eval[[]string](t, b, `['forecastPoints', 'bandPoints', 'bands'].map((k) => document.getElementById('chart').dataset[k])`)
		if strings.Join(pts, " ") != "7 7 95,80,50" {
			t.Errorf("chart forecast points, band points, bands = %q, want 7 7 95,80,50", pts)
		}
		// The table has each band's ends, lowest level first, with the API's values.
		keys := eval[[]string](t, b, `[...document.querySelectorAll('#horizon-table tbody tr:first-child td')].map((td) => td.dataset.key)`)
		if strings.Join(keys, ",") != "prediction,p2.5,p10,p25,p75,p90,p97.5,actual" {
			t.Errorf("horizon table columns %q", keys)
		}
		if got := text(t, b, "#horizon-table thead th:nth-child(3)"); got != "Low (p2.5)" {
			t.Errorf("first band column headed %q, want Low (p2.5)", got)
		}
		for i, f := range days {
			q := f["quantiles"].(map[string]float64)
			for _, k := range []string{"2.5", "10", "25", "75", "90", "97.5"} {
				got := text(t, b, fmt.Sprintf("#horizon-table tbody tr:nth-child(%d) td[data-key='p%s']", i+1, k))
				if !showsCents(got, q[k]) {
					t.Errorf("day %d p%s shown %q, API answered %v", i+1, k, got, q[k])
				}
			}
		}
		if got := text(t, b, "#horizon-fan"); !strings.Contains(got, "95%, 80%, 50%") {
			t.Errorf("fan note %q does not list the bands", got)
		}
		b.waitFor(t, "the bands on the canvas", `(() => { const p = `+bandPixels+`; return p > 20; })()`)
		b.screenshot(t, shots, "fan.png")

		// Without the map, the answer's p10/p90 alone: one band, no fan note.
		api.mu.Lock()
		api.fan = false
		api.mu.Unlock()
		predictAt(t, last.AddDays(-3).String())
		pts = eval[[]string](t, b, `['forecastPoints', 'bandPoints', 'bands'].map((k) => document.getElementById('chart').dataset[k])`)
		if strings.Join(pts, " ") != "7 7 80" {
			t.Errorf("chart forecast points, band points, bands = %q, want 7 7 80", pts)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#horizon-fan').length`); n != 0 {
			t.Errorf("a fan note for a single band")
		}
		b.do(t, "choose 1 day", chromedp.SetValue(chromedp.CSS("#horizon"), "1"))
		predictAt(t, next.String())
		if got := eval[string](t, b, `document.getElementById('chart').dataset.bands`); got != "" {
			t.Errorf("bands after a one-day answer: %q", got)
		}
	})

	// A server serving the ensemble adapted by FACI (serve --interval
	// ensemble --adaptive faci): the page says what the bands are and how
	// they were adapted, and draws them.
	t.Run("ensemble", func(t *testing.T) {
		api.mu.Lock()
		api.ensemble = true
		api.mu.Unlock()
		defer func() {
			api.mu.Lock()
			api.ensemble = false
			api.mu.Unlock()
		}()
		b.do(t, "choose 7 days", chromedp.SetValue(chromedp.CSS("#horizon"), "7"))
		predictAt(t, next.String())
		if st := eval[string](t, b, `document.getElementById('predict-form').dataset.state`); st != "done" {
			t.Fatalf("form state %q, error shown: %q", st, text(t, b, "#predict-error"))
		}
		if got := text(t, b, "#horizon-band"); !strings.Contains(got, "naive-baseline ensemble") || !strings.Contains(got, "GARCH(1,1)-t") || strings.Contains(got, "dropout") {
			t.Errorf("band explanation %q, want the ensemble's", got)
		}
		api.mu.Lock()
		ad := api.lastPredict["forecasts"].([]map[string]any)[0]["adaptive"].(map[string]any)
		api.mu.Unlock()
		want := fmt.Sprintf("adapted online from this server’s %d scored live forecasts", ad["n"]) + " by fully adaptive conformal inference (FACI): the 80 % band now aims at a miss rate of " +
			strconv.FormatFloat(ad["alpha"].(float64), 'f', 3, 64) + " instead of 0.2, its halves scaled by " + strconv.FormatFloat(ad["factor"].(float64), 'f', 2, 64) + "."
		if got := text(t, b, "#horizon-adaptive"); !strings.HasSuffix(got, want) {
			t.Errorf("adaptive note %q, want it to end %q", got, want)
		}
		if got := eval[string](t, b, `document.getElementById('chart').dataset.bandPoints`); got != "7" {
			t.Errorf("band points %q, want 7", got)
		}
		b.do(t, "choose 1 day", chromedp.SetValue(chromedp.CSS("#horizon"), "1"))
		// The live panel names the served adaptation, FACI.
		b.do(t, "reload", chromedp.Reload())
		b.waitReady(t, "page ready again")
		b.waitFor(t, "the live distribution", `!!document.querySelector('#live-dist tbody tr:nth-child(2)')`)
		checkLiveDistribution(t, b, api.accuracyBody(false)["distribution"].(map[string]any))
	})

	t.Run("422 out of range", func(t *testing.T) {
		predictAt(t, "2001-01-01")
		if st := eval[string](t, b, `document.getElementById('predict-form').dataset.state`); st != "error" {
			t.Fatalf("form state %q after a 422", st)
		}
		lo, hi := api.validRange()
		want := (&closecast.RangeError{Symbol: "BTC-USD", Date: closecast.MustParseDate("2001-01-01"), Earliest: lo, Latest: hi}).Error()
		got := text(t, b, "#predict-error")
		if !strings.Contains(got, want) {
			t.Errorf("error shown %q, want the server's %q", got, want)
		}
		if !strings.Contains(got, "Dates from "+lo.String()+" to "+hi.String()+" can be forecast.") {
			t.Errorf("error shown %q does not give the valid range", got)
		}
		if eval[bool](t, b, `document.getElementById('predict-error').hidden`) {
			t.Error("error box hidden")
		}
		if got := eval[string](t, b, `document.getElementById('date').getAttribute('aria-invalid')`); got != "true" {
			t.Errorf("date aria-invalid = %q", got)
		}
		if got := eval[string](t, b, `document.getElementById('date').min`); got != lo.String() {
			t.Errorf("date min after the 422 = %q, want %s", got, lo)
		}
		// The previous forecast stays on screen: an error never blanks the page.
		if got := text(t, b, "#result-prediction"); !strings.HasPrefix(got, "$") {
			t.Errorf("previous result gone after the error: %q", got)
		}
	})

	t.Run("empty date", func(t *testing.T) {
		api.mu.Lock()
		before := len(api.predictReqs)
		api.mu.Unlock()
		predictAt(t, "")
		if got := text(t, b, "#predict-error"); got != "Choose a date first." {
			t.Errorf("empty date shown as %q", got)
		}
		api.mu.Lock()
		after := len(api.predictReqs)
		api.mu.Unlock()
		if after != before {
			t.Errorf("an empty date was sent to the server (%d requests before, %d after)", before, after)
		}
	})

	t.Run("503 unavailable", func(t *testing.T) {
		api.mu.Lock()
		api.unavailable = true
		api.mu.Unlock()
		predictAt(t, next.String())
		api.mu.Lock()
		api.unavailable = false
		api.mu.Unlock()
		got := text(t, b, "#predict-error")
		if !strings.Contains(got, closecast.ErrUnavailable.Error()) || !strings.Contains(got, "Try again in 30 s.") {
			t.Errorf("503 shown as %q", got)
		}
	})

	t.Run("language toggle", func(t *testing.T) {
		missing := eval[[]string](t, b, `import('./i18n.js').then((m) => {
			const en = Object.keys(m.STRINGS.en), pt = Object.keys(m.STRINGS['pt-BR']);
			const out = en.filter((k) => !pt.includes(k)).map((k) => 'pt-BR lacks ' + k)
			  .concat(pt.filter((k) => !en.includes(k)).map((k) => 'en lacks ' + k));
			for (const n of document.querySelectorAll('[data-i18n]'))
			  if (!en.includes(n.dataset.i18n)) out.push('page uses unknown key ' + n.dataset.i18n);
			return out;
		})`)
		for _, m := range missing {
			t.Error(m)
		}
		enTexts := eval[[]string](t, b, `[...document.querySelectorAll('[data-i18n]')].map((n) => n.textContent)`)
		b.do(t, "toggle to pt-BR", chromedp.Click(chromedp.CSS("#lang-toggle")))
		b.waitFor(t, "the page in Portuguese", `document.documentElement.lang === 'pt-BR'`)
		if got := text(t, b, "h1"); got != "Previsão da moeda Bitcoin ($) BTC-USD" {
			t.Errorf("h1 in pt-BR = %q", got)
		}
		if got := eval[string](t, b, `document.documentElement.lang`); got != "pt-BR" {
			t.Errorf("html lang = %q, want pt-BR", got)
		}
		if got := text(t, b, "#predict-btn"); got != "Prever" {
			t.Errorf("button = %q, want Prever", got)
		}
		if got := text(t, b, "#lang-toggle"); got != "English" {
			t.Errorf("toggle = %q, want English", got)
		}
		ptTexts := eval[[]string](t, b, `[...document.querySelectorAll('[data-i18n]')].map((n) => n.textContent)`)
		same := 0
		for i := range enTexts {
			if i < len(ptTexts) && enTexts[i] == ptTexts[i] {
				same++
			}
		}
		// A few labels are the same in both languages (MAE, RMSE, API, 3M); most must change.
		if same*4 > len(enTexts) {
			t.Errorf("%d of %d static strings unchanged after switching to pt-BR", same, len(enTexts))
		}
		// Dynamic parts follow too: the error (translated from its code) and the result.
		if got := text(t, b, "#predict-error"); !strings.Contains(got, "indisponíveis") {
			t.Errorf("503 error in pt-BR = %q", got)
		}
		if got := text(t, b, "#result-actual"); got != "ainda desconhecido" {
			t.Errorf("actual in pt-BR = %q", got)
		}
		if got := text(t, b, "#result-prediction"); !strings.HasPrefix(got, "US$") || !strings.Contains(got, ",") {
			t.Errorf("prediction in pt-BR = %q, want US$ with a decimal comma", got)
		}
		// The live distribution scores: Portuguese labels, decimal commas.
		d := api.accuracyBody(false)["distribution"].(map[string]any)
		if got := text(t, b, "#live-dist tbody tr:nth-child(3) th"); !strings.HasPrefix(got, "Melhor referência: ") {
			t.Errorf("best baseline row in pt-BR = %q", got)
		}
		cov := d["model"].(map[string]any)["coverage80"].(float64)
		if got, want := strings.TrimSuffix(text(t, b, "#live-dist tbody tr:nth-child(1) td[data-key=coverage80]"), " (melhor)"),
			strings.Replace(strconv.FormatFloat(cov, 'f', 1, 64), ".", ",", 1)+"%"; got != want {
			t.Errorf("model coverage in pt-BR = %q, want %q", got, want)
		}
		b.screenshot(t, shots, "desktop-pt-BR.png")
		if got := eval[string](t, b, `localStorage.getItem('closecast.lang')`); got != "pt-BR" {
			t.Errorf("remembered language %q", got)
		}
		// The choice survives a reload.
		b.do(t, "reload", chromedp.Reload())
		b.waitReady(t, "page ready after reload")
		if got := eval[string](t, b, `document.documentElement.lang`); got != "pt-BR" {
			t.Errorf("after reload html lang = %q, want pt-BR", got)
		}
		b.do(t, "toggle back", chromedp.Click(chromedp.CSS("#lang-toggle")))
		b.waitFor(t, "the page in English", `document.documentElement.lang === 'en'`)
		if got := text(t, b, "#predict-btn"); got != "Predict" {
			t.Errorf("button after toggling back = %q", got)
		}
	})

	t.Run("phone", func(t *testing.T) {
		b.do(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload())
		b.waitReady(t, "page ready at phone width")
		b.waitFor(t, "candles at phone width", `(() => { const p = `+chartPixels+`; return p.up > 50 && p.down > 50; })()`)
		if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("page is %d px wide at a 390 px viewport: it scrolls sideways; too wide: %v", w,
				eval[[]string](t, b, `[...document.querySelectorAll('body *')].filter((n) => !n.closest('.table-wrap') && (n.getBoundingClientRect().right > 391 || n.scrollWidth > 391)).slice(0, 12).map((n) => n.tagName + '#' + n.id + '.' + n.className.baseVal + n.className + ' ' + Math.round(n.getBoundingClientRect().right) + ' sw' + n.scrollWidth + ' ' + getComputedStyle(n).overflowX) .concat([window.innerWidth + ' ' + document.documentElement.clientWidth])`))
		}
		predictAt(t, next.String())
		if got := text(t, b, "#result-prediction"); !strings.HasPrefix(got, "$") {
			t.Errorf("phone prediction shown %q", got)
		}
		b.screenshot(t, shots, "phone.png")
		b.do(t, "desktop viewport", chromedp.EmulateViewport(1280, 800))
	})

	t.Run("keyboard", func(t *testing.T) {
		// Enter in the date field submits the form, as a keyboard user expects.
		b.do(t, "focus date", chromedp.Focus(chromedp.CSS("#date")))
		b.do(t, "set date", chromedp.SetValue(chromedp.CSS("#date"), last.AddDays(-3).String()))
		b.do(t, "reset state", chromedp.Evaluate[chromedp.Void](`document.getElementById('predict-form').dataset.state = 'idle'`))
		b.do(t, "enter", chromedp.KeyEvent("\r"))
		b.waitFor(t, "answer after Enter", `document.getElementById('predict-form').dataset.state === 'done'`)
		if got := text(t, b, "#result-heading"); !strings.Contains(got, fmt.Sprint(last.AddDays(-3).Time().Day())) {
			t.Errorf("heading after Enter %q does not name %s", got, last.AddDays(-3))
		}
	})

	t.Run("console", func(t *testing.T) {
		// The 422 and 503 above are meant: Chromium logs every failed fetch.
		for _, m := range b.consoleErrors(t, "/predict") {
			t.Errorf("console: %s", m)
		}
	})

	if os.Getenv("CLOSECAST_UPDATE_SCREENSHOT") != "" {
		data, err := os.ReadFile(filepath.Join(shots, "desktop.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.Write(filepath.Join("testdata", "dashboard.png"), data); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDashboardDegraded checks that the page stays useful when the API is
// partly down: no model metadata (503 from /api/model), then no price history
// either. The forecast form must still work and say what is missing.
func TestDashboardDegraded(t *testing.T) {
	api := newFakeAPI(t)
	api.modelDown = true
	api.ledger = "none" // a server without a ledger (the Lambda)
	api.noModels = true // and older than GET /api/models
	api.withMarket(t, "ETH-USD", "../marketdata/data/eth-usd-daily.csv", "test-fake-eth-1")
	srv := httptest.NewServer(api)
	defer srv.Close()
	b := newBrowser(t)

	b.do(t, "load", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.URL+"/"))
	b.waitReady(t, "page ready")
	if got := text(t, b, "#model-info"); !strings.Contains(got, "Model details are unavailable") || !strings.Contains(got, "no model is loaded") {
		t.Errorf("model box says %q", got)
	}
	if !eval[bool](t, b, `document.getElementById('live').hidden`) {
		t.Error("the live accuracy panel is shown by a server without a ledger")
	}
	// Without GET /api/models the page is the single-market one it always was.
	if !eval[bool](t, b, `document.getElementById('market-box').hidden`) {
		t.Error("the market switcher is shown by a server without GET /api/models")
	}
	// Behind an API Gateway that was not given the route, the same.
	api.mu.Lock()
	api.ledger = "gateway"
	api.mu.Unlock()
	b.do(t, "reload behind API Gateway", chromedp.Reload())
	b.waitReady(t, "page ready behind API Gateway")
	if !eval[bool](t, b, `document.getElementById('live').hidden`) {
		t.Errorf("the live accuracy panel is shown on API Gateway's 404: %q", text(t, b, "#live-body"))
	}
	api.mu.Lock()
	reqs := append([]string(nil), api.historyReqs...)
	api.mu.Unlock()
	// Without the model's symbol and predictions the page asks for the server's defaults.
	if len(reqs) != 2 || reqs[0] != "" || reqs[1] != "" {
		t.Errorf("history requests %q, want one with no parameters per load", reqs)
	}
	b.waitFor(t, "candles without a model", `(() => { const p = `+chartPixels+`; return p.up > 200 && p.down > 200; })()`)
	if got := eval[string](t, b, `document.getElementById('date').value`); got != api.lastDate().AddDays(1).String() {
		t.Errorf("default date %q without a model", got)
	}
	b.do(t, "predict", chromedp.Click(chromedp.CSS("#predict-btn")))
	b.waitFor(t, "answer", `document.getElementById('predict-form').dataset.state === 'done'`)
	if got := text(t, b, "#result-prediction"); !strings.HasPrefix(got, "$") {
		t.Errorf("prediction without a model's metadata: %q", got)
	}

	api.mu.Lock()
	api.historyDown = true
	api.ledger = "empty" // a ledger that has scored nothing yet
	api.mu.Unlock()
	b.do(t, "reload", chromedp.Reload())
	b.waitReady(t, "page ready without history")
	if got := text(t, b, "#chart-error"); !strings.Contains(got, "Price history is unavailable") || !strings.Contains(got, "Try again in 5 s.") {
		t.Errorf("chart error %q", got)
	}
	if got := text(t, b, "#date-hint"); got != "Choose a day in YYYY-MM-DD form." {
		t.Errorf("hint without history %q", got)
	}
	if hidden, got := eval[bool](t, b, `document.getElementById('live').hidden`), text(t, b, "#live-empty"); hidden || !strings.HasPrefix(got, "No live predictions scored yet") {
		t.Errorf("live panel with an empty ledger: hidden %v, %q", hidden, got)
	}
	if got, want := text(t, b, "#live-pending"), fmt.Sprintf("Forecasts waiting for their day’s close: %d.", api.accuracyBody(true)["pending"]); got != want {
		t.Errorf("pending forecasts with an empty ledger shown %q, want %q", got, want)
	}
	b.do(t, "predict", chromedp.SetValue(chromedp.CSS("#date"), api.lastDate().String()), chromedp.Click(chromedp.CSS("#predict-btn")))
	b.waitFor(t, "answer", `document.getElementById('predict-form').dataset.state === 'done'`)
	if got := text(t, b, "#result-prediction"); !strings.HasPrefix(got, "$") {
		t.Errorf("prediction without history: %q", got)
	}
	for _, m := range b.consoleErrors(t, "/api/models", "/api/model", "/api/history", "/api/accuracy") {
		t.Errorf("console: %s", m)
	}
}

// ptUSD formats v as pt-BR dollars, "US$ 1.234,56", as Intl.NumberFormat
// does (with an ordinary space where Intl puts a no-break one).
func ptUSD(v float64) string {
	s := strings.NewReplacer(",", ".", ".", ",").Replace(strings.TrimPrefix(strings.TrimPrefix(usd(v), "-"), "$"))
	if v < 0 && s != "0,00" {
		return "-US$ " + s
	}
	return "US$ " + s
}

func TestPtUSD(t *testing.T) {
	for v, want := range map[float64]string{0: "US$ 0,00", 68233.31: "US$ 68.233,31", 1234567.891: "US$ 1.234.567,89", -5.5: "-US$ 5,50"} {
		if got := ptUSD(v); got != want {
			t.Errorf("ptUSD(%v) = %q, want %q", v, got, want)
		}
	}
}

// ptDate formats d as Brazilians write it, "01/04/2026".
func ptDate(d closecast.Date) string { return d.Time().Format("02/01/2006") }

// TestDashboardLanguage checks how the page picks its language. A browser
// started in Portuguese gets the page in Portuguese, with dates, money, the
// chart's labels and <html lang> to match, and is not made to remember it;
// a ?lang= link wins over the browser and stays in the address when the
// reader switches; a saved choice wins over the browser's language. The
// hold-out header says "level" in both languages when the model's MAE is
// within metrics.LevelTolerance of persistence's.
func TestDashboardLanguage(t *testing.T) {
	api := newFakeAPI(t)
	h := api.model["metrics"].(map[string]any)["holdout"].(map[string]any)
	pMAE := h["persistence"].(map[string]any)["mae"].(float64)
	mMAE := pMAE * (1 + metrics.LevelTolerance/4) // worse, but inside the noise
	h["model"].(map[string]any)["mae"] = mMAE
	srv := httptest.NewServer(api)
	defer srv.Close()
	b := newBrowser(t, chromedp.Flag("lang", "pt-BR"), chromedp.Flag("accept-lang", "pt-BR,pt"))
	shots := os.Getenv("CLOSECAST_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	plain := func(s string) string { return strings.ReplaceAll(s, "\u00a0", " ") }
	load := func(t *testing.T, path string) {
		t.Helper()
		b.do(t, "load "+path, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.URL+path))
		b.waitReady(t, "page ready at "+path)
	}
	lang := func(t *testing.T) string { t.Helper(); return eval[string](t, b, `document.documentElement.lang`) }

	t.Run("choice order", func(t *testing.T) {
		load(t, "/")
		// The rule itself, case by case, on the page's own module.
		got := eval[[]string](t, b, `import('./i18n.js').then((m) => [
			m.chooseLang({}),
			m.chooseLang({ languages: ['pt-BR', 'en'] }),
			m.chooseLang({ languages: ['en-US', 'pt-PT'] }),
			m.chooseLang({ languages: ['fr-FR', 'en-GB'] }),
			m.chooseLang({ languages: ['pt'] }),
			m.chooseLang({ saved: 'en', languages: ['pt-BR'] }),
			m.chooseLang({ saved: 'de', languages: ['pt-BR'] }),
			m.chooseLang({ query: '?lang=en', saved: 'pt-BR', languages: ['pt-BR'] }),
			m.chooseLang({ query: '?lang=pt', saved: 'en', languages: ['en'] }),
			m.chooseLang({ query: '?lang=xx', saved: 'pt-BR' }),
		])`)
		want := []string{"en", "pt-BR", "pt-BR", "en", "pt-BR", "en", "pt-BR", "en", "pt-BR", "pt-BR"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("chooseLang cases = %v, want %v", got, want)
		}
	})

	t.Run("browser in Portuguese", func(t *testing.T) {
		load(t, "/")
		if langs := eval[[]string](t, b, `[...navigator.languages]`); len(langs) == 0 || langs[0] != "pt-BR" {
			t.Fatalf("navigator.languages = %v: Chromium did not take --lang=pt-BR", langs)
		}
		if got := lang(t); got != "pt-BR" {
			t.Fatalf("html lang = %q in a Portuguese browser, want pt-BR", got)
		}
		if got := text(t, b, "h1"); got != "Previsão da moeda Bitcoin ($) BTC-USD" {
			t.Errorf("h1 = %q", got)
		}
		if got := text(t, b, "#model-created"); got != "01/04/2026" {
			t.Errorf("model created shown %q, want 01/04/2026", got)
		}
		want := "empatado com a persistência (MAE " + ptUSD(mMAE) + " contra " + ptUSD(pMAE) + ")"
		if got := plain(text(t, b, "#model-holdout")); got != want {
			t.Errorf("hold-out header %q, want %q", got, want)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#model-holdout .good, #model-holdout .bad').length`); n != 0 {
			t.Errorf("a level hold-out is coloured as a win or a loss")
		}
		if got := plain(text(t, b, "#metrics-level")); !strings.Contains(got, "menos de 2%") || !strings.Contains(got, "empatados") {
			t.Errorf("threshold explanation %q", got)
		}
		if got := text(t, b, "#metrics-holdout tbody tr:nth-child(2) td[data-key=direction]"); got != "–" {
			t.Errorf("persistence direction %q, want –", got)
		}
		// Level MAEs are both the best: neither wins on a difference the
		// data cannot tell apart. The 7-day average, far behind, is not.
		best := eval[[]int](t, b, `[1, 2, 3].filter((i) => document.querySelector('#metrics-holdout tbody tr:nth-child(' + i + ') td[data-key=mae]').classList.contains('best'))`)
		if !slices.Equal(best, []int{1, 2}) {
			t.Errorf("rows %v marked best on a level MAE, want the model's and persistence's, [1 2]", best)
		}
		mae := h["model"].(map[string]any)["mae"].(float64)
		if got, want := plain(strings.TrimSuffix(text(t, b, "#metrics-holdout tbody tr:nth-child(1) td[data-key=mae]"), " (melhor)")), strings.TrimPrefix(ptUSD(mae), "US$ "); got != want {
			t.Errorf("model MAE in the table %q, want %q", got, want)
		}
		hr := h["from"].(closecast.Date)
		if got := plain(text(t, b, "#metrics-holdout-cap")); !strings.Contains(got, ptDate(hr)) {
			t.Errorf("hold-out caption %q lacks %s", got, ptDate(hr))
		}
		// The chart's crosshair and price axis labels.
		fm := eval[[]string](t, b, `(() => { const l = document.getElementById('chart').priceChart.chart.options().localization;
			return [l.locale, l.timeFormatter({ year: 2026, month: 4, day: 1 }), l.timeFormatter('2026-04-01'), l.priceFormatter(68233.31), l.priceFormatter(512.5)]; })()`)
		if fm[0] != "pt-BR" || fm[1] != "01/04/2026" || fm[2] != "01/04/2026" || plain(fm[3]) != "US$ 68.233" || plain(fm[4]) != "US$ 512,50" {
			t.Errorf("chart locale, crosshair day and price labels %q; want pt-BR, 01/04/2026 twice, US$ 68.233, US$ 512,50", fm)
		}
		// A forecast reads in Portuguese too.
		b.do(t, "predict", chromedp.Click(chromedp.CSS("#predict-btn")))
		b.waitFor(t, "answer", `document.getElementById('predict-form').dataset.state === 'done'`)
		api.mu.Lock()
		pred := api.lastPredict["prediction"].(float64)
		api.mu.Unlock()
		if got := plain(text(t, b, "#result-prediction")); got != ptUSD(pred) {
			t.Errorf("prediction shown %q, want %q", got, ptUSD(pred))
		}
		next := api.lastDate().AddDays(1)
		if got := text(t, b, "#result-heading"); got != "Previsão para "+ptDate(next) {
			t.Errorf("result heading %q, want Previsão para %s", got, ptDate(next))
		}
		b.screenshot(t, shots, "dashboard-pt-BR.png")
		// The browser's language is not a choice: nothing is saved.
		if got := eval[bool](t, b, `localStorage.getItem('closecast.lang') === null`); !got {
			t.Errorf("the browser's language was saved as a choice: %q", eval[string](t, b, `String(localStorage.getItem('closecast.lang'))`))
		}
	})

	t.Run("link with lang", func(t *testing.T) {
		load(t, "/?lang=en")
		if got := lang(t); got != "en" {
			t.Fatalf("html lang = %q at ?lang=en in a Portuguese browser, want en", got)
		}
		want := "level with persistence (MAE " + usd(mMAE) + " against " + usd(pMAE) + ")"
		if got := text(t, b, "#model-holdout"); got != want {
			t.Errorf("hold-out header %q, want %q", got, want)
		}
		if got := text(t, b, "#model-created"); got != "Apr 1, 2026" {
			t.Errorf("model created shown %q, want Apr 1, 2026", got)
		}
		// Switching keeps the language in the address, so that a reload or
		// a copied link shows what the reader chose.
		b.do(t, "toggle to pt-BR", chromedp.Click(chromedp.CSS("#lang-toggle")))
		b.waitFor(t, "the page in Portuguese", `document.documentElement.lang === 'pt-BR'`)
		if got := eval[string](t, b, `location.search`); got != "?lang=pt-BR" {
			t.Errorf("address after switching: %q, want ?lang=pt-BR", got)
		}
		b.do(t, "reload", chromedp.Reload())
		b.waitReady(t, "page ready after reload")
		if got := lang(t); got != "pt-BR" {
			t.Errorf("html lang after reload = %q, want pt-BR", got)
		}
		load(t, "/?lang=pt")
		if got := lang(t); got != "pt-BR" {
			t.Errorf("html lang at ?lang=pt = %q, want pt-BR", got)
		}
	})

	t.Run("saved choice wins over the browser", func(t *testing.T) {
		load(t, "/")
		b.do(t, "save English", chromedp.Evaluate[chromedp.Void](`localStorage.removeItem('closecast.lang')`), chromedp.Reload())
		b.waitReady(t, "page ready, nothing saved")
		if got := lang(t); got != "pt-BR" {
			t.Fatalf("html lang with nothing saved = %q, want the browser's pt-BR", got)
		}
		b.do(t, "toggle to English", chromedp.Click(chromedp.CSS("#lang-toggle")))
		b.waitFor(t, "the page in English", `document.documentElement.lang === 'en'`)
		if got := eval[string](t, b, `location.search`); got != "" {
			t.Errorf("switching added %q to an address that named no language", got)
		}
		load(t, "/")
		if got := lang(t); got != "en" {
			t.Errorf("html lang = %q after choosing English in a Portuguese browser, want en", got)
		}
		if got := text(t, b, "#predict-btn"); got != "Predict" {
			t.Errorf("button = %q, want Predict", got)
		}
	})

	for _, m := range b.consoleErrors(t) {
		t.Errorf("console: %s", m)
	}
}

// TestDashboardMarkets drives the page against a fake serving BTC-USD and
// ETH-USD: the switcher changes every figure to the other market's and the
// address with it, a deep link opens a market and a day's forecast, and a
// market whose forecast fails shows the error where the forecast would while
// the rest of the page keeps working.
func TestDashboardMarkets(t *testing.T) {
	btc := newFakeAPI(t)
	eth := btc.withMarket(t, "ETH-USD", "../marketdata/data/eth-usd-daily.csv", "test-fake-eth-1")
	srv := httptest.NewServer(btc)
	defer srv.Close()
	b := newBrowser(t)
	shots := os.Getenv("CLOSECAST_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	load := func(t *testing.T, path string) {
		t.Helper()
		b.do(t, "load "+path, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(srv.URL+path))
		b.waitReady(t, "page ready at "+path)
	}
	// choose picks a market in the switcher as a person would (a change
	// event) and waits until the page shows it.
	choose := func(t *testing.T, symbol string) {
		t.Helper()
		b.do(t, "choose "+symbol, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`(() => { const s = document.getElementById('market'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, symbol)))
		b.waitFor(t, symbol+" shown", fmt.Sprintf(`document.body.dataset.market === %q && document.body.dataset.state === 'ready'`, symbol))
	}
	query := func(t *testing.T) url.Values {
		t.Helper()
		q, err := url.ParseQuery(strings.TrimPrefix(eval[string](t, b, `location.search`), "?"))
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	lastClose := func(f *fakeAPI) float64 { return f.bars[len(f.bars)-1].Close }
	// shows checks that every part of the page is f's market's.
	shows := func(t *testing.T, f *fakeAPI, coin string) {
		t.Helper()
		if got, want := text(t, b, "h1"), coin+" ($) price forecast "+f.symbol; got != want {
			t.Errorf("h1 = %q, want %q", got, want)
		}
		if got := eval[string](t, b, `document.getElementById('market').value`); got != f.symbol {
			t.Errorf("switcher shows %q, want %s", got, f.symbol)
		}
		if got := text(t, b, "#model-version"); got != f.model["version"] {
			t.Errorf("model version %q, want %v", got, f.model["version"])
		}
		h := f.model["metrics"].(map[string]any)["holdout"].(map[string]any)
		mae := h["model"].(map[string]any)["mae"].(float64)
		if got := strings.TrimSuffix(text(t, b, "#metrics-holdout tbody tr:nth-child(1) td[data-key=mae]"), " (best)"); got != strings.TrimPrefix(usd(mae), "$") {
			t.Errorf("hold-out MAE shown %q, want %s's %s", got, f.symbol, usd(mae))
		}
		if got := eval[float64](t, b, `document.getElementById('chart').priceChart.bars.at(-1).close`); got != lastClose(f) {
			t.Errorf("the chart's last close is %v, want %s's %v", got, f.symbol, lastClose(f))
		}
		epochs := len(f.model["loss_curve"].(map[string]any)["train"].([]float64))
		if got := eval[int](t, b, `document.querySelector('#loss-chart polyline.train').points.length`); got != epochs {
			t.Errorf("loss curve has %d points, want %s's %d", got, f.symbol, epochs)
		}
		if got := text(t, b, "#model-epochs"); got != strconv.Itoa(epochs) {
			t.Errorf("epochs shown %q, want %d", got, epochs)
		}
		live := f.accuracyBody(false)["rows"].([]map[string]any)[0]
		if got := text(t, b, "#live-rows tbody tr:nth-child(1) td[data-key=predicted]"); got != usd(live["predicted"].(float64)) {
			t.Errorf("newest live forecast shown %q, want %s's %s", got, f.symbol, usd(live["predicted"].(float64)))
		}
		if got := eval[string](t, b, `document.getElementById('date').max`); got != f.lastDate().AddDays(1).String() {
			t.Errorf("date max %q, want the day after %s's last bar", got, f.symbol)
		}
	}
	lastReq := func(f *fakeAPI, reqs *[]string) string {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(*reqs) == 0 {
			return ""
		}
		return (*reqs)[len(*reqs)-1]
	}

	t.Run("quote currency", func(t *testing.T) {
		load(t, "/")
		got := eval[[]string](t, b, `import('./i18n.js').then((m) => {
			const codes = ['BTC-USD', 'ETH-EUR', 'BTC-gbp', 'AAPL', '^GSPC', 'BTC-XYZ', ''].map(m.quoteCurrency);
			m.setCurrency('EUR');
			const eur = [m.money(1234.5), m.currencySign(), m.currencyName()];
			m.setCurrency('USD');
			return [...codes, ...eur, m.money(1234.5), m.currencySign(), m.currencyName()];
		})`)
		want := []string{"USD", "EUR", "GBP", "USD", "USD", "USD", "USD", "€1,234.50", "€", "Euro", "$1,234.50", "$", "US dollars"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("quote currencies and money %q, want %q", got, want)
		}
	})

	t.Run("switch", func(t *testing.T) {
		load(t, "/")
		if eval[bool](t, b, `document.getElementById('market-box').hidden`) {
			t.Fatal("the switcher is hidden although two markets are served")
		}
		opts := eval[[]string](t, b, `[...document.querySelectorAll('#market option')].map((o) => o.value + '|' + o.textContent)`)
		if strings.Join(opts, ",") != "BTC-USD|Bitcoin (BTC-USD),ETH-USD|Ethereum (ETH-USD)" {
			t.Errorf("switcher options %q", opts)
		}
		shows(t, btc, "Bitcoin")
		for _, m := range eval[[]string](t, b, a11yProblems) {
			t.Error(m)
		}
		// Keyboard order: the switcher comes before the language toggle.
		var order []string
		for range 3 {
			b.do(t, "tab", chromedp.KeyEvent("\t"))
			order = append(order, eval[string](t, b, `document.activeElement.id`))
		}
		if strings.Join(order, ",") != ",market,lang-toggle" {
			t.Errorf("tab order %q, want the skip link, market, lang-toggle", order)
		}
		// The page must not reload: a mark left on window survives the switch.
		b.do(t, "mark the window", chromedp.Evaluate[chromedp.Void](`window.closecastMark = 1`))
		choose(t, "ETH-USD")
		shows(t, eth, "Ethereum")
		if !eval[bool](t, b, `window.closecastMark === 1`) {
			t.Error("switching markets reloaded the page")
		}
		if q := query(t); q.Get("symbol") != "ETH-USD" || eval[string](t, b, `location.pathname`) != "/" {
			t.Errorf("address after the switch %q, want /?symbol=ETH-USD", eval[string](t, b, `location.href`))
		}
		for what, reqs := range map[string]*[]string{"history": &eth.historyReqs, "accuracy": &eth.accuracyReq} {
			if q, _ := url.ParseQuery(lastReq(eth, reqs)); q.Get("symbol") != "ETH-USD" {
				t.Errorf("%s request %q does not ask for ETH-USD", what, lastReq(eth, reqs))
			}
		}
		// A forecast on ETH asks ETH and shows its answer; the day goes into the address.
		day := eth.lastDate().AddDays(-2)
		b.do(t, "predict on ETH", chromedp.SetValue(chromedp.CSS("#date"), day.String()),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('predict-form').dataset.state = 'idle'`),
			chromedp.Click(chromedp.CSS("#predict-btn")))
		b.waitFor(t, "answer", `['done', 'error'].includes(document.getElementById('predict-form').dataset.state)`)
		var body map[string]any
		if err := json.Unmarshal([]byte(lastReq(eth, &eth.predictReqs)), &body); err != nil || body["symbol"] != "ETH-USD" || body["date"] != day.String() {
			t.Errorf("POST /predict body %q, want ETH-USD on %s", lastReq(eth, &eth.predictReqs), day)
		}
		eth.mu.Lock()
		pred := eth.lastPredict["prediction"].(float64)
		eth.mu.Unlock()
		if got := text(t, b, "#result-prediction"); got != usd(pred) {
			t.Errorf("ETH forecast shown %q, want %s", got, usd(pred))
		}
		b.screenshot(t, shots, "markets-eth.png")
		if q := query(t); q.Get("symbol") != "ETH-USD" || q.Get("date") != day.String() {
			t.Errorf("address after the forecast %q", eval[string](t, b, `location.search`))
		}
		// Back to Bitcoin with the switcher: the same day is forecast for it.
		choose(t, "BTC-USD")
		b.waitFor(t, "BTC forecast", `document.getElementById('predict-form').dataset.state === 'done' && !!document.getElementById('result-prediction')`)
		shows(t, btc, "Bitcoin")
		btc.mu.Lock()
		bp, bd := btc.lastPredict["prediction"].(float64), btc.lastPredict["date"]
		btc.mu.Unlock()
		if got := text(t, b, "#result-prediction"); got != usd(bp) || bd != day {
			t.Errorf("after switching back, forecast shown %q for %v, want BTC's %s for %s", got, bd, usd(bp), day)
		}
		if q := query(t); q.Get("symbol") != "BTC-USD" || q.Get("date") != day.String() {
			t.Errorf("address after switching back %q", eval[string](t, b, `location.search`))
		}
		// The browser's Back button returns to the previous market.
		b.do(t, "back", chromedp.Evaluate[chromedp.Void](`history.back()`))
		b.waitFor(t, "ETH again", `document.body.dataset.market === 'ETH-USD' && document.body.dataset.state === 'ready'`)
		shows(t, eth, "Ethereum")
		if got := text(t, b, "#result-heading"); !strings.Contains(got, day.Time().Format("Jan 2, 2006")) {
			t.Errorf("after Back, the forecast heading %q does not name %s", got, day)
		}
	})

	t.Run("deep link", func(t *testing.T) {
		day := eth.lastDate().AddDays(-5)
		load(t, "/?symbol=ETH-USD&date="+day.String())
		b.waitFor(t, "the linked forecast", `document.getElementById('predict-form').dataset.state === 'done' && !!document.getElementById('result-prediction')`)
		shows(t, eth, "Ethereum")
		i := int(day - eth.bars[0].Date)
		closes := make([]float64, i)
		for k := range closes {
			closes[k] = eth.bars[k].Close
		}
		want := fakePredict(closes, day)
		if got := text(t, b, "#result-prediction"); got != usd(want) {
			t.Errorf("linked forecast shown %q, want ETH's %s for %s", got, usd(want), day)
		}
		if got := eval[string](t, b, `document.getElementById('date').value`); got != day.String() {
			t.Errorf("date field %q, want the linked %s", got, day)
		}
		// With a language too.
		load(t, "/?symbol=ETH-USD&date="+day.String()+"&lang=pt-BR")
		b.waitFor(t, "the linked forecast", `document.getElementById('predict-form').dataset.state === 'done' && !!document.getElementById('result-prediction')`)
		if got := eval[string](t, b, `document.documentElement.lang`); got != "pt-BR" {
			t.Errorf("html lang %q, want pt-BR", got)
		}
		if got := strings.ReplaceAll(text(t, b, "#result-prediction"), "\u00a0", " "); got != ptUSD(want) {
			t.Errorf("linked forecast in Portuguese %q, want %s", got, ptUSD(want))
		}
		// An unserved symbol opens the default market and says so in the address.
		load(t, "/?symbol=XRP-USD")
		shows(t, btc, "Bitcoin")
		if q := query(t); q.Get("symbol") != "BTC-USD" {
			t.Errorf("address for an unserved symbol %q, want symbol=BTC-USD", eval[string](t, b, `location.search`))
		}
	})

	t.Run("forecast fails", func(t *testing.T) {
		day := eth.lastDate().AddDays(-1)
		for _, c := range []struct {
			status int
			want   []string
		}{
			{http.StatusServiceUnavailable, []string{"the ETH-USD model is not loaded", "Try again in 30 s."}},
			{http.StatusInternalServerError, []string{"internal error forecasting ETH-USD"}},
		} {
			eth.mu.Lock()
			eth.predictStatus = c.status
			eth.mu.Unlock()
			load(t, "/?symbol=ETH-USD&date="+day.String())
			b.waitFor(t, "the failed forecast", `document.getElementById('predict-form').dataset.state === 'error'`)
			got := text(t, b, "#predict-error")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%d: error shown %q, want %q in it", c.status, got, w)
				}
			}
			if eval[bool](t, b, `document.getElementById('predict-error').hidden`) {
				t.Errorf("%d: the error is hidden", c.status)
			}
			if eval[bool](t, b, `!!document.getElementById('result-prediction')`) {
				t.Errorf("%d: a forecast is shown beside the error: %q", c.status, text(t, b, "#result-prediction"))
			}
			// The rest of the page is ETH's and works.
			shows(t, eth, "Ethereum")
			b.waitFor(t, "candles", `(() => { const p = `+chartPixels+`; return p.up > 200 && p.down > 200; })()`)
		}
		// Bitcoin still forecasts, and the error goes.
		choose(t, "BTC-USD")
		b.waitFor(t, "BTC forecast", `document.getElementById('predict-form').dataset.state === 'done' && !!document.getElementById('result-prediction')`)
		if !eval[bool](t, b, `document.getElementById('predict-error').hidden`) {
			t.Errorf("ETH's error still shown on BTC: %q", text(t, b, "#predict-error"))
		}
		eth.mu.Lock()
		eth.predictStatus = 0
		eth.mu.Unlock()
		for _, m := range b.consoleErrors(t, "/predict") {
			t.Errorf("console: %s", m)
		}
	})
}

// checkLiveDistribution checks the live panel's distribution table against
// /api/accuracy's distribution d: the model's, the ACI-adapted model's and
// the best baseline's 80 % coverage, pinball loss and Winkler score, as
// the English page formats them, and the best baseline's row label.
func checkLiveDistribution(t *testing.T, b *browser, d map[string]any) {
	t.Helper()
	if n := eval[int](t, b, `+document.getElementById('live-dist').dataset.n`); n != d["n"] {
		t.Errorf("distribution table over %d days, the API scored %v", n, d["n"])
	}
	for i, k := range []string{"model", "adaptive", "best_baseline"} {
		x := d[k].(map[string]any)
		row := fmt.Sprintf("#live-dist tbody tr:nth-child(%d)", i+1)
		if got := eval[string](t, b, `document.querySelector('`+row+`').dataset.method`); got != x["method"] {
			t.Errorf("distribution row %d is %q, want %v", i+1, got, x["method"])
		}
		for key, digits := range map[string]int{"coverage80": 1, "pinball_pct": 3, "winkler80_pct": 2} {
			got := strings.TrimSuffix(text(t, b, row+" td[data-key="+key+"]"), " (best)")
			if want := strconv.FormatFloat(x[key].(float64), 'f', digits, 64) + "%"; got != want {
				t.Errorf("%s %s shown %q, the API has %v (%q)", k, key, got, x[key], want)
			}
		}
	}
	// The best figure of each column is marked: the lowest loss, the
	// coverage nearest 80 %.
	for key, score := range map[string]func(float64) float64{
		"coverage80": func(v float64) float64 { return math.Abs(v - 80) }, "pinball_pct": func(v float64) float64 { return v },
		"winkler80_pct": func(v float64) float64 { return v },
	} {
		best := math.Inf(1)
		for _, k := range []string{"model", "adaptive", "best_baseline"} {
			best = min(best, score(d[k].(map[string]any)[key].(float64)))
		}
		for i, k := range []string{"model", "adaptive", "best_baseline"} {
			want := score(d[k].(map[string]any)[key].(float64)) <= best
			if got := eval[bool](t, b, fmt.Sprintf(`document.querySelector('#live-dist tbody tr:nth-child(%d) td[data-key=%s]').classList.contains('best')`, i+1, key)); got != want {
				t.Errorf("%s %s marked best: %v, want %v", k, key, got, want)
			}
		}
	}
	if got, want := text(t, b, "#live-dist tbody tr:nth-child(2) th"), map[string]string{"model+aci": "Model + ACI (served)", "model+faci": "Model + FACI (served)"}[d["adaptive"].(map[string]any)["method"].(string)]; got != want {
		t.Errorf("adaptive row %q, want %q", got, want)
	}
	names := map[string]string{"persistence_gauss30": "Persistence, Gaussian (30-day σ)", "ewma_t": "EWMA, Student-t",
		"garch11_t": "GARCH(1,1), Student-t", "empirical250": "Empirical quantiles (250 days)", "ewma_filtered250": "Filtered empirical (EWMA, 250 days)"}
	best := d["best_baseline"].(map[string]any)["method"].(string)
	if got, want := text(t, b, "#live-dist tbody tr:nth-child(3) th"), "Best baseline: "+names[best]; got != want {
		t.Errorf("best baseline row %q, want %q", got, want)
	}
}
