// Command lambda is closecast's AWS Lambda function for the provided.al2023
// runtime: built as `bootstrap` (go build -o bootstrap ./cmd/lambda), it
// serves the same HTTP API as `closecast serve` to API Gateway (REST 1.0,
// HTTP API 2.0) and function URL events. Wiring only: the model and the data
// set are embedded, so a cold start reads no file and opens no connection.
//
// Environment:
//
//	CLOSECAST_OFFLINE=1      never fetch bars from Yahoo: forecasts only up to
//	                         the day after the embedded data's last close
//	CLOSECAST_YAHOO_URL=URL  Yahoo chart API base URL (tests point it at a fake)
//	CLOSECAST_LOG_LEVEL      debug, info (default), warn or error
//	CLOSECAST_MODEL_DIR=DIR  serve the artifact in DIR over the embedded model
//	                         of its symbol (a model shipped in a layer or the image)
//	CLOSECAST_DATABASE_URL   a PostgreSQL database shared with closecast serve:
//	                         live forecasts are recorded in its ledger (so
//	                         /api/accuracy and the dashboard's panel work), bars
//	                         are cached in it, and the registry's champions are
//	                         served (polled every serving.DefaultPoll)
//
// Every embedded model is served, one per symbol. Without a database the
// function keeps no ledger of live forecasts: GET /api/accuracy answers 404
// no_ledger (see main).
package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/database"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/lambda"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/postgres"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/serving"
	"github.com/closecast/closecast/yahoo"
)

// fetchTimeout bounds one fetch from Yahoo, retries included: 3 attempts of
// at most 3 s plus back-off, within the function's 15 s timeout.
const fetchTimeout = 11 * time.Second

func main() {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("CLOSECAST_LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	// Lambda sends stdout to CloudWatch Logs, one JSON record per line.
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))

	base, err := models.All()
	if err == nil {
		if dir := os.Getenv("CLOSECAST_MODEL_DIR"); dir != "" {
			var m *artifact.Model
			if m, err = models.Load(dir); err == nil {
				base = append(base, m)
			}
		}
	}
	if err != nil {
		// Lambda reports an init error and retries the cold start; the
		// message says what is wrong with the model.
		logger.Error("loading the models", "err", err)
		os.Exit(1)
	}
	// No store: a Lambda's disk does not outlive its instance. Missing
	// recent days are fetched from Yahoo when a request needs them (once
	// per instance and retry period, shared by concurrent requests).
	// For the same reason no ledger of live forecasts: a ledger on /tmp
	// would vanish with the instance and split across concurrent ones, so
	// /api/accuracy answers 404 no_ledger and the dashboard hides its
	// panel. Live accuracy needs closecast serve (one store, one process).
	var live closecast.Source
	if !truthy(os.Getenv("CLOSECAST_OFFLINE")) {
		// Tighter than the CLI's defaults: API Gateway gives up after 30 s
		// and the function's timeout (deploy/template.yaml) is 15 s, so a
		// slow Yahoo must fail in time for a 503 with Retry-After.
		c := &yahoo.Client{Attempts: 3, AttemptTimeout: 3 * time.Second, BackoffBase: 250 * time.Millisecond, BackoffMax: time.Second}
		if u := strings.TrimSpace(os.Getenv(yahoo.EnvBaseURL)); u != "" {
			c.BaseURL = u
		}
		live = c
	}
	db := openDB(logger)
	served := base
	var store closecast.Store
	var ledger server.Ledger
	if db != nil {
		store, ledger = db, db
		ctx, cancel := context.WithTimeout(context.Background(), initDBTimeout)
		if ms, err := serving.Champions(ctx, db, base, nil, logger); err != nil {
			logger.Warn("the registry could not be read; serving the embedded models", "err", err)
		} else {
			served = ms
		}
		cancel()
	}
	srv := serving.New(serving.Options{
		Models:  served,
		Store:   store,
		Live:    live,
		History: []history.Option{history.WithLogger(logger), history.WithFetchTimeout(fetchTimeout)},
		Server: server.Config{
			Logger: logger,
			// An instance serves one request at a time on a fraction of a
			// vCPU: repeated requests for the same day ("tomorrow") skip
			// the model. A minute, like history's retry-after: new days
			// show within it.
			CacheTTL: time.Minute,
			Ledger:   ledger,
		},
	})
	if db != nil {
		// No LISTEN: an instance is frozen between invocations. The poll
		// runs while it is thawed, so a promotion shows within a poll
		// period of an invocation.
		go srv.Watch(context.Background(), db, base, serving.DefaultPoll, nil, logger)
	}
	logger.Info("ready", "models", srv.Markets(), "live", live != nil, "database", db != nil, "closecast", closecast.Version)
	awslambda.Start(lambda.New(srv)) // an Adapter is an awslambda.Handler: Start invokes it as is
}

// Database settings of an instance: it serves one request at a time, so
// two connections (a forecast's reads and the ledger's writer) are enough
// and keep a fleet of instances within the database's connection limit;
// a short connect timeout leaves time in the function's 15 s for a 503.
const (
	dbConnectTimeout = 2 * time.Second
	initDBTimeout    = 4 * time.Second
)

// openDB opens CLOSECAST_DATABASE_URL (nil when unset) lazily and
// migrates it within initDBTimeout: a database that is down makes a
// degraded instance (embedded data; ledger writes retried), not a failed
// cold start.
func openDB(logger *slog.Logger) database.DB {
	url := strings.TrimSpace(os.Getenv(database.URLEnv))
	if url == "" {
		return nil
	}
	db, err := database.Open(context.Background(), url, database.Options{Lazy: true,
		Postgres: postgres.Options{MaxConns: postgres.LambdaMaxConns, ConnectTimeout: dbConnectTimeout,
			SimpleProtocol: truthy(os.Getenv("CLOSECAST_DATABASE_SIMPLE_PROTOCOL"))}})
	if err != nil {
		logger.Error("opening the database", "err", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), initDBTimeout)
	defer cancel()
	if err := database.Migrate(ctx, db); err != nil {
		logger.Warn("the database is not reachable; serving degraded", "err", err)
	}
	return db
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
