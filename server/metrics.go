package server

import (
	"bytes"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// Metrics are kept in fixed arrays of atomic counters, indexed by route and
// status, and written in the Prometheus text exposition format (version
// 0.0.4) by hand: no client library, no locks or allocation on the request
// path, and a few KB of RSS.

// requestBuckets are the upper bounds, in seconds, of the request latency
// histogram: 100 µs to 30 s (a /predict that waits for a provider fetch).
var requestBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// predictionBuckets are the upper bounds, in seconds, of the prediction
// latency histogram: the model itself takes microseconds (target ≤ 50 µs);
// the long tail is a provider fetch.
var predictionBuckets = []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10}

// statusCodes are the statuses with their own series; any other status is
// counted under code="other".
var statusCodes = [...]int{200, 304, 400, 404, 405, 413, 422, 500, 503}

const numCodes = len(statusCodes) + 1

func codeIndex(status int) int {
	for i, c := range statusCodes {
		if c == status {
			return i
		}
	}
	return len(statusCodes)
}

func codeLabel(i int) string {
	if i == len(statusCodes) {
		return "other"
	}
	return strconv.Itoa(statusCodes[i])
}

// histogram is a Prometheus histogram with lock-free observation. counts[i]
// holds observations in (bounds[i-1], bounds[i]]; the last slot is +Inf.
// Cumulative counts are summed at exposition time.
type histogram struct {
	bounds []float64
	counts []atomic.Uint64
	sumNs  atomic.Int64
	n      atomic.Uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(h.bounds) && s > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
	h.n.Add(1)
}

// write appends the histogram's _bucket, _sum and _count lines; labels is
// `route="/predict",code="200"` or "" for none.
func (h *histogram) write(b *bytes.Buffer, name, labels string) {
	sep := ""
	if labels != "" {
		sep = ","
	}
	var cum uint64
	for i, ub := range h.bounds {
		cum += h.counts[i].Load()
		b.WriteString(name + "_bucket{" + labels + sep + `le="` + strconv.FormatFloat(ub, 'g', -1, 64) + `"} ` + strconv.FormatUint(cum, 10) + "\n")
	}
	cum += h.counts[len(h.bounds)].Load()
	b.WriteString(name + "_bucket{" + labels + sep + `le="+Inf"} ` + strconv.FormatUint(cum, 10) + "\n")
	braces := ""
	if labels != "" {
		braces = "{" + labels + "}"
	}
	b.WriteString(name + "_sum" + braces + " " + strconv.FormatFloat(time.Duration(h.sumNs.Load()).Seconds(), 'g', -1, 64) + "\n")
	b.WriteString(name + "_count" + braces + " " + strconv.FormatUint(cum, 10) + "\n")
}

// metrics holds every series the server exposes.
type metrics struct {
	requests    [][numCodes]*histogram // [route][code] request latency; its _count is the request counter
	predictions *histogram             // Predictor.Predict latency, successful calls
	predictErrs atomic.Uint64          // Predictor.Predict calls that returned an error
	cacheHits   atomic.Uint64          // /predict answers served from the cache
	busy        atomic.Uint64          // forecasts refused (503) because no slot of the budget freed in time
	provider    func() ProviderStats
	ledger      *ledgerWriter // nil without a ledger
	start       time.Time
}

func newMetrics(provider func() ProviderStats) *metrics {
	m := &metrics{predictions: newHistogram(predictionBuckets), provider: provider, start: time.Now(),
		requests: make([][numCodes]*histogram, numRoutes)}
	for r := range m.requests {
		for c := range m.requests[r] {
			m.requests[r][c] = newHistogram(requestBuckets)
		}
	}
	return m
}

func (m *metrics) observeRequest(route, status int, d time.Duration) {
	m.requests[route][codeIndex(status)].observe(d)
}

func (m *metrics) observePrediction(d time.Duration, ok bool) {
	if ok {
		m.predictions.observe(d)
	} else {
		m.predictErrs.Add(1)
	}
}

// write renders every metric in the Prometheus text format. Request series
// that have seen no request are left out, to keep scrapes small.
func (m *metrics) write(b *bytes.Buffer) {
	b.WriteString("# HELP closecast_http_requests_total HTTP requests answered, by route and status code.\n# TYPE closecast_http_requests_total counter\n")
	for r := range m.requests {
		for c, h := range m.requests[r] {
			if n := h.n.Load(); n > 0 {
				b.WriteString(`closecast_http_requests_total{route="` + routeNames[r] + `",code="` + codeLabel(c) + `"} ` + strconv.FormatUint(n, 10) + "\n")
			}
		}
	}
	b.WriteString("# HELP closecast_http_request_duration_seconds Time from routing a request to the end of its handler, by route and status code.\n# TYPE closecast_http_request_duration_seconds histogram\n")
	for r := range m.requests {
		for c, h := range m.requests[r] {
			if h.n.Load() > 0 {
				h.write(b, "closecast_http_request_duration_seconds", `route="`+routeNames[r]+`",code="`+codeLabel(c)+`"`)
			}
		}
	}
	b.WriteString("# HELP closecast_prediction_duration_seconds Time the predictor took for a successful forecast, bars lookup included.\n# TYPE closecast_prediction_duration_seconds histogram\n")
	m.predictions.write(b, "closecast_prediction_duration_seconds", "")
	b.WriteString("# HELP closecast_prediction_errors_total Forecasts the predictor refused or failed (out of range, unknown symbol, provider unavailable…).\n# TYPE closecast_prediction_errors_total counter\n")
	b.WriteString("closecast_prediction_errors_total " + strconv.FormatUint(m.predictErrs.Load(), 10) + "\n")
	b.WriteString("# HELP closecast_prediction_cache_hits_total Forecasts answered from the cache without running the model.\n# TYPE closecast_prediction_cache_hits_total counter\n")
	b.WriteString("closecast_prediction_cache_hits_total " + strconv.FormatUint(m.cacheHits.Load(), 10) + "\n")
	b.WriteString("# HELP closecast_prediction_busy_total Forecasts answered 503 because every forecast slot stayed busy for the whole wait.\n# TYPE closecast_prediction_busy_total counter\n")
	b.WriteString("closecast_prediction_busy_total " + strconv.FormatUint(m.busy.Load(), 10) + "\n")
	if m.provider != nil {
		st := m.provider()
		b.WriteString("# HELP closecast_provider_fetches_total Fetches from the live market data provider.\n# TYPE closecast_provider_fetches_total counter\n")
		b.WriteString("closecast_provider_fetches_total " + strconv.FormatUint(st.Fetches, 10) + "\n")
		b.WriteString("# HELP closecast_provider_failures_total Fetches from the live market data provider that failed.\n# TYPE closecast_provider_failures_total counter\n")
		b.WriteString("closecast_provider_failures_total " + strconv.FormatUint(st.Failures, 10) + "\n")
	}
	if l := m.ledger; l != nil {
		b.WriteString("# HELP closecast_ledger_recorded_total Live forecasts written to the ledger.\n# TYPE closecast_ledger_recorded_total counter\n")
		b.WriteString("closecast_ledger_recorded_total " + strconv.FormatUint(l.recorded.Load(), 10) + "\n")
		b.WriteString("# HELP closecast_ledger_dropped_total Live forecasts not recorded because the ledger's queue was full.\n# TYPE closecast_ledger_dropped_total counter\n")
		b.WriteString("closecast_ledger_dropped_total " + strconv.FormatUint(l.dropped.Load(), 10) + "\n")
		b.WriteString("# HELP closecast_ledger_failed_total Live forecasts dropped because the ledger refused their batch on every retry (see the log).\n# TYPE closecast_ledger_failed_total counter\n")
		b.WriteString("closecast_ledger_failed_total " + strconv.FormatUint(l.failed.Load(), 10) + "\n")
		b.WriteString("# HELP closecast_ledger_retries_total Writes of a refused ledger batch tried again after a back-off.\n# TYPE closecast_ledger_retries_total counter\n")
		b.WriteString("closecast_ledger_retries_total " + strconv.FormatUint(l.retries.Load(), 10) + "\n")
	}
	b.WriteString("# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\n")
	b.WriteString("go_goroutines " + strconv.Itoa(runtime.NumGoroutine()) + "\n")
	if rss, ok := residentBytes(); ok {
		b.WriteString("# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\n")
		b.WriteString("process_resident_memory_bytes " + strconv.FormatInt(rss, 10) + "\n")
	}
	b.WriteString("# HELP process_uptime_seconds Seconds since the server was built.\n# TYPE process_uptime_seconds gauge\n")
	b.WriteString("process_uptime_seconds " + strconv.FormatFloat(time.Since(m.start).Seconds(), 'f', 3, 64) + "\n")
}

// residentBytes reads the process's RSS from /proc/self/statm (Linux; its
// second field is resident pages).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

// handleMetrics serves the Prometheus text exposition.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	s.metrics.write(buf)
	h := w.Header()
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
