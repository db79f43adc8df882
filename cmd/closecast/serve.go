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
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/serving"
)

// maxForecastsLimit bounds --max-forecasts: more forecasts in flight than
// this only queue on the cores while holding their memory.
const maxForecastsLimit = 256

var serveCmd = &command{
	name:    "serve",
	summary: "Serve forecasts over HTTP: POST /predict, the dashboard at /, metrics, OpenAPI",
	usage:   "[--addr :8080] [--model DIR] [--models DIR] [--db URL] [--offline] [--symbols S,S] [--cache-ttl 1m] [--max-forecasts N] [--forecast-wait 1s] [--interval conformal|ensemble] [--adaptive aci|faci|none] [--one-window-threads 1|2] [--yahoo-url URL]",
	example: `  closecast serve                       # embedded model and data, dashboard at http://localhost:8080/
  closecast serve --addr 127.0.0.1:9000 --model out/default --offline
  closecast serve --models out/default   # one model per symbol: out/default/BTC-USD, out/default/ETH-USD…
  closecast serve --models out/global    # a global model's directory serves each of its markets
  closecast serve --db postgres://closecast@db/closecast   # the registry's champions, shared ledger and bars
  curl -X POST localhost:8080/predict -H 'Content-Type: application/json' -d '{"date": "2025-07-20"}'

Routes: POST|GET /predict, GET /api/model, /api/history, /api/accuracy,
/healthz, /readyz, /metrics (Prometheus), /openapi.json, and the dashboard at
/, GET /api/models. Every embedded model is served (BTC-USD, ETH-USD), one
per symbol, replaced by --model, by the artifact directories of --models
(one model per symbol: two of one symbol are refused) and, with --db (or
$CLOSECAST_DATABASE_URL), by the registry's champions. A global model, in
--model or in --models, serves each of its markets, with that market's
scalers, as a per-symbol model of it would: a
promotion is served within 30 s without a restart (LISTEN closecast_models on
PostgreSQL, and a poll every 15 s). A request without a symbol gets BTC-USD.
Only served symbols and those of --symbols are answered: any other is a 404
unknown_symbol listing the served ones, never fetched. With a PostgreSQL --db
the server starts while the database is down (degraded: /readyz says so) and
migrates and loads the champions when it appears. Days the store lacks are fetched from Yahoo
once (shared by concurrent requests) unless --offline. At most
--max-forecasts forecasts run at once; a request that finds none free within
--forecast-wait is answered 503 with Retry-After (cached answers and probes
never wait). Every forecast of a day not closed yet is
recorded in the store and scored when that day's close is stored (by this
server or by closecast fetch): /api/accuracy and the dashboard show how the
live forecasts did against persistence, and their forecast distributions
(21 quantiles of the model's own interval, kept in the ledger) against the
naive baselines of closecast evaluate. --interval picks the served
interval: conformal (the default: the model's conformal quantiles, or a
quantile head's own) or ensemble (closecast evaluate's naive-baseline
ensemble of EWMA-t, GARCH(1,1)-t, empirical and filtered quantiles, fitted
once per day at the last close); it answers interval auto (the
dashboard's bands) and is the distribution the ledger records. A request
may still ask any interval by name. The served interval of live forecasts
is adapted online from the ledger's scored forecasts by adaptive conformal
inference (--adaptive aci, the default, as closecast evaluate's model+aci;
faci, its fully adaptive variant, as model+faci; none serves it as is).
SIGTERM or Ctrl-C finishes the
requests in flight, writes the forecasts still queued, then exits.`,
	run: runServe,
}

func runServe(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	addr := fs.String("addr", ":8080", "listen `address`")
	modelDir := modelFlag(fs)
	modelsDir := fs.String("models", "", "a `directory` of artifact directories, one model per symbol (a global model counts for each of its markets), served besides (and over) the embedded ones and --model's")
	dbFlag(fs, e)
	offline := fs.Bool("offline", false, "never fetch from Yahoo; serve from the store and the embedded data only")
	cacheTTL := fs.Duration("cache-ttl", time.Minute, "keep each successful /predict answer this long (0 = compute every request); a day's forecast only changes when its bars do")
	oneThreads := fs.Int("one-window-threads", 2, "goroutines one forecast's network pass may use: 2 pipelines the layers of a model with 2 or more over both cores (faster on an idle machine), 1 keeps each forecast on one core (for a machine busy with other work)")
	symbols := fs.String("symbols", "", "comma-separated `symbols` served besides the model's (e.g. ETH-USD,SPY); any other is a 404, never fetched")
	maxForecasts := fs.Int("max-forecasts", server.DefaultMaxForecasts(), "forecasts computed at once, server-wide (`N`; default one per core but one, at least one); cached answers do not count")
	forecastWait := fs.Duration("forecast-wait", time.Second, "how long a request waits for a forecast slot before a 503 with Retry-After")
	adaptive := fs.String("adaptive", closecast.AdaptiveACI, "how live intervals are adapted from the ledger's scored forecasts: `aci` (adaptive conformal inference, as closecast evaluate's model+aci), faci (fully adaptive, as model+faci) or none (the interval as it is)")
	interval := fs.String("interval", closecast.IntervalConformal, "the served interval, for interval auto and the ledger: `conformal` (or a quantile head's own) or ensemble (the naive-baseline ensemble)")
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
	opts := serving.Options{Adaptive: *adaptive, Interval: *interval}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("%w: --%v", errUsage, err)
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
	base, err := servedModels(*modelDir, *modelsDir)
	if err != nil {
		return err
	}
	for _, m := range base {
		m.Pipeline.Net.SetOneWindowThreads(*oneThreads)
	}
	// The store is both the bars' cache and the ledger of live forecasts
	// (/api/accuracy), and with --db the model registry.
	st, err := openServeStore(ctx, e, logger)
	if err != nil {
		return err
	}
	defer st.db.Close()
	var live closecast.Source
	if !*offline {
		live = yahooClient(e)
	}
	maxJump, err := maxJumpSetting(e, "")
	if err != nil {
		return err
	}
	srv := serving.New(serving.Options{
		Models:   base,
		Store:    st.db,
		Live:     live,
		Adaptive: opts.Adaptive,
		Interval: opts.Interval,
		History:  []history.Option{history.WithLogger(logger), history.WithMaxJump(maxJump)},
		Server: server.Config{
			// A damaged SQLite store, or a PostgreSQL database not
			// reachable, is reported by /readyz.
			StoreHealth:  st.health,
			Logger:       logger,
			CacheTTL:     *cacheTTL,
			Ledger:       st.db,
			Symbols:      allowed,
			MaxForecasts: *maxForecasts,
			ForecastWait: *forecastWait,
		},
	})
	// Serve flushes the ledger on a graceful shutdown; this covers a
	// listener that fails, before the store closes.
	defer srv.Close(context.Background())
	go func() {
		if err := srv.WarmLive(ctx); err != nil {
			logger.Warn("scoring the ledger's forecasts at start failed; /api/accuracy will try again", "err", err)
		}
	}()
	if dbURL(e) != "" {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go st.serveChampions(wctx, srv, base, logger)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	versions := make([]string, len(base))
	for i, m := range base {
		versions[i] = m.Meta.Version
	}
	fmt.Fprintf(e.stderr, "closecast %s serving model %s on http://%s/\n", closecast.Version, strings.Join(versions, ", "), ln.Addr())
	return srv.Serve(ctx, ln)
}
