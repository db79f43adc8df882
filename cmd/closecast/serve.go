package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/web"
)

// maxForecastsLimit bounds --max-forecasts: more forecasts in flight than
// this only queue on the cores while holding their memory.
const maxForecastsLimit = 256

var serveCmd = &command{
	name:    "serve",
	summary: "Serve forecasts over HTTP: POST /predict, the dashboard at /, metrics, OpenAPI",
	usage:   "[--addr :8080] [--model DIR] [--offline] [--symbols S,S] [--cache-ttl 1m] [--max-forecasts N] [--forecast-wait 1s] [--one-window-threads 1|2] [--yahoo-url URL]",
	example: `  closecast serve                       # embedded model and data, dashboard at http://localhost:8080/
  closecast serve --addr 127.0.0.1:9000 --model out/default --offline
  curl -X POST localhost:8080/predict -H 'Content-Type: application/json' -d '{"date": "2025-07-20"}'

Routes: POST|GET /predict, GET /api/model, /api/history, /api/accuracy,
/healthz, /readyz, /metrics (Prometheus), /openapi.json, and the dashboard at
/. Only the model's symbol and those of --symbols are served: any other is a
404 unknown_symbol, never fetched. Days the store lacks are fetched from Yahoo
once (shared by concurrent requests) unless --offline. At most
--max-forecasts forecasts run at once; a request that finds none free within
--forecast-wait is answered 503 with Retry-After (cached answers and probes
never wait). Every forecast of a day not closed yet is
recorded in the store and scored when that day's close is stored (by this
server or by closecast fetch): /api/accuracy and the dashboard show how the
live forecasts did against persistence. SIGTERM or Ctrl-C finishes the
requests in flight, writes the forecasts still queued, then exits.`,
	run: runServe,
}

func runServe(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	addr := fs.String("addr", ":8080", "listen `address`")
	modelDir := modelFlag(fs)
	offline := fs.Bool("offline", false, "never fetch from Yahoo; serve from the store and the embedded data only")
	cacheTTL := fs.Duration("cache-ttl", time.Minute, "keep each successful /predict answer this long (0 = compute every request); a day's forecast only changes when its bars do")
	oneThreads := fs.Int("one-window-threads", 2, "goroutines one forecast's network pass may use: 2 pipelines the layers of a model with 2 or more over both cores (faster on an idle machine), 1 keeps each forecast on one core (for a machine busy with other work)")
	symbols := fs.String("symbols", "", "comma-separated `symbols` served besides the model's (e.g. ETH-USD,SPY); any other is a 404, never fetched")
	maxForecasts := fs.Int("max-forecasts", server.DefaultMaxForecasts(), "forecasts computed at once, server-wide (`N`; default one per core but one, at least one); cached answers do not count")
	forecastWait := fs.Duration("forecast-wait", time.Second, "how long a request waits for a forecast slot before a 503 with Retry-After")
	yahooURLFlag(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cacheTTL < 0 {
		return fmt.Errorf("%w: --cache-ttl %s: want 0 (no cache) or a positive duration", errUsage, *cacheTTL)
	}
	if *maxForecasts < 1 || *maxForecasts > maxForecastsLimit {
		return fmt.Errorf("%w: --max-forecasts %d: want 1 to %d", errUsage, *maxForecasts, maxForecastsLimit)
	}
	if *forecastWait <= 0 || *forecastWait > server.ForecastWaitLimit {
		return fmt.Errorf("%w: --forecast-wait %s: want a positive duration up to %s", errUsage, *forecastWait, server.ForecastWaitLimit)
	}
	var allowed []string
	if *symbols != "" {
		for _, sym := range strings.Split(*symbols, ",") {
			sym = strings.TrimSpace(sym)
			if !server.ValidSymbol(sym) {
				return fmt.Errorf("%w: --symbols: %q is not a ticker (letters, digits and . - ^ = _, at most 32)", errUsage, sym)
			}
			allowed = append(allowed, sym)
		}
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, nil))
	if *oneThreads < 1 || *oneThreads > 2 {
		return fmt.Errorf("%w: --one-window-threads %d: want 1 or 2", errUsage, *oneThreads)
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	m.Pipeline.Net.SetOneWindowThreads(*oneThreads)
	// The store is both the bars' cache and the ledger of live forecasts
	// (/api/accuracy): opened here rather than through openHistory, which
	// does not hand the store out.
	store, err := openStore(e, false)
	if err != nil {
		return err
	}
	defer store.Close()
	var live closecast.Source
	if !*offline {
		live = yahooClient(e)
	}
	maxJump, err := maxJumpSetting(e, "")
	if err != nil {
		return err
	}
	bars := history.New(marketdata.Embedded(), store, live, history.WithLogger(logger), history.WithMaxJump(maxJump))
	srv := server.New(server.Config{
		Predictor: predict.New(m, bars),
		History:   bars,
		Model:     m.Meta.Summary(),
		Symbol:    m.Meta.Symbol,
		Dashboard: web.FS,
		Provider: func() server.ProviderStats {
			st := bars.Stats()
			return server.ProviderStats{Fetches: st.Fetches, Failures: st.Failures}
		},
		// A damaged store is reported by /readyz (found at open or later).
		StoreHealth:  store.Damaged,
		Logger:       logger,
		CacheTTL:     *cacheTTL,
		Ledger:       store,
		Symbols:      allowed,
		MaxForecasts: *maxForecasts,
		ForecastWait: *forecastWait,
	})
	// Serve flushes the ledger on a graceful shutdown; this covers a
	// listener that fails, before the store closes.
	defer srv.Close(context.Background())
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "closecast %s serving model %s on http://%s/\n", closecast.Version, m.Meta.Version, ln.Addr())
	return srv.Serve(ctx, ln)
}
