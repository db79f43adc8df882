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
//	CLOSECAST_MODEL_DIR=DIR  serve the artifact in DIR instead of the embedded
//	                         model (a model shipped in a layer or the image)
//
// The function keeps no ledger of live forecasts: GET /api/accuracy answers
// 404 no_ledger (see main).
package main

import (
	"log/slog"
	"os"
	"strings"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/lambda"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/web"
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

	model, err := loadModel(os.Getenv("CLOSECAST_MODEL_DIR"))
	if err != nil {
		// Lambda reports an init error and retries the cold start; the
		// message says what is wrong with the embedded model.
		logger.Error("loading the embedded model", "err", err)
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
	bars := history.New(marketdata.Embedded(), nil, live, history.WithLogger(logger), history.WithFetchTimeout(fetchTimeout))
	srv := server.New(server.Config{
		Predictor: predict.New(model, bars),
		History:   bars,
		Model:     model.Meta.Summary(),
		Symbol:    model.Meta.Symbol,
		Dashboard: web.FS,
		Provider: func() server.ProviderStats {
			st := bars.Stats()
			return server.ProviderStats{Fetches: st.Fetches, Failures: st.Failures}
		},
		Logger: logger,
		// An instance serves one request at a time on a fraction of a vCPU:
		// repeated requests for the same day ("tomorrow") skip the model.
		// A minute, like history's retry-after: new days show within it.
		CacheTTL: time.Minute,
	})
	logger.Info("ready", "model", model.Meta.Version, "symbol", model.Meta.Symbol, "live", live != nil, "closecast", closecast.Version)
	// The adapter is an awslambda.Handler (Invoke on raw payloads), which
	// Start runs as is, without reflecting on a function's signature.
	awslambda.Start(lambda.New(srv))
}

// loadModel reads the artifact in dir, or the embedded default model when
// dir is empty. Either is verified (checksums, schema) before use.
func loadModel(dir string) (*artifact.Model, error) {
	if dir != "" {
		return artifact.Read(dir)
	}
	return models.Default()
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
