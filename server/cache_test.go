package server

import (
	"strings"
	"testing"
	"time"
)

func TestPredictCache(t *testing.T) {
	e := newTestEnv(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.srv.cache = newPredictCache(time.Minute)
	e.srv.now = func() time.Time { return clock }

	first := e.do("POST", "/predict", `{"date":"2025-05-01"}`)
	if first.Code != 200 || e.pred.calls != 1 {
		t.Fatalf("first: %d, %d calls", first.Code, e.pred.calls)
	}
	// Same day, either form, any case of the symbol: from the cache.
	for _, req := range [][3]string{{"POST", "/predict", `{"date":"2025-05-01"}`}, {"GET", "/predict?date=2025-05-01&symbol=btc-usd", ""}} {
		w := e.do(req[0], req[1], req[2])
		if w.Code != 200 || w.Body.String() != first.Body.String() || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s", req[0], req[1], w.Code, w.Body)
		}
	}
	if e.pred.calls != 1 {
		t.Errorf("%d predictor calls, want 1: the cache was not used", e.pred.calls)
	}
	// Another day is another entry.
	if w := e.do("GET", "/predict?date=2025-05-02", ""); w.Code != 200 || e.pred.calls != 2 || w.Body.String() == first.Body.String() {
		t.Errorf("other day: %d, %d calls", w.Code, e.pred.calls)
	}
	// Errors are not kept.
	e.do("GET", "/predict?date=2024-01-01", "")
	e.do("GET", "/predict?date=2024-01-01", "")
	if e.pred.calls != 4 {
		t.Errorf("%d calls after two out-of-range requests, want 4", e.pred.calls)
	}
	// Expiry: after the TTL the model runs again.
	clock = clock.Add(time.Minute)
	e.do("POST", "/predict", `{"date":"2025-05-01"}`)
	if e.pred.calls != 5 {
		t.Errorf("%d calls after expiry, want 5", e.pred.calls)
	}
	if w := e.do("GET", "/metrics", ""); !strings.Contains(w.Body.String(), "closecast_prediction_cache_hits_total{symbol=\"BTC-USD\"} 2\n") {
		t.Errorf("cache hits not counted:\n%s", w.Body)
	}
}

func TestPredictCacheIsBounded(t *testing.T) {
	c := newPredictCache(time.Hour)
	now := time.Now()
	for i := range maxCacheEntries + 10 {
		c.put(cacheKey{symbol: "X", date: d("2000-01-01").AddDays(i)}, []byte("{}"), now, nil)
	}
	if n := len(c.m); n > maxCacheEntries {
		t.Fatalf("%d entries, bound %d", n, maxCacheEntries)
	}
	if newPredictCache(0) != nil || newPredictCache(0).get(cacheKey{}, now, nil) != nil {
		t.Fatal("a zero TTL must disable the cache")
	}
}
