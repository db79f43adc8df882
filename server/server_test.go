package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/pipeline"
)

var d = closecast.MustParseDate

// fakePredictor forecasts from a fixed series by a rule that is easy to
// check by hand: the forecast of D is the close of D−1 plus 1 % (so
// prediction, last_close, change and change_pct are all derivable), with the
// same range rules as predict.Service (window 60, latest = last + 1).
// Special symbols trigger the errors the server must map.
type fakePredictor struct {
	series closecast.Series
	window int
	calls  int
	sleep  time.Duration
	// noDropout makes PredictHorizon fail as a model trained without
	// dropout does when asked for samples.
	noDropout bool
	// calibration, when set, makes the fake a calibrated model: conformal
	// intervals, and auto means conformal.
	calibration *pipeline.Calibration
	// directHead, when > 0, makes PredictHorizon refuse longer horizons as
	// a model with a direct head of that many outputs does.
	directHead int
}

func (f *fakePredictor) Predict(ctx context.Context, symbol string, date closecast.Date) (closecast.Prediction, error) {
	f.calls++
	if f.sleep > 0 {
		select {
		case <-time.After(f.sleep):
		case <-ctx.Done():
			return closecast.Prediction{}, ctx.Err()
		}
	}
	switch symbol {
	case "DOWN-USD":
		return closecast.Prediction{}, fmt.Errorf("fetching: %w", closecast.ErrUnavailable)
	case "LAYERED-DOWN":
		return closecast.Prediction{}, &closecast.UnavailableError{Symbol: symbol, RetryAt: time.Now().Add(90 * time.Second), Err: errors.New("dial tcp: refused")}
	case "BROKEN-USD":
		return closecast.Prediction{}, errors.New("weights file /secret/path is corrupt at offset 42")
	case "NAN-USD":
		return closecast.Prediction{Forecast: closecast.Forecast{Symbol: symbol, Date: date, Value: math.NaN()}}, nil
	case "PANIC-USD":
		panic("kernel bug at lstm.go:42")
	case "SLOW-USD":
		<-ctx.Done()
		return closecast.Prediction{}, ctx.Err()
	}
	if symbol != f.series.Symbol {
		return closecast.Prediction{}, fmt.Errorf("%w: %s", closecast.ErrUnknownSymbol, symbol)
	}
	first, _ := f.series.First()
	last, _ := f.series.Last()
	earliest := first.AddDays(f.window)
	if date < earliest || date > last+1 {
		return closecast.Prediction{}, &closecast.RangeError{Symbol: symbol, Date: date, Earliest: earliest, Latest: last + 1}
	}
	prev := f.series.Bars[f.series.Index(date-1)]
	p := closecast.Prediction{
		Forecast:  closecast.Forecast{Symbol: symbol, Date: date, Value: prev.Close * 1.01},
		Model:     "BTC-USD-test-0123456789ab",
		InputFrom: date.AddDays(-f.window),
		InputTo:   date - 1,
		LastClose: prev.Close,
	}
	if i := f.series.Index(date); i >= 0 {
		a := f.series.Bars[i].Close
		p.Actual = &a
	}
	return p, nil
}

// PredictHorizon makes the fake a HorizonPredictor: day k (from 0) is day
// 1's value × 1.01^k, its quantiles ±2 % and ±0 % around it, and the actual
// close where the series has the day. It resolves the interval as a
// predict.Service does: auto is conformal when calibrated, else
// mc_dropout, else none.
func (f *fakePredictor) PredictHorizon(ctx context.Context, symbol string, date closecast.Date, opt pipeline.HorizonOptions) (closecast.Horizon, error) {
	if err := opt.Validate(); err != nil {
		return closecast.Horizon{}, err
	}
	if opt.Interval == pipeline.IntervalAuto {
		switch {
		case f.calibration != nil:
			opt.Interval = pipeline.IntervalConformal
		case f.noDropout:
			opt.Interval = ""
		default:
			opt.Interval, opt.Samples = pipeline.IntervalMCDropout, pipeline.DefaultSamples
		}
	}
	if f.noDropout && opt.Interval == pipeline.IntervalMCDropout {
		return closecast.Horizon{}, fmt.Errorf("forecasting %s: %w", date, pipeline.ErrNoDropout)
	}
	if f.calibration == nil && opt.Interval == pipeline.IntervalConformal {
		return closecast.Horizon{}, fmt.Errorf("forecasting %s: %w", date, pipeline.ErrNotCalibrated)
	}
	if f.directHead > 0 && opt.Horizon > f.directHead {
		return closecast.Horizon{}, fmt.Errorf("%w: this model's direct head forecasts %d days, %d were asked", pipeline.ErrHorizonTooLong, f.directHead, opt.Horizon)
	}
	first, err := f.Predict(ctx, symbol, date)
	if err != nil {
		return closecast.Horizon{}, err
	}
	h := closecast.Horizon{First: first, Interval: opt.Interval}
	switch opt.Interval {
	case pipeline.IntervalMCDropout:
		h.Levels, h.Samples, h.Seed = opt.Levels, opt.Samples, opt.Seed
	case pipeline.IntervalConformal:
		h.Levels, h.Calibration = opt.Levels, f.calibration
	}
	v := first.Value
	for k := range opt.Horizon {
		day := closecast.HorizonDay{Date: date.AddDays(k), Value: v}
		if opt.Interval != "" {
			day.Quantiles = []float64{v * 0.98, v, v * 1.02}
		}
		if i := f.series.Index(day.Date); i >= 0 {
			a := f.series.Bars[i].Close
			day.Actual = &a
		}
		h.Days = append(h.Days, day)
		v *= 1.01
	}
	return h, nil
}

// memSource is a closecast.Source over one series.
type memSource struct{ series closecast.Series }

func (m memSource) Bars(_ context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	if from > to { // as history.Layered: a reversed range is the caller's bug
		return closecast.Series{}, fmt.Errorf("from %s is after to %s", from, to)
	}
	switch symbol {
	case m.series.Symbol:
		return m.series.Between(from, to), nil
	case "DOWN-USD":
		return closecast.Series{}, fmt.Errorf("%w: test", closecast.ErrUnavailable)
	case "BROKEN-USD":
		return closecast.Series{}, errors.New("disk on fire")
	}
	return closecast.Series{}, fmt.Errorf("%w: %s", closecast.ErrUnknownSymbol, symbol)
}

// testSeries is 200 days of BTC-USD from 2025-01-01, close = 100 + day index.
func testSeries() closecast.Series {
	start := d("2025-01-01")
	bars := make([]closecast.Bar, 200)
	for i := range bars {
		c := 100 + float64(i)
		bars[i] = closecast.Bar{Date: start.AddDays(i), Open: c, High: c + 1, Low: c - 1, Close: c, Volume: 10}
	}
	s, err := closecast.NewSeries("BTC-USD", bars)
	if err != nil {
		panic(err)
	}
	return s
}

var testDashboard = fstest.MapFS{
	"index.html":       {Data: []byte("<!doctype html><title>closecast</title>" + strings.Repeat("<p>dashboard</p>", 50))},
	"app.js":           {Data: []byte(strings.Repeat("console.log('closecast');\n", 40))},
	"vendor/chart.mjs": {Data: []byte(strings.Repeat("export const x = 1;\n", 40))},
	"favicon.svg":      {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
}

type testEnv struct {
	srv    *Server
	pred   *fakePredictor
	logs   *bytes.Buffer
	ledger *memLedger
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	pred := &fakePredictor{series: testSeries(), window: 60}
	logs := new(bytes.Buffer)
	ledger := &memLedger{}
	srv := New(Config{
		Predictor: pred,
		History:   memSource{pred.series},
		Model:     map[string]any{"version": "BTC-USD-test-0123456789ab", "symbol": "BTC-USD", "window": 60},
		Symbol:    "BTC-USD",
		Dashboard: testDashboard,
		Provider:  func() ProviderStats { return ProviderStats{Fetches: 7, Failures: 2} },
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
		Ledger:    ledger,
		// The fake predictor's failing symbols, and ETH-USD, which it does
		// not know (the predictor's 404); DOGE-USD stays outside the list.
		Symbols: []string{"ETH-USD", "DOWN-USD", "LAYERED-DOWN", "BROKEN-USD", "NAN-USD", "PANIC-USD", "SLOW-USD"},
	})
	t.Cleanup(func() { srv.Close(context.Background()) })
	return &testEnv{srv: srv, pred: pred, logs: logs, ledger: ledger}
}

// do sends one request through the handler and returns the recorder.
func (e *testEnv) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

func decodeBody[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("response %d %q is not the JSON expected: %v", w.Code, w.Body.String(), err)
	}
	return v
}

func TestPredictAnswersTheContract(t *testing.T) {
	e := newTestEnv(t)
	series := testSeries()
	for _, tc := range []struct {
		name, method, target, body string
		date                       closecast.Date
		wantActual                 bool
	}{
		{"post, reference body", "POST", "/predict", `{"date": "2025-05-01"}`, d("2025-05-01"), true},
		{"post, symbol lower-case, unknown member, horizon 1", "POST", "/predict", `{"date":"2025-05-02","symbol":"btc-usd","steps":3,"horizon":1}`, d("2025-05-02"), true},
		{"get", "GET", "/predict?date=2025-07-20", "", d("2025-07-20"), false}, // last bar is 2025-07-19: tomorrow
		{"get with symbol", "GET", "/predict?date=2025-03-03&symbol=BTC-USD", "", d("2025-03-03"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.method, tc.target, tc.body, "Content-Type", "application/json")
			if w.Code != 200 {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			// Decode into a generic map too, to check the member names.
			raw := decodeBody[map[string]any](t, w)
			for _, k := range []string{"prediction", "symbol", "date", "model", "inputs", "last_close", "change", "change_pct"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("member %q missing from %s", k, w.Body)
				}
			}
			if _, ok := raw["actual"]; ok != tc.wantActual {
				t.Errorf("actual present = %v, want %v (%s)", ok, tc.wantActual, w.Body)
			}
			got := decodeBody[PredictResponse](t, w)
			prev := series.Bars[series.Index(tc.date-1)].Close
			if got.Date != tc.date || got.Symbol != "BTC-USD" || got.Model != "BTC-USD-test-0123456789ab" {
				t.Errorf("date/symbol/model = %s/%s/%s", got.Date, got.Symbol, got.Model)
			}
			if math.Abs(got.Prediction-prev*1.01) > 1e-9 || got.LastClose != prev {
				t.Errorf("prediction %v last_close %v, want %v and %v", got.Prediction, got.LastClose, prev*1.01, prev)
			}
			if math.Abs(got.Change-prev*0.01) > 1e-9 || math.Abs(got.ChangePct-1) > 1e-9 {
				t.Errorf("change %v change_pct %v, want %v and 1", got.Change, got.ChangePct, prev*0.01)
			}
			if got.Inputs.From != tc.date.AddDays(-60) || got.Inputs.To != tc.date-1 || got.Inputs.Days != 60 {
				t.Errorf("inputs %+v", got.Inputs)
			}
			if tc.wantActual && *got.Actual != series.Bars[series.Index(tc.date)].Close {
				t.Errorf("actual %v", *got.Actual)
			}
		})
	}
}

func TestErrorsAreJSONWithCodeAndStatus(t *testing.T) {
	e := newTestEnv(t)
	big := `{"date":"2025-05-01","pad":"` + strings.Repeat("x", maxBody) + `"}`
	for _, tc := range []struct {
		name, method, target, body string
		status                     int
		code                       string
		msgHas                     string
		header                     [2]string
	}{
		{"malformed", "POST", "/predict", `{"date": `, 400, codeBadJSON, "not valid JSON", [2]string{}},
		{"not an object", "POST", "/predict", `["2025-05-01"]`, 400, codeBadJSON, "JSON object", [2]string{}},
		{"date of wrong type", "POST", "/predict", `{"date": 20250501}`, 400, codeBadJSON, `"date" must be a string`, [2]string{}},
		{"symbol of wrong type", "POST", "/predict", `{"date": "2025-05-01", "symbol": ["BTC"]}`, 400, codeBadJSON, `"symbol" must be a string`, [2]string{}},
		{"trailing data", "POST", "/predict", `{"date": "2025-05-01"} {"date": "2025-05-02"}`, 400, codeBadJSON, "after top-level value", [2]string{}},
		{"empty body", "POST", "/predict", ``, 400, codeBadJSON, "empty", [2]string{}},
		{"missing date", "POST", "/predict", `{"symbol": "BTC-USD"}`, 400, codeMissingDate, "Missing 'date' field", [2]string{}},
		{"null date", "POST", "/predict", `{"date": null}`, 400, codeMissingDate, "Missing 'date' field", [2]string{}},
		{"get without date", "GET", "/predict", ``, 400, codeMissingDate, "Missing 'date' field", [2]string{}},
		{"bad date", "POST", "/predict", `{"date": "20/07/2025"}`, 400, codeInvalidDate, `"20/07/2025"`, [2]string{}},
		{"impossible date", "GET", "/predict?date=2025-02-30", ``, 400, codeInvalidDate, "YYYY-MM-DD", [2]string{}},
		{"too early", "POST", "/predict", `{"date": "2025-01-05"}`, 422, codeOutOfRange, "dates from 2025-03-02 to 2025-07-20", [2]string{}},
		{"too late", "GET", "/predict?date=2025-07-21", ``, 422, codeOutOfRange, "2025-07-20", [2]string{}},
		{"unknown symbol", "POST", "/predict", `{"date": "2025-05-01", "symbol": "ETH-USD"}`, 404, codeUnknownSymbol, "ETH-USD", [2]string{}},
		{"garbage symbol", "POST", "/predict", `{"date": "2025-05-01", "symbol": "<script>"}`, 404, codeUnknownSymbol, "unknown symbol", [2]string{}},
		{"too large", "POST", "/predict", big, 413, codeTooLarge, "64 KiB", [2]string{}},
		{"wrong method", "DELETE", "/predict", ``, 405, codeMethodNotAllowed, "GET, HEAD, POST", [2]string{"Allow", "GET, HEAD, POST"}},
		{"provider down", "POST", "/predict", `{"date": "2025-05-01", "symbol": "DOWN-USD"}`, 503, codeUnavailable, "try again", [2]string{"Retry-After", "30"}},
		{"layered provider down", "POST", "/predict", `{"date": "2025-05-01", "symbol": "LAYERED-DOWN"}`, 503, codeUnavailable, "LAYERED-DOWN", [2]string{"Retry-After", "90"}},
		{"internal", "POST", "/predict", `{"date": "2025-05-01", "symbol": "BROKEN-USD"}`, 500, codeInternal, "request's id", [2]string{}},
		{"NaN forecast", "POST", "/predict", `{"date": "2025-05-01", "symbol": "NAN-USD"}`, 500, codeInternal, "request's id", [2]string{}},
		{"panic", "POST", "/predict", `{"date": "2025-05-01", "symbol": "PANIC-USD"}`, 500, codeInternal, "request's id", [2]string{}},
		{"history bad from", "GET", "/api/history?from=yesterday", ``, 400, codeInvalidDate, "'from'", [2]string{}},
		{"history reversed", "GET", "/api/history?from=2025-03-01&to=2025-02-01", ``, 400, codeInvalidDate, "after", [2]string{}},
		{"history too long", "GET", "/api/history?from=1990-01-01&to=2025-02-01", ``, 400, codeInvalidDate, "spans", [2]string{}},
		{"history unknown", "GET", "/api/history?symbol=DOGE-USD", ``, 404, codeUnknownSymbol, "DOGE-USD", [2]string{}},
		{"history provider down", "GET", "/api/history?symbol=DOWN-USD", ``, 503, codeUnavailable, "try again", [2]string{"Retry-After", "30"}},
		{"history internal", "GET", "/api/history?symbol=BROKEN-USD", ``, 500, codeInternal, "request's id", [2]string{}},
		{"no such path", "GET", "/nope", ``, 404, codeNotFound, `"/nope"`, [2]string{}},
		{"post to healthz", "POST", "/healthz", `{}`, 405, codeMethodNotAllowed, "GET, HEAD", [2]string{"Allow", "GET, HEAD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.method, tc.target, tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			got := decodeBody[errorBody](t, w)
			if got.Code != tc.code || !strings.Contains(got.Error, tc.msgHas) {
				t.Errorf("got %+v, want code %q and a message with %q", got, tc.code, tc.msgHas)
			}
			if tc.header[0] != "" && w.Header().Get(tc.header[0]) != tc.header[1] {
				t.Errorf("%s: %q, want %q", tc.header[0], w.Header().Get(tc.header[0]), tc.header[1])
			}
			if tc.status == 503 && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if tc.status == 500 {
				for _, leak := range []string{"secret", "offset", "panic", "goroutine", "lstm.go", "NaN"} {
					if strings.Contains(w.Body.String(), leak) {
						t.Errorf("500 body leaks %q: %s", leak, w.Body)
					}
				}
			}
			if tc.code == codeOutOfRange {
				if got.Valid == nil || got.Valid.From != d("2025-03-02") || got.Valid.To != d("2025-07-20") {
					t.Errorf("valid = %+v, want 2025-03-02..2025-07-20", got.Valid)
				}
			} else if got.Valid != nil {
				t.Errorf("valid on a %s error", got.Code)
			}
		})
	}
}

func TestInternalErrorDetailsAreLoggedUnderTheRequestID(t *testing.T) {
	e := newTestEnv(t)
	w := e.do("POST", "/predict", `{"date":"2025-05-01","symbol":"BROKEN-USD"}`, "X-Request-Id", "trace-abc-123")
	if w.Code != 500 || w.Header().Get("X-Request-Id") != "trace-abc-123" {
		t.Fatalf("status %d, id %q", w.Code, w.Header().Get("X-Request-Id"))
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["request_id"] == "trace-abc-123" {
			found = true
			if rec["level"] != "ERROR" || rec["status"] != float64(500) || !strings.Contains(fmt.Sprint(rec["err"]), "offset 42") || rec["route"] != "/predict" {
				t.Errorf("log record %v lacks the details", rec)
			}
		}
	}
	if !found {
		t.Fatalf("no log line with the request id:\n%s", e.logs)
	}
}

func TestRequestIDIsGeneratedUniqueAndBadOnesReplaced(t *testing.T) {
	e := newTestEnv(t)
	seen := map[string]bool{}
	for range 100 {
		id := e.do("GET", "/healthz", "").Header().Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Fatalf("id %q empty or repeated", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{strings.Repeat("a", 129), "has space", "new\x7fline"} {
		if id := e.do("GET", "/healthz", "", "X-Request-Id", bad).Header().Get("X-Request-Id"); id == bad || id == "" {
			t.Errorf("bad id %q was echoed as %q", bad, id)
		}
	}
}

func TestHistory(t *testing.T) {
	e := newTestEnv(t)
	series := testSeries()
	last, _ := series.Last()
	for _, tc := range []struct {
		target   string
		from, to closecast.Date
	}{
		{"/api/history?from=2025-02-01&to=2025-02-10", d("2025-02-01"), d("2025-02-10")},
		{"/api/history?symbol=btc-usd&from=2025-07-01", d("2025-07-01"), last},               // from from to the last known day
		{"/api/history?to=2025-03-01", d("2025-01-01"), d("2025-03-01")},                     // a year to to, data starts later
		{"/api/history", last.AddDays(1 - historyDefaultDays), last},                         // the year up to the last known day
		{"/api/history?from=2030-01-01&to=2030-02-01", d("2030-01-01"), d("2030-01-01") - 1}, // no bars: empty list
		{"/api/history?from=2999-01-01", d("2999-01-01"), d("2999-01-01") - 1},               // from in the future: empty, not a 500
	} {
		w := e.do("GET", tc.target, "")
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", tc.target, w.Code, w.Body)
		}
		if !strings.Contains(w.Body.String(), `"bars":[`) {
			t.Errorf("%s: bars is not a list: %.80s", tc.target, w.Body)
		}
		got := decodeBody[historyResponse](t, w)
		want := series.Between(tc.from, tc.to).Bars
		if got.Symbol != "BTC-USD" || len(got.Bars) != len(want) {
			t.Fatalf("%s: %s with %d bars, want %d", tc.target, got.Symbol, len(got.Bars), len(want))
		}
		for i := range want {
			if got.Bars[i] != want[i] {
				t.Fatalf("%s: bar %d = %+v, want %+v", tc.target, i, got.Bars[i], want[i])
			}
		}
	}
}

func TestProbesModelAndNotReady(t *testing.T) {
	e := newTestEnv(t)
	if w := e.do("GET", "/healthz", ""); w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"status":"ok"}` {
		t.Errorf("healthz %d %s", w.Code, w.Body)
	}
	if w := e.do("GET", "/readyz", ""); w.Code != 200 {
		t.Errorf("readyz %d", w.Code)
	}
	w := e.do("GET", "/api/model", "")
	if m := decodeBody[map[string]any](t, w); w.Code != 200 || m["version"] != "BTC-USD-test-0123456789ab" || m["window"] != float64(60) {
		t.Errorf("model %d %s", w.Code, w.Body)
	}

	// No model: alive, not ready; forecasts are 503 with Retry-After.
	empty := &testEnv{srv: New(Config{})}
	if w := empty.do("GET", "/healthz", ""); w.Code != 200 {
		t.Errorf("healthz without model %d", w.Code)
	}
	for _, target := range []string{"/readyz", "/api/model", "/predict?date=2025-01-01", "/api/history"} {
		w := empty.do("GET", target, "")
		if got := decodeBody[errorBody](t, w); w.Code != 503 || got.Code != codeUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s without model: %d %s", target, w.Code, w.Body)
		}
	}
	// Metadata that cannot be encoded is "not ready", not a crash.
	bad := &testEnv{srv: New(Config{Predictor: e.pred, Model: map[string]any{"x": math.Inf(1)}})}
	if w := bad.do("GET", "/readyz", ""); w.Code != 503 {
		t.Errorf("readyz with unencodable model %d", w.Code)
	}
}

func TestForecastTimesOutAs503(t *testing.T) {
	e := newTestEnv(t)
	r := httptest.NewRequest("POST", "/predict", strings.NewReader(`{"date":"2025-05-01","symbol":"SLOW-USD"}`))
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Millisecond)
	defer cancel()
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r.WithContext(ctx))
	if w.Code != 503 {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
}

func TestDashboardIsServedWithCachingAndGzip(t *testing.T) {
	e := newTestEnv(t)
	w := e.do("GET", "/", "")
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "<!doctype html>") || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("/ = %d %q %.40q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("Content-Encoding") != "" {
		t.Errorf("headers %v", w.Header())
	}
	// Revalidation: 304 with no body.
	if w := e.do("GET", "/", "", "If-None-Match", `"other", `+etag); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", w.Code, w.Body.Len())
	}
	// gzip when accepted, and it decodes to the file.
	w = e.do("GET", "/app.js", "", "Accept-Encoding", "br, gzip;q=0.8")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("app.js headers %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != string(testDashboard["app.js"].Data) {
		t.Errorf("gunzipped app.js differs")
	}
	if w := e.do("GET", "/app.js", "", "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip sent despite q=0")
	}
	if w := e.do("GET", "/vendor/chart.mjs", ""); w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=86400" || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("vendor file %d %v", w.Code, w.Header())
	}
	for _, p := range []string{"/missing.js", "/../secret", "/vendor/", "/index.html/"} {
		if w := e.do("GET", p, ""); w.Code != 404 {
			t.Errorf("%s = %d", p, w.Code)
		}
	}
	// Without a dashboard, / is a JSON 404.
	none := &testEnv{srv: New(Config{})}
	if w := none.do("GET", "/", ""); w.Code != 404 || decodeBody[errorBody](t, w).Code != codeNotFound {
		t.Errorf("/ without dashboard: %d %s", w.Code, w.Body)
	}
}

func TestMetricsCountRequestsByRouteAndCode(t *testing.T) {
	e := newTestEnv(t)
	for range 3 {
		e.do("POST", "/predict", `{"date":"2025-05-01"}`)
	}
	e.do("POST", "/predict", `{"date":"1999-05-01"}`)
	e.do("GET", "/wp-login.php", "")
	w := e.do("GET", "/metrics", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics %d %v", w.Code, w.Header())
	}
	text := w.Body.String()
	for _, want := range []string{
		`closecast_http_requests_total{route="/predict",code="200"} 3` + "\n",
		`closecast_http_requests_total{route="/predict",code="422"} 1` + "\n",
		`closecast_http_requests_total{route="other",code="404"} 1` + "\n",
		`closecast_http_request_duration_seconds_bucket{route="/predict",code="200",le="+Inf"} 3` + "\n",
		`closecast_http_request_duration_seconds_count{route="/predict",code="200"} 3` + "\n",
		`closecast_prediction_duration_seconds_count{symbol="BTC-USD"} 3` + "\n",
		`closecast_prediction_errors_total{symbol="BTC-USD"} 1` + "\n",
		`closecast_provider_fetches_total 7` + "\n",
		`closecast_provider_failures_total 2` + "\n",
		"# TYPE closecast_http_request_duration_seconds histogram\n",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every sample line is "name{labels} value" or "name value", and bucket
	// counts never decrease.
	var prev uint64
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); i < 0 || err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		if strings.Contains(line, "_bucket{") {
			if strings.Contains(line, `le="0.0001"`) || strings.Contains(line, `le="1e-05"`) {
				prev = 0
			}
			if uint64(v) < prev {
				t.Errorf("bucket count decreases at %q", line)
			}
			prev = uint64(v)
		}
	}
}

func TestDecodePredictAcceptsOnlyOneWellTypedValue(t *testing.T) {
	for _, tc := range []struct {
		body, sym string
		date      closecast.Date
		code      string
	}{
		{`{"date":"2025-07-20"}`, "", d("2025-07-20"), ""},
		{" \n{\"date\":\"2025-07-20\"}\n ", "", d("2025-07-20"), ""},
		{`{"date":"2025-07-20","symbol":"eth-usd","extra":{"nested":[1,2]}}`, "ETH-USD", d("2025-07-20"), ""},
		{`{"date":"2025-07-20","symbol":""}`, "", d("2025-07-20"), ""},
		{`{"date":"2025-07-20","symbol":null}`, "", d("2025-07-20"), ""},
		{`{"date":""}`, "", 0, codeMissingDate},
		{`{}`, "", 0, codeMissingDate},
		{`null`, "", 0, codeMissingDate},
		{`{"date":"2025-7-20"}`, "", 0, codeInvalidDate},
		{`{"date":"2025-07-20T00:00:00Z"}`, "", 0, codeInvalidDate},
		{`{"date":true}`, "", 0, codeBadJSON},
		{`"2025-07-20"`, "", 0, codeBadJSON},
		{`{"date":"2025-07-20"}x`, "", 0, codeBadJSON},
		{`{"date":"2025-07-20",}`, "", 0, codeBadJSON},
		{"\xff", "", 0, codeBadJSON},
	} {
		p, e := decodePredict([]byte(tc.body))
		code := ""
		if e != nil {
			code = e.Code
		}
		if sym, date := p.symbol, p.date; code != tc.code || sym != tc.sym || date != tc.date {
			t.Errorf("%q → (%q, %s, %q), want (%q, %s, %q)", tc.body, sym, date, code, tc.sym, tc.date, tc.code)
		}
	}
}

// FuzzDecodePredict: any body gives either a valid request or an error that
// is a 400/404 with a known code and a non-empty message; never a panic.
func FuzzDecodePredict(f *testing.F) {
	for _, s := range []string{`{"DATE":"2025-07-20"}`, `{"date":"2025-07-20","Symbol":"ETH-USD"}`, `{"d\u0061te":"2025-07-20"}`, `{"date":"2025-07-20"}`, `{"date":"2025-07-20","symbol":"BTC-USD"}`, `{"date":1}`, `[`, `null`, `{"date":"2025-02-30"}`, `{"symbol":"x"}`,
		`{"date":"2025-07-20","horizon":7}`, `{"date":"2025-07-20","horizon":7,"samples":0}`, `{"date":"2025-07-20","horizon":"7"}`, `{"date":"2025-07-20","samples":1}`, `{"date":"2025-07-20","horizon":1e1}`,
		`{"date":"2025-07-20","quantiles":[5,50,95]}`, `{"date":"2025-07-20","quantiles":[50,5]}`, `{"date":"2025-07-20","quantiles":"5,50"}`, `{"date":"2025-07-20","Quantiles":[2.5,97.5],"samples":0}`,
		`{"date":"2025-07-20","interval":"ensemble","quantiles":[2.5,50]}`, `{"date":"2025-07-20","interval":"ensemble","samples":5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, e := decodePredict(body)
		if e != nil {
			switch e.Code {
			case codeBadJSON, codeMissingDate, codeInvalidDate, codeInvalidHorizon, codeInvalidSamples, codeInvalidInterval, codeInvalidQuantiles:
				if e.Status != 400 {
					t.Fatalf("%s with status %d", e.Code, e.Status)
				}
			case codeUnknownSymbol:
				if e.Status != 404 {
					t.Fatalf("%s with status %d", e.Code, e.Status)
				}
			default:
				t.Fatalf("unexpected code %q", e.Code)
			}
			if e.Message == "" || len(e.Message) > 300 {
				t.Fatalf("message %q", e.Message)
			}
			return
		}
		// Accepted: the body really is one JSON object with that date.
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted a body that is not a JSON object: %v", err)
		}
		if p.date.String() == "" || p.symbol != strings.ToUpper(p.symbol) {
			t.Fatalf("accepted %q → %q %s", body, p.symbol, p.date)
		}
		if _, err := closecast.ParseDate(p.date.String()); err != nil {
			t.Fatalf("date %s does not round-trip", p.date)
		}
		// The options are in range, and given ones are what the body says.
		if p.horizon < 1 || p.horizon > maxHorizon || p.samples < 0 || p.samples == 1 || p.samples > maxSamples {
			t.Fatalf("accepted %q → horizon %d, samples %d", body, p.horizon, p.samples)
		}
		if h, ok := m["horizon"].(float64); ok && h != float64(p.horizon) {
			t.Fatalf("accepted %q → horizon %d", body, p.horizon)
		}
		if k, ok := m["samples"].(float64); ok && k != float64(p.samples) {
			t.Fatalf("accepted %q → samples %d", body, p.samples)
		}
		// Accepted quantiles are ascending levels in (0, 100) and need an interval.
		if len(p.quantiles) > maxQuantiles || p.quantiles != nil && p.interval == "" {
			t.Fatalf("accepted %q → quantiles %v, interval %q", body, p.quantiles, p.interval)
		}
		for k, v := range p.quantiles {
			if !(v > 0 && v < 100) || k > 0 && v <= p.quantiles[k-1] {
				t.Fatalf("accepted %q → quantiles %v", body, p.quantiles)
			}
		}
	})
}
