// Package serving builds the forecasting chain that `closecast serve` and
// the Lambda share: bars (history: embedded data, an optional store, an
// optional live provider) → forecasts (predict) → the HTTP API (server).
// Commands only choose the parts (which store, which provider, which
// settings); the chain is wired here, once.
//
// The parts come in through Options rather than being opened here, so a
// caller may pass any closecast.Store (SQLite or PostgreSQL, chosen by
// URL) and its ledger. The served model sits behind one Predictor value,
// the place where serving several models (one per symbol) or swapping one
// at run time would go.
package serving

import (
	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/web"
)

// Options are the parts of a serving chain.
type Options struct {
	// Model is the model served (models.Load).
	Model *artifact.Model
	// Store caches bars between the embedded data and Live; nil keeps none
	// (the Lambda, whose disk does not outlive its instance).
	Store closecast.Store
	// Live fetches the days Store and the embedded data lack; nil serves
	// offline.
	Live closecast.Source
	// History configures the bar source (logger, fetch timeout, jump bound…).
	History []history.Option
	// Server holds the HTTP API's settings: cache, budget, logger, ledger,
	// store health, symbols. New fills in what the chain itself provides
	// (Predictor, History, Model, Symbol, Provider, and Dashboard when
	// unset), overriding whatever the caller put there.
	Server server.Config
}

// New wires the chain: the embedded data under o.Store under o.Live,
// o.Model forecasting from them, and a server answering with both.
func New(o Options) *server.Server {
	bars := history.New(marketdata.Embedded(), o.Store, o.Live, o.History...)
	cfg := o.Server
	cfg.Predictor = predict.New(o.Model, bars)
	cfg.History = bars
	cfg.Model = o.Model.Meta.Summary()
	cfg.Symbol = o.Model.Meta.Symbol
	if cfg.Dashboard == nil {
		cfg.Dashboard = web.FS
	}
	cfg.Provider = func() server.ProviderStats {
		st := bars.Stats()
		return server.ProviderStats{Fetches: st.Fetches, Failures: st.Failures}
	}
	return server.New(cfg)
}
