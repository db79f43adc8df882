// Package server is closecast's HTTP API: forecasts (/predict), the model's
// metadata and the price history for the dashboard (/api/...), health and
// readiness probes, Prometheus metrics, the OpenAPI document, and the
// dashboard itself at "/". The same *Server handles requests from a
// net.Listener (closecast serve) and from AWS Lambda (package lambda).
//
// Every answer is JSON (but /metrics, text, and the dashboard's files); every
// error is {"error": "<sentence>", "code": "<machine code>"}, see
// openapi.json for the whole contract. HEAD is answered on every GET route.
//
// A few answers come from net/http before any handler runs and are its
// text/plain ones: a request line or path that does not parse (a bad
// percent-escape in the path) is 400, headers over maxHeaderBytes are 431,
// an HTTP/1.1 request without Host is 400, an unknown protocol version 505.
// Everything that reaches the handler, broken query encodings included, is
// answered in JSON.
//
// Model work is bounded: at most Config.MaxForecasts forecasts run at once,
// a request waits Config.ForecastWait for a slot and is then answered 503
// with Retry-After, and a forecast stops at its deadline (predictTimeout),
// checked between its days and paths, so every answer is written before the
// write timeout.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/closecast/closecast"
)

// Config is what a Server serves. Predictor and Model nil mean "not ready":
// /readyz and /predict answer 503 until a Server with them is built.
type Config struct {
	// Markets are the served symbols, one model each; SetMarkets swaps
	// them at run time. Empty: the one market of Predictor, Model and
	// Symbol.
	Markets []Market
	// Predictor makes the forecasts (a *predict.Service in production)
	// when Markets is empty.
	Predictor closecast.Predictor
	// History gives the bars of /api/history (a *history.Layered in production).
	History closecast.Source
	// Model is the model's metadata served at /api/model: any value that
	// encodes to JSON (an artifact.Metadata, a json.RawMessage…). It is
	// encoded once, in New.
	Model any
	// Symbol is the default symbol of /predict and the /api/ routes: the
	// model's with Predictor; with Markets, BTC-USD when served, else the
	// first served (sorted).
	Symbol string
	// Dashboard, when set, is served at "/": an fs.FS with index.html at its
	// root (package web's FS).
	Dashboard fs.FS
	// Provider, when set, is read on each scrape of /metrics for the market
	// data provider's counters (history.Layered.Stats in production).
	Provider func() ProviderStats
	// Logger receives one JSON line per request and the details of every
	// 500; nil logs nothing.
	Logger *slog.Logger
	// CacheTTL, when positive, keeps each successful /predict answer, per
	// symbol and date, for that long: repeated requests for the same day
	// (the usual "tomorrow") are answered without running the model. An
	// answer is then at most CacheTTL old: a day fetched or a bar revised
	// in the meantime shows after it expires. Zero disables the cache.
	CacheTTL time.Duration
	// Ledger, when set, records every live forecast /predict answers (one
	// whose actual close is not known yet; cache hits are the same forecast
	// and are not recorded again) and serves /api/accuracy. Forecasts are
	// written by one goroutine in batches, off the request path; Serve
	// flushes them on shutdown (Close, for a handler driven otherwise).
	// Nil: nothing is recorded and /api/accuracy answers 404 no_ledger.
	Ledger Ledger
	// Distribution, when set with Ledger, scores the ledger's forecast
	// distributions against the naive baselines for /api/accuracy's
	// "distribution" (serving.Live in production); nil leaves it null.
	Distribution closecast.DistributionScorer
	// StoreHealth, when set, is asked by /readyz whether the local store is
	// usable (sqlite.DB.Damaged in production): an error makes /readyz
	// answer 503 with it, as the store needs an operator even though
	// forecasts from the embedded data still work.
	StoreHealth func() error
	// MaxForecasts bounds the forecasts computed at once, server-wide (cache
	// hits do not count); 0 means DefaultMaxForecasts (one per core but one).
	MaxForecasts int
	// ForecastWait bounds how long a request waits for one of MaxForecasts
	// to finish before it is answered 503 with Retry-After; 0 means
	// defaultForecastWait (1 s).
	ForecastWait time.Duration
	// Symbols are the symbols served besides Symbol: /predict and
	// /api/history answer any other with a 404 unknown_symbol, without
	// asking the predictor or the source (which might fetch it from a
	// provider on an anonymous caller's behalf).
	Symbols []string
}

// ProviderStats counts what the server's bar source asked of a live market
// data provider since it started.
type ProviderStats struct {
	Fetches  uint64 // fetches started
	Failures uint64 // fetches that failed
}

// Server is the closecast HTTP API, an http.Handler. It is safe for
// concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	prom     *exposition             // /metrics
	markets  atomic.Pointer[catalog] // the served set, swapped whole (SetMarkets)
	static   *static
	mux      *http.ServeMux // routes
	budget   *budget        // slots for model work
	cache    *predictCache  // nil when Config.CacheTTL is 0
	ledger   *ledgerWriter  // nil when Config.Ledger is nil
	now      func() time.Time
	idPrefix string        // random per process, so ids from two instances differ
	idSeq    atomic.Uint64 // counter after the prefix
	// readHeaderTimeout is the http.Server's; a field so that a test can
	// check the cut-off without waiting seconds.
	readHeaderTimeout time.Duration
}

// New builds a Server from cfg. A Model that cannot be encoded is logged and
// served as "not ready".
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, prom: newExposition(cfg.Provider), cache: newPredictCache(cfg.CacheTTL), now: time.Now,
		readHeaderTimeout: readHeaderTimeout}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Ledger != nil {
		s.ledger = newLedgerWriter(cfg.Ledger, s.log)
		s.prom.watchLedger(s.ledger)
	}
	ms := cfg.Markets
	if len(ms) == 0 {
		sym := cfg.Symbol
		if sym == "" {
			sym = closecast.DefaultSymbol
		}
		ms = []Market{{Symbol: sym, Predictor: cfg.Predictor, Model: cfg.Model}}
	}
	c := newCatalog(ms, cfg.Symbol, cfg.Symbols, s.log)
	s.markets.Store(c)
	s.prom.serve(c.allowed)
	if cfg.Dashboard != nil {
		st, err := newStatic(cfg.Dashboard)
		if err != nil {
			s.log.Error("dashboard files cannot be read; / will answer 404", "err", err)
		} else {
			s.static = st
		}
	}
	s.mux = s.newMux()
	s.budget = newBudget(cfg.MaxForecasts, cfg.ForecastWait)
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.idPrefix = hex.EncodeToString(b[:]) + "-"
	return s
}

// ready reports whether the server can forecast: the default symbol's
// model is loaded.
func (s *Server) ready() bool {
	c := s.markets.Load()
	m := c.markets[c.def]
	return m != nil && m.Predictor != nil && m.modelJSON != nil
}

// routeSpec is one route of the API: its path, the methods it serves (GET
// also answers HEAD, as RFC 9110 asks) and its handler. The path is also the
// route's metrics label and log field.
type routeSpec struct {
	path    string
	methods []string
	serve   func(*Server, http.ResponseWriter, *http.Request)
}

// routes is the router: New registers each on an http.ServeMux as method
// patterns ("GET /predict"), plus the bare path for the JSON 405 naming the
// methods in Allow. The API has no path parameters. The dashboard, last, is
// the fallback "/": it serves its files and answers a JSON 404 (or 405) for
// anything else.
var routes = [...]routeSpec{
	{"/predict", []string{http.MethodGet, http.MethodPost}, (*Server).handlePredict},
	{"/api/model", []string{http.MethodGet}, (*Server).handleModel},
	{"/api/models", []string{http.MethodGet}, (*Server).handleModels},
	{"/api/history", []string{http.MethodGet}, (*Server).handleHistory},
	{"/api/accuracy", []string{http.MethodGet}, (*Server).handleAccuracy},
	{"/healthz", []string{http.MethodGet}, (*Server).handleHealthz},
	{"/readyz", []string{http.MethodGet}, (*Server).handleReadyz},
	{"/metrics", []string{http.MethodGet}, (*Server).handleMetrics},
	{"/openapi.json", []string{http.MethodGet}, (*Server).handleOpenAPI},
	{"/", nil, (*Server).handleStatic},
}

// Route indexes beyond the table: the dashboard's random misses and
// whatever the mux answers itself (a redirect to a clean path) are
// labelled "other", to keep scanners' paths out of the dashboard's series.
const (
	routeDashboard = len(routes) - 1
	routeOther     = len(routes)
	numRoutes      = len(routes) + 1
)

// routeNames are the routes' metric labels, by index. Filled in init, not
// from routes directly: the handlers in routes read it (/metrics).
var routeNames []string

func init() {
	routeNames = make([]string, numRoutes)
	for i, rt := range routes {
		routeNames[i] = rt.path
	}
	routeNames[routeOther] = "other"
}

// allowHeader is the Allow of a route: its methods, HEAD after GET.
func allowHeader(methods []string) string {
	var b strings.Builder
	for _, m := range methods {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m)
		if m == http.MethodGet {
			b.WriteString(", " + http.MethodHead)
		}
	}
	return b.String()
}

// newMux builds the router from routes. Each handler first labels the
// request's recorder with its route.
func (s *Server) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for i, rt := range routes {
		serve := rt.serve
		h := func(w http.ResponseWriter, r *http.Request) {
			if rec, ok := w.(*recorder); ok {
				rec.route = i
			}
			serve(s, w, r)
		}
		for _, m := range rt.methods {
			mux.HandleFunc(m+" "+rt.path, h) // "GET /x" also matches HEAD
		}
		if rt.methods == nil {
			mux.HandleFunc(rt.path, h)
			continue
		}
		e := methodNotAllowed(allowHeader(rt.methods))
		mux.HandleFunc(rt.path, func(w http.ResponseWriter, r *http.Request) {
			if rec, ok := w.(*recorder); ok {
				rec.route = i
			}
			writeError(w, e)
		})
	}
	return mux
}

// requestIDHeader carries the request id: echoed when the client (or API
// Gateway, via package lambda) sends a sane one, generated otherwise.
const requestIDHeader = "X-Request-Id"

// requestID returns the client's id when it is 1–128 visible ASCII
// characters, else a new one.
func (s *Server) requestID(r *http.Request) string {
	if id := r.Header.Get(requestIDHeader); id != "" && len(id) <= 128 {
		ok := true
		for i := 0; i < len(id); i++ {
			if id[i] <= ' ' || id[i] > '~' {
				ok = false
				break
			}
		}
		if ok {
			return id
		}
	}
	return s.idPrefix + strconv.FormatUint(s.idSeq.Add(1), 16)
}

type ctxKey struct{}

// RequestID returns the id of the request ctx belongs to, "" outside one.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// ServeHTTP routes r, and records its metrics and its log line.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := s.requestID(r)
	rec := recorderPool.Get().(*recorder)
	*rec = recorder{ResponseWriter: w, route: routeOther, head: r.Method == http.MethodHead}
	rec.Header().Set(requestIDHeader, id)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panicked", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, internal(fmt.Errorf("panic: %v", v)))
			}
		}
		d := time.Since(start)
		if !rec.wrote {
			rec.status = http.StatusOK // what net/http sends for a handler that wrote nothing
		}
		rt := rec.route
		if rt == routeDashboard && rec.status == http.StatusNotFound {
			rt = routeOther // keep scanners' random paths out of the dashboard's series
		}
		if rec.writeErr != nil {
			// Record what the client got: no complete answer. Status 0 is
			// the "other" series of the metrics and the log's marker.
			rec.status = 0
		}
		s.prom.observeRequest(rt, rec.status, d)
		s.logRequest(r, id, rt, rec, d)
		recorderPool.Put(rec)
	}()

	if !cleanPath(r.URL.Path) {
		// The mux would redirect to the clean path; no route has "..",
		// "//" or "/." in it, so this is the dashboard's JSON 404, as the
		// exact-match router answered before.
		rec.route = routeDashboard
		s.handleStatic(rec, r)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// cleanPath reports whether p is rooted and free of ".", ".." and empty
// elements, a trailing slash allowed (path.Clean allocates only when not).
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	return c == p || len(p) > 1 && p[len(p)-1] == '/' && len(c)+1 == len(p) && p[:len(c)] == c
}

func (s *Server) logRequest(r *http.Request, id string, rt int, rec *recorder, d time.Duration) {
	level := slog.LevelInfo
	if rec.status >= 500 || rec.writeErr != nil {
		level = slog.LevelError
	}
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", routeNames[rt]),
		slog.Int("status", rec.status),
		slog.Int64("bytes", rec.bytes),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("remote", r.RemoteAddr),
	}
	if rec.writeErr != nil {
		attrs = append(attrs, slog.String("write_error", rec.writeErr.Error()))
	}
	if rec.err != nil {
		attrs = append(attrs, slog.String("code", rec.err.Code))
		if rec.err.cause != nil {
			attrs = append(attrs, slog.String("err", rec.err.cause.Error()))
		}
	}
	s.log.LogAttrs(ctx, level, "request", attrs...)
}

// recorder is the ResponseWriter handlers see: it remembers the status, the
// bytes written and the API error, for metrics and logs.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
	err    *apiError
	route  int  // index in routes, set by the route's handler
	head   bool // a HEAD request: the body is dropped, whatever carries it (net/http, Lambda)
	// writeErr is the first error writing the body (the write timeout
	// passed, the client left): the client did not get the status.
	writeErr error
}

var recorderPool = sync.Pool{New: func() any { return new(recorder) }}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	if r.head {
		return len(b), nil // headers (Content-Length too) as for GET, no body
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	if err != nil && r.writeErr == nil {
		r.writeErr = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON encodes v and sends it with status. Encoding happens before the
// header is written, so a value that cannot be encoded (a NaN forecast)
// becomes a clean 500 instead of a truncated 200.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		if status == http.StatusInternalServerError {
			http.Error(w, `{"error":"internal error","code":"internal"}`, status)
			return
		}
		writeError(w, internal(fmt.Errorf("encoding the response: %w", err)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeRawJSON sends body, already JSON, with status.
func writeRawJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Timeouts of the http.Server built by Serve. Every request of this API is
// small and fast; the write timeout leaves room for a /predict that waits
// for a provider fetch (predictTimeout).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = predictTimeout + 5*time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	// ShutdownTimeout bounds the graceful shutdown: in-flight requests have
	// that long to finish once ctx is cancelled.
	ShutdownTimeout = writeTimeout + 5*time.Second
)

// Serve answers requests on ln until ctx is cancelled (SIGTERM in the CLI),
// then shuts down gracefully: it stops accepting, closes idle connections,
// lets every in-flight request finish (up to ShutdownTimeout), writes the
// forecasts still queued for the ledger (Close) and returns nil.
// It returns the error that stopped the listener if that happens first.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests", "timeout", ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if cerr := s.Close(sctx); cerr != nil && err == nil {
		err = fmt.Errorf("flushing the ledger: %w", cerr)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	s.log.Info("shut down")
	return nil
}

// contextWithTimeout is r's context bounded by d.
func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}

// handleHealthz is liveness: the process answers.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz is readiness: the model is loaded.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready() {
		writeError(w, unavailable("the model is not loaded yet", defaultRetryAfter, nil))
		return
	}
	if h := s.cfg.StoreHealth; h != nil {
		if err := h(); err != nil {
			writeError(w, unavailable("the local store is not usable: "+err.Error(), defaultRetryAfter, err))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// handleModel serves GET /api/model?symbol=: the symbol's model metadata,
// encoded once when the served set was built.
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	q, e := parseQuery(r.URL.RawQuery, historyQueryCodes)
	if e != nil {
		writeError(w, e)
		return
	}
	_, m, e := s.market(q.Get("symbol"))
	if e != nil {
		writeError(w, e)
		return
	}
	if m == nil || m.modelJSON == nil {
		writeError(w, unavailable("the model is not loaded yet", defaultRetryAfter, nil))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(m.modelJSON)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(m.modelJSON)
}

// handleOpenAPI serves the embedded OpenAPI 3 document.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openAPI)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPI)
}
