package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/sqlite"
)

// loadResult is what a load run saw.
type loadResult struct {
	ok      int             // 200s with a body that decoded
	failed  []string        // anything else, after the request may have reached the server
	refused int             // requests never sent: the dial was refused (server gone)
	lat     []time.Duration // latency of each ok request
	elapsed time.Duration
}

func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	slices.Sort(r.lat)
	return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
}

// runLoad posts body to url from workers goroutines until maxRequests are
// sent, d has passed, or the server refuses connections (then each worker
// stops at its first refused dial). It is the repository's load generator:
// loopback only, bounded in count and time.
//
// Requests carry an Idempotency-Key, as a forecast is idempotent: when the
// server closes an idle keep-alive connection at the moment a request is
// written to it (shutdown), net/http's client then retries it on a new
// connection (RFC 9110 §9.2.2) instead of reporting a request the server
// never read as failed. The retry's dial fails once the listener is closed,
// which is counted as refused, not failed.
func runLoad(url string, body []byte, workers, maxRequests int, d time.Duration, check func([]byte) error) *loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		mu      sync.Mutex
		res     = &loadResult{}
		sent    atomic.Int64
		wg      sync.WaitGroup
		start   = time.Now()
		stopAt  = start.Add(d)
		workerN = workers
	)
	for w := range workerN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, maxRequests/workers+1)
			var ok, refused int
			var failed []string
			for time.Now().Before(stopAt) && sent.Add(1) <= int64(maxRequests) {
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("w%d-%d", w, ok+refused+len(failed)))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						refused++
						break
					}
					failed = append(failed, err.Error())
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					failed = append(failed, "reading body: "+err.Error())
				case resp.StatusCode != 200:
					failed = append(failed, fmt.Sprintf("status %d: %s", resp.StatusCode, b))
				case check != nil && check(b) != nil:
					failed = append(failed, check(b).Error())
				default:
					ok++
					lat = append(lat, time.Since(t0))
				}
			}
			mu.Lock()
			res.ok += ok
			res.refused += refused
			res.failed = append(res.failed, failed...)
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// gatedPredictor wraps the fake predictor with a delay, counting requests
// in flight, so that a SIGTERM lands while many forecasts are running.
type gatedPredictor struct {
	inner    *fakePredictor
	delay    time.Duration
	inFlight atomic.Int64
	done     atomic.Int64
	mu       sync.Mutex
}

func (g *gatedPredictor) Predict(ctx context.Context, sym string, d closecast.Date) (closecast.Prediction, error) {
	g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	time.Sleep(g.delay) // not ctx-aware on purpose: shutdown must wait for it
	g.mu.Lock()
	p, err := g.inner.Predict(ctx, sym, d)
	g.mu.Unlock()
	g.done.Add(1)
	return p, err
}

// TestSIGTERMMidLoadDropsNothing serves on loopback, loads /predict from 32
// connections, sends the process a real SIGTERM in the middle, and checks
// that the server finished every request it had started: no request failed,
// every forecast the handler made reached its client, and Serve returned
// cleanly after the last one.
func TestSIGTERMMidLoadDropsNothing(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pred := &gatedPredictor{inner: &fakePredictor{series: testSeries(), window: 60}, delay: 20 * time.Millisecond}
	// Every worker gets a slot: this test is about shutdown, not the budget.
	srv := New(Config{Predictor: pred, Model: map[string]string{"version": "x"}, Logger: slog.New(slog.DiscardHandler), MaxForecasts: 32})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc := &acceptCounter{Listener: ln}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, acc) }()

	var inFlightAtSignal atomic.Int64
	go func() {
		// After the load has run a while, and once every worker's
		// connection is accepted (a connection still in the listen backlog
		// at shutdown is reset, not served) and requests are in flight,
		// which a busy machine may not have reached by then.
		time.Sleep(400 * time.Millisecond)
		for deadline := time.Now().Add(10 * time.Second); (acc.n.Load() < 32 || pred.inFlight.Load() == 0) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		inFlightAtSignal.Store(pred.inFlight.Load())
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
	res := runLoad("http://"+ln.Addr().String()+"/predict", []byte(`{"date":"2025-05-01"}`), 32, 20000, 10*time.Second, func(b []byte) error {
		var p PredictResponse
		if err := json.Unmarshal(b, &p); err != nil || p.Date != d("2025-05-01") {
			return fmt.Errorf("bad forecast %q", b)
		}
		return nil
	})
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(ShutdownTimeout):
		t.Fatal("Serve did not return after SIGTERM")
	}
	if len(res.failed) > 0 {
		t.Fatalf("%d requests failed, first: %s", len(res.failed), res.failed[0])
	}
	if inFlightAtSignal.Load() == 0 {
		t.Fatal("no request was in flight when SIGTERM arrived: the test proves nothing")
	}
	if res.ok == 0 || res.refused != 32 {
		t.Fatalf("ok %d, refused %d: want load before SIGTERM and every worker refused after it", res.ok, res.refused)
	}
	// Every forecast the handler computed reached a client as a 200.
	if done := pred.done.Load(); done != int64(res.ok) {
		t.Fatalf("the handler made %d forecasts but clients received %d: %d dropped", done, res.ok, done-int64(res.ok))
	}
	t.Logf("SIGTERM with %d requests in flight: %d ok, 0 failed, 0 dropped; %d workers then refused; elapsed %v",
		inFlightAtSignal.Load(), res.ok, res.refused, res.elapsed.Round(time.Millisecond))
}

// acceptCounter counts the connections its listener accepted.
type acceptCounter struct {
	net.Listener
	n atomic.Int64
}

func (l *acceptCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// realServer builds the production wiring: the embedded model (or the one in
// $CLOSECAST_MODEL_DIR), the embedded data, offline.
func realServer(t testing.TB, cacheTTL time.Duration) (*Server, *artifact.Model) {
	t.Helper()
	var m *artifact.Model
	var err error
	if dir := os.Getenv("CLOSECAST_MODEL_DIR"); dir != "" {
		m, err = artifact.Read(dir)
	} else {
		m, err = models.Default()
	}
	if err != nil {
		t.Fatalf("loading the model: %v", err)
	}
	bars := history.New(marketdata.Embedded(), nil, nil)
	// A slot per load worker: these tests measure the model and the
	// handler, not the budget (TestLoadOfCostlyForecastsIsBounded does).
	return New(Config{Predictor: predict.New(m, bars), History: bars, Model: m.Meta, Symbol: m.Meta.Symbol, CacheTTL: cacheTTL, MaxForecasts: 64}), m
}

// loadDuration is how long TestLoadRealModel runs: short in CI, longer for
// a measurement (CLOSECAST_LOAD_SECONDS=10).
func loadDuration() time.Duration {
	if s, err := strconv.ParseFloat(os.Getenv("CLOSECAST_LOAD_SECONDS"), 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	return 1500 * time.Millisecond
}

// TestLoadRealModel loads /predict of the real model over loopback with the
// repository's Go load generator and logs throughput, latency percentiles
// and RSS. Targets (≥ 20,000 req/s, p99 ≤ 5 ms, RSS ≤ 40 MB on 2 cores) are
// reported, not asserted: the load generator shares the two cores, and CI
// machines are shared. It asserts that every answer is the same correct
// forecast.
func TestLoadRealModel(t *testing.T) {
	t.Run("model on every request", func(t *testing.T) { loadRealModel(t, 0) })
	t.Run("CacheTTL 1m", func(t *testing.T) { loadRealModel(t, time.Minute) })
}

func loadRealModel(t *testing.T, cacheTTL time.Duration) {
	srv, m := realServer(t, cacheTTL)
	series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := series.Last()
	day := last.AddDays(-10)
	want, err := srv.cfg.Predictor.Predict(context.Background(), m.Meta.Symbol, day)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	body := []byte(fmt.Sprintf(`{"date":%q}`, day))
	res := runLoad("http://"+ln.Addr().String()+"/predict", body, 64, 2_000_000, loadDuration(), func(b []byte) error {
		var p PredictResponse
		if err := json.Unmarshal(b, &p); err != nil || p.Prediction != want.Value {
			return fmt.Errorf("forecast %q, want %v", b, want.Value)
		}
		return nil
	})
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if len(res.failed) > 0 || res.ok == 0 {
		t.Fatalf("%d ok, %d failed, first: %v", res.ok, len(res.failed), res.failed)
	}
	rss, _ := residentBytes()
	var hwm int64
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
				hwm, _ = strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
				hwm <<= 10
			}
		}
	}
	t.Logf("POST /predict, real model %s, Go load generator, 64 connections, %v: %d requests, %.0f req/s, p50 %v, p99 %v, max %v; test process RSS %.1f MB (peak %.1f MB, load generator included)",
		m.Meta.Version, res.elapsed.Round(time.Millisecond), res.ok, float64(res.ok)/res.elapsed.Seconds(),
		res.percentile(0.50), res.percentile(0.99), res.percentile(1), float64(rss)/(1<<20), float64(hwm)/(1<<20))
}

// BenchmarkPredictHandler is the in-process cost of one POST /predict with
// the real model: decoding, forecast, encoding, metrics and routing; no
// network. Logging is off, as in TestLoadRealModel.
//
// "live" forecasts the day after the data (no actual yet), the one a ledger
// records: with a ledger (an SQLite file, as closecast serve has) against
// without, it measures what recording costs the request path.
func BenchmarkPredictHandler(b *testing.B) {
	b.Run("model", func(b *testing.B) { benchmarkPredictHandler(b, 0, -10, false) })
	b.Run("cached", func(b *testing.B) { benchmarkPredictHandler(b, time.Minute, -10, false) })
	b.Run("live", func(b *testing.B) { benchmarkPredictHandler(b, 0, 1, false) })
	b.Run("live+ledger", func(b *testing.B) { benchmarkPredictHandler(b, 0, 1, true) })
}

// benchmarkPredictHandler forecasts the day offset days after the data's last.
func benchmarkPredictHandler(b *testing.B, cacheTTL time.Duration, offset int, ledger bool) {
	srv, m := realServer(b, cacheTTL)
	if ledger {
		db, err := sqlite.Open(filepath.Join(b.TempDir(), sqlite.FileName))
		if err != nil {
			b.Fatal(err)
		}
		srv = New(Config{Predictor: srv.cfg.Predictor, History: srv.cfg.History, Model: m.Meta, Symbol: m.Meta.Symbol, CacheTTL: cacheTTL, Ledger: db})
		b.Cleanup(func() {
			srv.Close(context.Background())
			db.Close()
		})
	}
	series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
	if err != nil {
		b.Fatal(err)
	}
	last, _ := series.Last()
	body := []byte(fmt.Sprintf(`{"date":%q}`, last.AddDays(offset)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			r, _ := http.NewRequest("POST", "/predict", bytes.NewReader(body))
			clear(w.h)
			w.code = 0
			srv.ServeHTTP(w, r)
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
		}
	})
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(c int)           { w.code = c }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestRealModelNeverAnswers500ForADate asks the shipped model for days all
// along (and around) the embedded data: every answer is a forecast or an
// out_of_range error whose valid range contains exactly the days that
// succeeded; a client's choice of date is never a 500.
func TestRealModelNeverAnswers500ForADate(t *testing.T) {
	srv, m := realServer(t, 0)
	series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := series.First()
	last, _ := series.Last()
	e := &testEnv{srv: srv}
	var valid *validRange
	check := func(day closecast.Date) {
		w := e.do("GET", "/predict?date="+day.String(), "")
		switch w.Code {
		case 200:
			if valid != nil && (day < valid.From || day > valid.To) {
				t.Errorf("%s forecast, outside the valid range %s..%s another answer gave", day, valid.From, valid.To)
			}
		case 422:
			var eb errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Valid == nil {
				t.Fatalf("%s: %s", day, w.Body)
			}
			if day >= eb.Valid.From && day <= eb.Valid.To {
				t.Errorf("%s refused, but inside its own valid range %s..%s", day, eb.Valid.From, eb.Valid.To)
			}
			valid = eb.Valid
		default:
			t.Fatalf("%s: %d %s", day, w.Code, w.Body)
		}
	}
	for day := first.AddDays(-30); day <= last.AddDays(30); day += 13 {
		check(day)
	}
	for day := last.AddDays(-3); day <= last.AddDays(3); day++ { // the edge: last+1 is "tomorrow"
		check(day)
	}
	if valid == nil || valid.To != last+1 {
		t.Errorf("valid range %+v: want it to end the day after the last close %s", valid, last)
	}
}

// TestRealHistoryNeverAnswers500 sends /api/history queries of every shape
// to the production source (history.Layered over the embedded data,
// offline): a client's range or symbol is never a 500.
func TestRealHistoryNeverAnswers500(t *testing.T) {
	srv, _ := realServer(t, 0)
	e := &testEnv{srv: srv}
	for _, q := range []string{
		"", "symbol=eth-usd", "symbol=AAPL", "from=2999-01-01", "to=1900-01-01", "from=1900-01-01",
		"to=2999-01-01", "from=2020-01-01&to=2020-01-01", "from=2026-03-01&to=2999-12-31",
		"from=1990-01-01&to=2005-01-01", "symbol=ETH-USD&to=2017-11-09", "from=2014-09-17",
	} {
		w := e.do("GET", "/api/history?"+q, "")
		switch {
		case w.Code == 200:
			var h historyResponse
			if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil || h.Bars == nil {
				t.Errorf("%s: %s", q, w.Body)
			}
			for i := 1; i < len(h.Bars); i++ {
				if h.Bars[i].Date <= h.Bars[i-1].Date {
					t.Fatalf("%s: bars out of order at %d", q, i)
				}
			}
		case w.Code == 400 || w.Code == 404:
		default:
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
}
