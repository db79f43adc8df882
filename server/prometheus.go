package server

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// The server's operational series, exposed at /metrics in the Prometheus
// exposition format by client_golang, with the Go runtime's (go_*) and the
// process's (process_*) series that standard dashboards and alerts expect.
// ("Metrics" of a forecast, its accuracy, are package metrics' business.)
// Each Server has its own registry, so several Servers (tests, one per
// model) never collide.

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

// requestSeries are one route and status code's children of the request
// counter and latency histogram, looked up once rather than by label
// values on every request.
type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// exposition holds every series the server exposes at /metrics.
type exposition struct {
	reg      *prometheus.Registry
	handler  http.Handler
	count    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// requests[route][code] is made on the route and code's first request,
	// so series that never saw one are left out, keeping scrapes small.
	requests    [][numCodes]atomic.Pointer[requestSeries]
	predictions *prometheus.HistogramVec // Predictor.Predict latency, successful calls, by symbol
	predictErrs *prometheus.CounterVec   // Predictor.Predict calls that returned an error, by symbol
	cacheHits   *prometheus.CounterVec   // /predict answers served from the cache, by symbol
	// bySymbol holds the per-symbol children of the served symbols only
	// (serve), so the symbol label's cardinality is the served set's.
	bySymbol atomic.Pointer[map[string]*symbolSeries]
	busy     prometheus.Counter // forecasts refused (503) because no slot of the budget freed in time
}

func newExposition(provider func() ProviderStats) *exposition {
	start := time.Now()
	m := &exposition{
		reg: prometheus.NewRegistry(),
		count: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closecast_http_requests_total",
			Help: "HTTP requests answered, by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "closecast_http_request_duration_seconds",
			Help:    "Time from routing a request to the end of its handler, by route and status code.",
			Buckets: requestBuckets}, []string{"route", "code"}),
		requests: make([][numCodes]atomic.Pointer[requestSeries], numRoutes),
		predictions: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "closecast_prediction_duration_seconds",
			Help:    "Time the predictor took for a successful forecast, bars lookup included, by symbol.",
			Buckets: predictionBuckets}, []string{"symbol"}),
		predictErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closecast_prediction_errors_total",
			Help: "Forecasts the predictor refused or failed (out of range, provider unavailable…), by symbol."}, []string{"symbol"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closecast_prediction_cache_hits_total",
			Help: "Forecasts answered from the cache without running the model, by symbol."}, []string{"symbol"}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{Name: "closecast_prediction_busy_total",
			Help: "Forecasts answered 503 because every forecast slot stayed busy for the whole wait."}),
	}
	m.reg.MustRegister(m.count, m.duration, m.predictions, m.predictErrs, m.cacheHits, m.busy,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "process_uptime_seconds", Help: "Seconds since the server was built."},
			func() float64 { return time.Since(start).Seconds() }))
	if provider != nil {
		m.counterFunc("closecast_provider_fetches_total", "Fetches from the live market data provider.",
			func() uint64 { return provider().Fetches })
		m.counterFunc("closecast_provider_failures_total", "Fetches from the live market data provider that failed.",
			func() uint64 { return provider().Failures })
	}
	m.handler = promhttp.HandlerFor(routeFirst(m.reg), promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		// Uncompressed, as before: the Lambda adapter passes text bodies
		// as text, and a scrape is a few KB.
		DisableCompression: true,
	})
	return m
}

// counterFunc exposes a counter kept elsewhere (an atomic of the ledger's,
// the provider's stats), read on each scrape.
func (m *exposition) counterFunc(name, help string, read func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
		func() float64 { return float64(read()) }))
}

// watchLedger exposes l's counters.
func (m *exposition) watchLedger(l *ledgerWriter) {
	m.counterFunc("closecast_ledger_recorded_total", "Live forecasts written to the ledger.", l.recorded.Load)
	m.counterFunc("closecast_ledger_dropped_total", "Live forecasts not recorded because the ledger's queue was full.", l.dropped.Load)
	m.counterFunc("closecast_ledger_failed_total", "Live forecasts dropped because the ledger refused their batch on every retry (see the log).", l.failed.Load)
	m.counterFunc("closecast_ledger_retries_total", "Writes of a refused ledger batch tried again after a back-off.", l.retries.Load)
}

func (m *exposition) observeRequest(route, status int, d time.Duration) {
	c := codeIndex(status)
	p := &m.requests[route][c]
	rs := p.Load()
	if rs == nil {
		// Racing first requests store equal children: WithLabelValues
		// returns the same ones for the same labels.
		labels := prometheus.Labels{"route": routeNames[route], "code": codeLabel(c)}
		rs = &requestSeries{count: m.count.With(labels), duration: m.duration.With(labels)}
		p.Store(rs)
	}
	rs.count.Inc()
	rs.duration.Observe(d.Seconds())
}

// symbolSeries are one served symbol's forecast series.
type symbolSeries struct {
	predictions prometheus.Observer
	errs        prometheus.Counter
	cacheHits   prometheus.Counter
}

// serve makes the per-symbol series of symbols, the served set, dropping
// those of symbols no longer served.
func (m *exposition) serve(symbols []string) {
	next := make(map[string]*symbolSeries, len(symbols))
	for _, sym := range symbols {
		next[sym] = &symbolSeries{predictions: m.predictions.WithLabelValues(sym),
			errs: m.predictErrs.WithLabelValues(sym), cacheHits: m.cacheHits.WithLabelValues(sym)}
	}
	if old := m.bySymbol.Load(); old != nil {
		for sym := range *old {
			if next[sym] == nil {
				m.predictions.DeleteLabelValues(sym)
				m.predictErrs.DeleteLabelValues(sym)
				m.cacheHits.DeleteLabelValues(sym)
			}
		}
	}
	m.bySymbol.Store(&next)
}

// symbol returns sym's series, nil for a symbol not served.
func (m *exposition) symbol(sym string) *symbolSeries {
	if p := m.bySymbol.Load(); p != nil {
		return (*p)[sym]
	}
	return nil
}

func (m *exposition) observePrediction(sym string, d time.Duration, ok bool) {
	ss := m.symbol(sym)
	if ss == nil {
		return
	}
	if ok {
		ss.predictions.Observe(d.Seconds())
	} else {
		ss.errs.Inc()
	}
}

func (m *exposition) cacheHit(sym string) {
	if ss := m.symbol(sym); ss != nil {
		ss.cacheHits.Inc()
	}
}

// routeFirst writes the request series' labels as route, then code, the
// order /metrics has always had (client_golang sorts labels by name):
// dashboards and alerts written against it keep matching.
func routeFirst(g prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := g.Gather()
		for _, mf := range mfs {
			for _, s := range mf.Metric {
				if l := s.Label; len(l) == 2 && l[0].GetName() == "code" && l[1].GetName() == "route" {
					s.Label = []*dto.LabelPair{l[1], l[0]} // a new slice: l is the child's own
				}
			}
		}
		return mfs, err
	})
}

// handleMetrics serves the Prometheus exposition.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.prom.handler.ServeHTTP(w, r)
}
