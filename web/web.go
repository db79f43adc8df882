// Package web is the closecast dashboard: a static page (index.html, ES
// modules, CSS) and the vendored TradingView Lightweight Charts library,
// embedded in the binary so `closecast serve` needs no CDN and works offline.
//
// The page talks to the server only through the HTTP API (relative URLs, so a
// path prefix works): GET api/model, GET api/history, POST predict. It has no
// build step: the files here are served exactly as committed.
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
