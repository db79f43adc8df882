package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/pipeline"
	"github.com/closecast/closecast/predict"
)

// blockingPredictor holds every forecast until release is closed, and says
// on entered when one starts: a test can fill the server's forecast slots
// without timing anything.
type blockingPredictor struct {
	inner   *fakePredictor
	entered chan struct{}
	release chan struct{}
}

func (b *blockingPredictor) Predict(ctx context.Context, sym string, d closecast.Date) (closecast.Prediction, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.inner.Predict(ctx, sym, d)
}

func (b *blockingPredictor) PredictHorizon(ctx context.Context, sym string, d closecast.Date, opt pipeline.HorizonOptions) (predict.Horizon, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.inner.PredictHorizon(ctx, sym, d, opt)
}

// TestSaturatedServerAnswers503AndProbesStillAnswer fills the only forecast
// slot: another uncached forecast (plain or horizon) gets a JSON 503 with
// Retry-After once the wait is over, while the probes, the model, a cache
// hit and the metrics answer at once; the held forecast then completes.
func TestSaturatedServerAnswers503AndProbesStillAnswer(t *testing.T) {
	inner := &fakePredictor{series: testSeries(), window: 60}
	bp := &blockingPredictor{inner: inner, entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := New(Config{Predictor: bp, Model: map[string]any{"version": "v"}, Symbol: "BTC-USD", CacheTTL: time.Hour,
		MaxForecasts: 1, ForecastWait: time.Millisecond})
	e := &testEnv{srv: srv}
	// A cached answer, to show hits need no slot.
	close(bp.release)
	if w := e.do("GET", "/predict?date=2025-07-01", ""); w.Code != 200 {
		t.Fatalf("warming the cache: %d %s", w.Code, w.Body)
	}
	<-bp.entered
	bp.release = make(chan struct{})

	held := make(chan int)
	go func() { held <- e.do("GET", "/predict?date=2025-07-10", "").Code }()
	<-bp.entered // the slot is taken and stays so until release
	for _, target := range []string{"/predict?date=2025-07-11", "/predict?date=2025-07-11&horizon=5"} {
		w := e.do("GET", target, "")
		b := decodeBody[errorBody](t, w)
		ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
		if w.Code != 503 || b.Code != codeUnavailable || err != nil || ra < 1 || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s while saturated: %d %v %s", target, w.Code, w.Header(), w.Body)
		}
	}
	for _, target := range []string{"/healthz", "/readyz", "/api/model", "/predict?date=2025-07-01", "/metrics"} {
		if w := e.do("GET", target, ""); w.Code != 200 {
			t.Errorf("%s while saturated: %d %s", target, w.Code, w.Body)
		}
	}
	close(bp.release)
	if code := <-held; code != 200 {
		t.Errorf("the held forecast answered %d", code)
	}
	if w := e.do("GET", "/metrics", ""); !strings.Contains(w.Body.String(), "closecast_prediction_busy_total 2\n") {
		t.Errorf("metrics do not count the 2 refused forecasts:\n%s", w.Body)
	}
	// The slot is free again.
	if w := e.do("GET", "/predict?date=2025-07-12", ""); w.Code != 200 {
		t.Errorf("after the release: %d %s", w.Code, w.Body)
	}
}

// TestCostCapNamesTheCap: horizon × samples above maxPathDays is a 400
// naming the cap; at the cap it is served.
func TestCostCapNamesTheCap(t *testing.T) {
	e := newTestEnv(t)
	for _, target := range []string{"/predict?date=2025-07-20&horizon=30&samples=500", "/predict?date=2025-07-20&horizon=7&samples=500"} {
		w := e.do("GET", target, "")
		b := decodeBody[errorBody](t, w)
		if w.Code != 400 || b.Code != codeInvalidSamples || !strings.Contains(b.Error, strconv.Itoa(maxPathDays)) {
			t.Errorf("%s: %d %s", target, w.Code, w.Body)
		}
	}
	w := e.do("POST", "/predict", `{"date":"2025-07-20","horizon":30,"samples":500}`)
	if w.Code != 400 || !strings.Contains(w.Body.String(), strconv.Itoa(maxPathDays)) {
		t.Errorf("POST over the cap: %d %s", w.Code, w.Body)
	}
	if w := e.do("GET", fmt.Sprintf("/predict?date=2025-07-20&horizon=6&samples=%d", maxPathDays/6), ""); w.Code != 200 {
		t.Errorf("at the cap: %d %s", w.Code, w.Body)
	}
}

// failingWriter is a connection whose write deadline has passed.
type failingWriter struct{ h http.Header }

func (f *failingWriter) Header() http.Header       { return f.h }
func (f *failingWriter) WriteHeader(int)           {}
func (f *failingWriter) Write([]byte) (int, error) { return 0, errors.New("i/o timeout") }

// TestFailedWriteIsNotLoggedAs200: an answer that could not be written is
// logged and counted as what the client got (status 0, the write error),
// not as the 200 the handler meant.
func TestFailedWriteIsNotLoggedAs200(t *testing.T) {
	e := newTestEnv(t)
	e.srv.ServeHTTP(&failingWriter{h: http.Header{}}, httptestRequest("GET", "/healthz"))
	var line struct {
		Status     int    `json:"status"`
		WriteError string `json:"write_error"`
	}
	if err := json.Unmarshal(e.logs.Bytes(), &line); err != nil || line.Status != 0 || line.WriteError != "i/o timeout" {
		t.Errorf("log %s (%v)", e.logs, err)
	}
	if w := e.do("GET", "/metrics", ""); !strings.Contains(w.Body.String(), `closecast_http_requests_total{route="/healthz",code="other"} 1`) {
		t.Errorf("metrics:\n%s", w.Body)
	}
}

func httptestRequest(method, target string) *http.Request {
	r, _ := http.NewRequest(method, "http://example.test"+target, nil)
	r.RequestURI = target
	return r
}

// TestLoadOfCostlyForecastsIsBounded is issue 11's attack on a real
// listener with the real model: 48 connections ask Monte-Carlo horizons at
// the cost cap on distinct uncached dates while another polls /healthz.
// Every answer is a 200 forecast or a JSON 503 with Retry-After (none cut,
// none empty) and every probe answers 200. Bounded in count (240 forecasts)
// and, as a hang guard only, in time.
func TestLoadOfCostlyForecastsIsBounded(t *testing.T) {
	const conns, perConn = 48, 5
	srv, m := realServer(t, time.Minute)
	srv.budget = newBudget(2, 20*time.Millisecond)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	base := "http://" + ln.Addr().String()
	series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := series.Last()
	first := last.AddDays(-conns * perConn) // inside the embedded data: no provider
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}}

	var (
		mu     sync.Mutex
		counts = map[int]int{}
		bad    []string
		wg     sync.WaitGroup
	)
	note := func(s string) {
		mu.Lock()
		if len(bad) < 10 {
			bad = append(bad, s)
		}
		mu.Unlock()
	}
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perConn {
				d := first.AddDays(c*perConn + k)
				resp, err := client.Get(fmt.Sprintf("%s/predict?date=%s&horizon=6&samples=500", base, d))
				if err != nil {
					note("transport: " + err.Error())
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				counts[resp.StatusCode]++
				mu.Unlock()
				switch {
				case err != nil || len(body) == 0:
					note(fmt.Sprintf("%s: status %d, empty or cut body (%v)", d, resp.StatusCode, err))
				case resp.StatusCode == 200:
					var h HorizonResponse
					if json.Unmarshal(body, &h) != nil || len(h.Forecasts) != 6 || h.Interval == nil || h.Interval.Samples != 500 {
						note(fmt.Sprintf("%s: 200 %.120s", d, body))
					}
				case resp.StatusCode == 503:
					var b errorBody
					if json.Unmarshal(body, &b) != nil || b.Code != codeUnavailable || resp.Header.Get("Retry-After") == "" {
						note(fmt.Sprintf("%s: 503 %v %.120s", d, resp.Header, body))
					}
				default:
					note(fmt.Sprintf("%s: %d %.120s", d, resp.StatusCode, body))
				}
			}
		}()
	}
	done := make(chan struct{})
	probes := 0
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			default:
			}
			resp, err := client.Get(base + "/healthz")
			if err != nil {
				note("healthz: " + err.Error())
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				note(fmt.Sprintf("healthz: %d", resp.StatusCode))
			}
			probes++
			if probes >= 200 {
				return
			}
		}
	}()
	wg.Wait()
	<-done
	if len(bad) > 0 {
		t.Errorf("bad answers (first %d): %s", len(bad), strings.Join(bad, "\n"))
	}
	if counts[200]+counts[503] != conns*perConn || counts[200] == 0 {
		t.Errorf("answers by status %v, want %d, all 200 or 503, some 200", counts, conns*perConn)
	}
	t.Logf("answers by status %v, %d healthz probes", counts, probes)
}
