// Package web is the closecast dashboard: a static page (index.html, ES
// modules, CSS) and the vendored TradingView Lightweight Charts library,
// embedded in the binary so `closecast serve` needs no CDN and works offline.
//
// The page talks to the server only through the HTTP API (relative URLs, so a
// path prefix works): GET api/model, GET api/history, POST predict. It has no
// build step: the files here are served exactly as committed. Their names
// carry no content hash, so a server should revalidate them (ETag or
// Last-Modified) rather than mark them immutable.
//
// What the page reads from GET api/model: version, symbol, created, window,
// train_range {from, to}, training.epochs_trained (or epochs_trained),
// metrics {holdout, validation: {n, from, to, model, persistence, ma7}} with
// {mae, rmse, mape, smape, mase, direction} where MAPE, sMAPE and direction
// are in percent and null means undefined, loss_curve {train, val} and
// predictions {holdout, validation: [{date, actual, predicted}]}. Every part
// is optional: the page shows what it gets and says what is missing.
//
// The tests drive the page in headless Chromium (github.com/chromedp/chromedp)
// against an in-test implementation of the API. They look for the browser at
// $CLOSECAST_CHROMIUM, /usr/bin/chromium or chromium on $PATH, and fail
// without one when CI=true. Screenshots (desktop 1280×800, pt-BR, phone
// 390×844) go to $CLOSECAST_SCREENSHOTS (default: a temporary directory);
// CLOSECAST_UPDATE_SCREENSHOT=1 also refreshes testdata/dashboard.png.
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html app.js api.js chart.js i18n.js style.css favicon.svg
//go:embed vendor/lightweight-charts.standalone.production.mjs vendor/LICENSE vendor/NOTICE vendor/README.md
var files embed.FS

// FS holds the dashboard's assets with index.html at its root, laid out as
// they are served: "index.html", "app.js", "api.js", "chart.js", "i18n.js",
// "style.css", "favicon.svg" and "vendor/…" (the chart library with its
// LICENSE, NOTICE and README). Package server serves it at "/".
var FS fs.FS = files
