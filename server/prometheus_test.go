package server

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsHaveGoAndProcessSeries: /metrics is a valid Prometheus text
// exposition with the Go runtime's and the process's standard series that
// dashboards and alerts rely on, beside closecast's own, whose request
// series keep their route, code label order.
func TestMetricsHaveGoAndProcessSeries(t *testing.T) {
	e := newTestEnv(t)
	e.do("POST", "/predict", `{"date":"2025-05-01"}`)
	w := e.do("GET", "/metrics", "")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("metrics %d %v", w.Code, w.Header())
	}
	text := w.Body.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics is not a valid exposition: %v", err)
	}
	for _, name := range []string{
		"go_goroutines", "go_gc_duration_seconds", "go_memstats_heap_alloc_bytes", "go_threads",
		"process_resident_memory_bytes", "process_start_time_seconds", "process_cpu_seconds_total", "process_open_fds",
		"closecast_http_requests_total", "closecast_http_request_duration_seconds", "closecast_prediction_duration_seconds",
	} {
		if f, ok := fams[name]; !ok || len(f.Metric) == 0 {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if g := fams["go_goroutines"]; g != nil && g.Metric[0].GetGauge().GetValue() < 1 {
		t.Errorf("go_goroutines = %v", g.Metric[0].GetGauge().GetValue())
	}
	if !strings.Contains(text, `closecast_http_requests_total{route="/predict",code="200"} 1`+"\n") {
		t.Errorf("request series lost their route, code order:\n%s", text)
	}
	// Series of routes and codes never seen stay out of the scrape.
	if strings.Contains(text, `route="/api/history"`) {
		t.Errorf("/metrics has series of a route never asked")
	}
}

// BenchmarkObserveRequest is what /metrics costs each request: one
// counter and one histogram child, looked up once per route and code.
func BenchmarkObserveRequest(b *testing.B) {
	m := newExposition(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.observeRequest(0, 200, 37*time.Microsecond)
		}
	})
}
