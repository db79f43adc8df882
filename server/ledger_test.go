package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/sqlite"
)

// memLedger is a Ledger in memory: it keeps every batch it is given. Its
// Scored returns scored (set by the test), but fails for the symbols the
// other fakes fail for: BROKEN-USD with an unknown error, DOWN-USD with a
// timeout.
type memLedger struct {
	mu      sync.Mutex
	batches [][]closecast.Prediction
	ats     []time.Time
	scored  []closecast.Prediction
	block   chan struct{} // when set, Record waits for it to be closed
}

func (m *memLedger) Record(ctx context.Context, at time.Time, ps []closecast.Prediction) error {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = append(m.batches, append([]closecast.Prediction(nil), ps...))
	m.ats = append(m.ats, at)
	return nil
}

func (m *memLedger) Scored(ctx context.Context, symbol string, days int) ([]closecast.Prediction, error) {
	switch symbol {
	case "BROKEN-USD":
		return nil, errors.New("database disk image is malformed")
	case "DOWN-USD":
		return nil, fmt.Errorf("reading the ledger: %w", context.DeadlineExceeded)
	}
	return m.scored, nil
}

// recorded returns every forecast recorded so far, in order.
func (m *memLedger) recorded() []closecast.Prediction {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []closecast.Prediction
	for _, b := range m.batches {
		out = append(out, b...)
	}
	return out
}

func TestPredictRecordsLiveForecastsOnly(t *testing.T) {
	e := newTestEnv(t)
	at := time.Date(2025, 7, 19, 15, 4, 5, 0, time.UTC)
	e.srv.now = func() time.Time { return at }
	// 2025-07-20 is the day after the last bar (a live forecast); 2025-05-01
	// is a closed day (a backtest, actual known): only the first is recorded.
	for _, body := range []string{`{"date":"2025-07-20"}`, `{"date":"2025-05-01"}`, `{"date":"2025-07-20","symbol":"btc-usd"}`} {
		if w := e.do("POST", "/predict", body); w.Code != 200 {
			t.Fatalf("%s: %d %s", body, w.Code, w.Body)
		}
	}
	if w := e.do("POST", "/predict", `{"date":"2024-01-01"}`); w.Code != 422 {
		t.Fatalf("out of range: %d", w.Code)
	}
	if err := e.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := e.ledger.recorded()
	if len(got) != 1 {
		t.Fatalf("recorded %d forecasts; want the live one once (its repeat in the same second is not queued)", len(got))
	}
	series := testSeries()
	lastClose := series.Bars[len(series.Bars)-1].Close
	for _, p := range got {
		if p.Symbol != "BTC-USD" || p.Date != d("2025-07-20") || p.Value != lastClose*1.01 || p.LastClose != lastClose || p.Model != "BTC-USD-test-0123456789ab" || p.Actual != nil {
			t.Errorf("recorded %+v; want BTC-USD 2025-07-20 %v from %v", p, lastClose*1.01, lastClose)
		}
	}
	for _, a := range e.ledger.ats {
		if !a.Equal(at) {
			t.Errorf("recorded at %v; want the request's time %v", a, at)
		}
	}
	// After Close, answers still work; they are just not recorded.
	if w := e.do("POST", "/predict", `{"date":"2025-07-20"}`); w.Code != 200 {
		t.Fatalf("after Close: %d", w.Code)
	}
}

func TestLedgerWriterNeverSlowsPredict(t *testing.T) {
	e := newTestEnv(t)
	e.ledger.block = make(chan struct{}) // the store hangs
	// A second per request, so that no forecast repeats the one before in
	// the same second (those are not queued at all).
	var tick atomic.Int64
	e.srv.now = func() time.Time { return time.Unix(1_750_000_000+tick.Add(1), 0) }
	n := ledgerQueue + ledgerBatch + 50
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			if w := e.do("GET", "/predict?date=2025-07-20", ""); w.Code != 200 {
				t.Errorf("predict: %d", w.Code)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		close(e.ledger.block)
		t.Fatal("/predict waited for a hung ledger")
	}
	text := e.do("GET", "/metrics", "").Body.String()
	// The writer holds at most one batch, the queue ledgerQueue forecasts:
	// the rest were dropped and counted.
	var dropped uint64
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, "closecast_ledger_dropped_total "); ok {
			fmt.Sscan(v, &dropped)
		}
	}
	if min := uint64(n - ledgerQueue - ledgerBatch); dropped < min {
		t.Errorf("closecast_ledger_dropped_total = %d; want at least %d", dropped, min)
	}
	close(e.ledger.block)
	if err := e.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Everything queued was flushed; a burst of one forecast is one row per
	// batch, at the newest time of the batch, later batch by batch.
	if got := e.ledger.recorded(); len(got) == 0 || len(got) != len(e.ledger.batches) {
		t.Errorf("recorded %d forecasts in %d batches; want one per batch", len(got), len(e.ledger.batches))
	}
	for i := 1; i < len(e.ledger.ats); i++ {
		if !e.ledger.ats[i].After(e.ledger.ats[i-1]) {
			t.Errorf("batch %d recorded at %v, not after batch %d's %v", i, e.ledger.ats[i], i-1, e.ledger.ats[i-1])
		}
	}
	if !strings.Contains(e.do("GET", "/metrics", "").Body.String(), "closecast_ledger_failed_total 0\n") {
		t.Error("metrics lack closecast_ledger_failed_total 0")
	}
}

// slowLedger takes a while to write each batch, so that forecasts are still
// queued when the server is told to stop.
type slowLedger struct {
	memLedger
	delay time.Duration
}

func (s *slowLedger) Record(ctx context.Context, at time.Time, ps []closecast.Prediction) error {
	time.Sleep(s.delay)
	return s.memLedger.Record(ctx, at, ps)
}

func TestServeFlushesTheLedgerOnShutdown(t *testing.T) {
	// Every answer is a live forecast of a different day, so none is
	// deduplicated away and the count says whether the queue was flushed.
	ledger := &slowLedger{delay: 30 * time.Millisecond}
	srv := New(Config{Predictor: liveEveryDay{}, Model: map[string]string{"version": "m"}, Ledger: ledger})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	const n = 40
	start := d("2026-01-01")
	for i := range n {
		resp, err := http.Get(fmt.Sprintf("http://%s/predict?date=%s", ln.Addr(), start.AddDays(i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("predict: %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	got := ledger.recorded()
	if len(got) != n {
		t.Fatalf("recorded %d forecasts after shutdown; want all %d", len(got), n)
	}
	seen := map[closecast.Date]bool{}
	for _, p := range got {
		seen[p.Date] = true
	}
	if len(seen) != n {
		t.Errorf("recorded %d distinct days; want %d", len(seen), n)
	}
}

// liveEveryDay forecasts 2 × the day number for any date, never with an actual.
type liveEveryDay struct{}

func (liveEveryDay) Predict(_ context.Context, symbol string, date closecast.Date) (closecast.Prediction, error) {
	return closecast.Prediction{Forecast: closecast.Forecast{Symbol: symbol, Date: date, Value: 2 * float64(date)},
		Model: "m", InputFrom: date - 60, InputTo: date - 1, LastClose: float64(date)}, nil
}

// TestAccuracyAgainstTheRealStore records live forecasts through /predict
// into a real SQLite store, stores the closes that follow, and checks
// /api/accuracy's rows and rolling errors against values recomputed here.
func TestAccuracyAgainstTheRealStore(t *testing.T) {
	db, err := sqlite.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	full := testSeries() // closes 100, 101, …; the fake forecasts close(D−1) × 1.01
	pred := &fakePredictor{window: 60}
	srv := New(Config{Predictor: pred, Model: map[string]string{"version": "v"}, Symbol: "BTC-USD", Ledger: db})
	e := &testEnv{srv: srv, pred: pred}

	// Five mornings: each day the series ends the day before, and the
	// dashboard asks for that day (a live forecast).
	const days = 5
	lastIdx := len(full.Bars) - 1 - days
	for i := range days {
		pred.series = closecast.Series{Symbol: "BTC-USD", Bars: full.Bars[:lastIdx+1+i]}
		target := full.Bars[lastIdx+1+i].Date
		if w := e.do("POST", "/predict", fmt.Sprintf(`{"date":%q}`, target)); w.Code != 200 {
			t.Fatalf("predict %s: %d %s", target, w.Code, w.Body)
		}
	}
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := e.do("GET", "/api/accuracy", "")
	if a := decodeBody[accuracyResponse](t, w); w.Code != 200 || a.N != 0 || a.Model != nil || a.Rows == nil || len(a.Rows) != 0 {
		t.Fatalf("before any close arrived: %d %s; want n 0, model null, rows []", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), `"model":null`) {
		t.Errorf("model is not null with n = 0: %s", w.Body)
	}

	// The closes arrive (a fetch); but the last day's, which is still open.
	if _, _, err := db.Upsert(context.Background(), "BTC-USD", full.Bars[:len(full.Bars)-1]); err != nil {
		t.Fatal(err)
	}
	w = e.do("GET", "/api/accuracy?symbol=btc-usd&days=30", "")
	a := decodeBody[accuracyResponse](t, w)
	if w.Code != 200 || a.Symbol != "BTC-USD" || a.Days != 30 || a.N != days-1 || len(a.Rows) != days-1 {
		t.Fatalf("accuracy: %d %s; want %d rows", w.Code, w.Body, days-1)
	}
	var mae, mape, pmae, pmape float64
	for k, r := range a.Rows {
		i := len(full.Bars) - 2 - k // newest first
		want := full.Bars[i-1].Close * 1.01
		actual := full.Bars[i].Close
		if r.Date != full.Bars[i].Date || r.Predicted != want || r.Actual != actual || r.LastClose != full.Bars[i-1].Close ||
			r.Error != want-actual || r.PersistenceError != math.Abs(actual-full.Bars[i-1].Close) || r.Model != "BTC-USD-test-0123456789ab" {
			t.Errorf("row %d: %+v; want %s predicted %v actual %v", k, r, full.Bars[i].Date, want, actual)
		}
		mae += math.Abs(want - actual)
		mape += math.Abs(want-actual) / actual
		pmae += math.Abs(actual - full.Bars[i-1].Close)
		pmape += math.Abs(actual-full.Bars[i-1].Close) / actual
	}
	n := float64(days - 1)
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	if a.Model == nil || a.Persistence == nil || !near(a.Model.MAE, mae/n) || !near(a.Model.MAPE, 100*mape/n) ||
		!near(a.Persistence.MAE, pmae/n) || !near(a.Persistence.MAPE, 100*pmape/n) {
		t.Fatalf("rolling errors %+v / %+v; want model %v, %v %%, persistence %v, %v %%",
			a.Model, a.Persistence, mae/n, 100*mape/n, pmae/n, 100*pmape/n)
	}
	// Persistence misses by exactly 1 a day here, and the model by
	// 0.01 × close − 1, which is larger: the numbers can tell them apart.
	if a.Persistence.MAE != 1 || a.Model.MAE <= 1 {
		t.Errorf("persistence MAE %v (want 1), model MAE %v (want > 1)", a.Persistence.MAE, a.Model.MAE)
	}

	// days=2: the two newest scored days only.
	a = decodeBody[accuracyResponse](t, e.do("GET", "/api/accuracy?days=2", ""))
	if a.N != 2 || a.Rows[0].Date != full.Bars[len(full.Bars)-2].Date || a.Rows[1].Date != full.Bars[len(full.Bars)-3].Date {
		t.Errorf("days=2: %+v", a)
	}
}

func TestAccuracyErrors(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		env    *testEnv
		target string
		status int
		code   string
	}{
		{&testEnv{srv: New(Config{})}, "/api/accuracy", 404, codeNoLedger},
		{e, "/api/accuracy?days=0", 400, codeInvalidDays},
		{e, "/api/accuracy?days=3661", 400, codeInvalidDays},
		{e, "/api/accuracy?days=1.5", 400, codeInvalidDays},
		{e, "/api/accuracy?symbol=" + strings.Repeat("X", 40), 404, codeUnknownSymbol},
		{e, "/api/accuracy?symbol=BROKEN-USD", 500, codeInternal},
		{e, "/api/accuracy?symbol=DOWN-USD", 503, codeUnavailable},
	} {
		w := tc.env.do("GET", tc.target, "")
		if b := decodeBody[errorBody](t, w); w.Code != tc.status || b.Code != tc.code {
			t.Errorf("%s: %d %s; want %d %s", tc.target, w.Code, w.Body, tc.status, tc.code)
		}
	}
	if w := e.do("POST", "/api/accuracy", "{}"); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /api/accuracy: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// FuzzAccuracyQuery sends any query string to /api/accuracy: the answer is a
// 200 whose days is the one asked (or 30) and whose n counts its rows, a 400
// invalid_days or a 404 unknown_symbol; never a 500 or a panic.
func FuzzAccuracyQuery(f *testing.F) {
	for _, s := range []string{"", "days=7", "symbol=eth-usd&days=3660", "days=0", "days=-1", "days=1e3", "days=%zz", "symbol=%00", "days=3661", "days= 5", "days=5&days=6"} {
		f.Add(s)
	}
	e := newTestEnv(f)
	a := 101.0
	e.ledger.scored = []closecast.Prediction{{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: d("2025-07-19"), Value: 100}, Model: "m", LastClose: 99, Actual: &a}}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("GET", "/api/accuracy", nil)
		r.URL.RawQuery = query
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, r)
		switch w.Code {
		case 200:
			var got accuracyResponse
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("200 body %q: %v", w.Body, err)
			}
			want := 30
			if v := r.URL.Query().Get("days"); v != "" {
				want, _ = strconv.Atoi(v)
			}
			if got.Days != want || got.Days < 1 || got.Days > accuracyMaxDays || got.N != len(got.Rows) || got.N != 1 {
				t.Fatalf("query %q: days %d (want %d), n %d, %d rows", query, got.Days, want, got.N, len(got.Rows))
			}
		case 400, 404:
			b := decodeBody[errorBody](t, w)
			if (w.Code == 400) != (b.Code == codeInvalidDays) || (w.Code == 404) != (b.Code == codeUnknownSymbol) {
				t.Fatalf("query %q: %d %s", query, w.Code, w.Body)
			}
		case 500, 503: // memLedger's deliberate faults, and only those
			if sym := strings.ToUpper(r.URL.Query().Get("symbol")); sym != "BROKEN-USD" && sym != "DOWN-USD" {
				t.Fatalf("query %q: %d %s", query, w.Code, w.Body)
			}
		default:
			t.Fatalf("query %q: %d %s", query, w.Code, w.Body)
		}
	})
}

// refusingLedger refuses the first fails batches (as a store busy past its
// timeout would), then records like memLedger.
type refusingLedger struct {
	memLedger
	fails    atomic.Int64
	attempts atomic.Int64
}

func (l *refusingLedger) Record(ctx context.Context, at time.Time, ps []closecast.Prediction) error {
	l.attempts.Add(1)
	if l.fails.Add(-1) >= 0 {
		return fmt.Errorf("sqlite: record forecasts: database is locked: %w", closecast.ErrUnavailable)
	}
	return l.memLedger.Record(ctx, at, ps)
}

func liveForecast(i int) closecast.Prediction {
	return closecast.Prediction{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: closecast.MustParseDate("2026-01-01").AddDays(i), Value: 100}, Model: "m1", LastClose: 99}
}

// waitFor polls cond; the deadline is a hang guard only.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// A batch the ledger refuses is retried with back-off and, once the ledger
// recovers, recorded: nothing is dropped.
func TestLedgerRetriesARefusedBatch(t *testing.T) {
	l := &refusingLedger{}
	l.fails.Store(3)
	w := newLedgerWriter(l, slog.New(slog.DiscardHandler))
	w.backoff = time.Millisecond
	for i := range 5 {
		w.enqueue(liveForecast(i), time.Unix(1e9, 0))
	}
	waitFor(t, "the batch to be recorded", func() bool { return w.recorded.Load() == 5 })
	if err := w.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(l.recorded()); got != 5 || w.failed.Load() != 0 || w.retries.Load() != 3 {
		t.Fatalf("recorded %d, failed %d, retries %d; want 5, 0, 3", got, w.failed.Load(), w.retries.Load())
	}
}

// A batch refused on every try is dropped after ledgerAttempts tries, and
// counted in closecast_ledger_failed_total.
func TestLedgerCountsWhatItFinallyDrops(t *testing.T) {
	l := &refusingLedger{}
	l.fails.Store(math.MaxInt32)
	w := newLedgerWriter(l, slog.New(slog.DiscardHandler))
	w.backoff = time.Millisecond
	for i := range 7 {
		w.enqueue(liveForecast(i), time.Unix(1e9, 0))
	}
	waitFor(t, "the batch to be dropped", func() bool { return w.failed.Load() > 0 })
	if err := w.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.failed.Load() != 7 || l.attempts.Load() != ledgerAttempts || len(l.recorded()) != 0 {
		t.Fatalf("failed %d after %d attempts, %d recorded; want 7 after %d, 0", w.failed.Load(), l.attempts.Load(), len(l.recorded()), ledgerAttempts)
	}
	m := newExposition(nil)
	m.watchLedger(w)
	b := httptest.NewRecorder()
	m.handler.ServeHTTP(b, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(b.Body.String(), "closecast_ledger_failed_total 7\n") {
		t.Errorf("metrics lack closecast_ledger_failed_total 7:\n%s", b.Body.String())
	}
}

// fakeScorer is a DistributionScorer answering acc, or err.
type fakeScorer struct {
	acc      *closecast.DistributionAccuracy
	err      error
	gotDays  int
	gotSym   string
	requests int
}

func (f *fakeScorer) ScoreDistribution(_ context.Context, symbol string, days int) (*closecast.DistributionAccuracy, error) {
	f.requests++
	f.gotSym, f.gotDays = symbol, days
	return f.acc, f.err
}

// TestAccuracyDistribution: /api/accuracy carries the scorer's
// distribution for the asked symbol and window, and the rows their
// recorded 80 % interval; a scorer that fails loses the distribution
// (null, logged), never the point scores.
func TestAccuracyDistribution(t *testing.T) {
	a1, a2 := 100.0, 120.0
	q := new(closecast.Distribution)
	for k, l := range closecast.DistributionLevels {
		q[k] = 80 + 40*l // the 80 % interval is 84..116
	}
	led := &memLedger{scored: []closecast.Prediction{
		{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: closecast.MustParseDate("2026-01-02"), Value: 101}, Model: "m", LastClose: 99, Actual: &a2, Quantiles: q},
		{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: closecast.MustParseDate("2026-01-01"), Value: 101}, Model: "m", LastClose: 99, Actual: &a1},
	}}
	sc := &fakeScorer{acc: &closecast.DistributionAccuracy{N: 1, Baselines: []closecast.DistributionScore{}}}
	e := &testEnv{srv: New(Config{Predictor: liveEveryDay{}, Model: map[string]string{"version": "m"}, Symbol: "BTC-USD", Ledger: led, Distribution: sc})}
	var body struct {
		N            int                             `json:"n"`
		Model        *errorStats                     `json:"model"`
		Distribution *closecast.DistributionAccuracy `json:"distribution"`
		Rows         []accuracyRow                   `json:"rows"`
	}
	w := e.do("GET", "/api/accuracy?days=7", "")
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if body.Distribution == nil || body.Distribution.N != 1 || sc.gotSym != "BTC-USD" || sc.gotDays != 7 {
		t.Errorf("distribution %+v asked for %s, %d days; want the scorer's, for BTC-USD, 7 days", body.Distribution, sc.gotSym, sc.gotDays)
	}
	r0, r1 := body.Rows[0], body.Rows[1]
	if r0.P10 == nil || *r0.P10 != 84 || *r0.P90 != 116 || *r0.Covered || r1.P10 != nil || r1.Covered != nil {
		t.Errorf("rows %+v %+v; want the first's 84..116 missing 120, the second without an interval", r0, r1)
	}
	sc.acc, sc.err = nil, errors.New("bars of BTC-USD: disk I/O error")
	w = e.do("GET", "/api/accuracy?days=7", "")
	body.Distribution = nil
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 || body.Distribution != nil || body.N != 2 || body.Model == nil {
		t.Errorf("a failing scorer: %d %s; want 200, the point scores, distribution null", w.Code, w.Body)
	}
	// No scored forecast: the scorer is not asked.
	led.scored = nil
	before := sc.requests
	if w := e.do("GET", "/api/accuracy", ""); w.Code != 200 || sc.requests != before || !strings.Contains(w.Body.String(), `"distribution":null`) {
		t.Errorf("an empty ledger: %d %s, scorer asked %d times", w.Code, w.Body, sc.requests-before)
	}
}
