// Package serving builds the forecasting chain that `closecast serve` and
// the Lambda share: bars (history: embedded data, an optional store, an
// optional live provider) → forecasts (predict) → the HTTP API (server).
// Commands only choose the parts (which store, which provider, which
// settings); the chain is wired here, once.
//
// The parts come in through Options rather than being opened here, so a
// caller may pass any closecast.Store (SQLite or PostgreSQL, chosen by
// URL) and its ledger. A chain serves one model per symbol; Chain.Swap
// swaps the whole set at run time (a registry promotion).
package serving

import (
	"cmp"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/web"
)

// Options are the parts of a serving chain.
type Options struct {
	// Model is the model served (models.Load) when Models is empty.
	Model *artifact.Model
	// Models are the models served, one per symbol (a later one replaces
	// an earlier one of the same symbol).
	Models []*artifact.Model
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
	// (Predictor, History, Model, Symbol, Provider, Distribution, and
	// Dashboard when unset), overriding whatever the caller put there.
	Server server.Config
	// Adaptive is how the intervals of live forecasts are adapted from the
	// ledger (Server.Ledger): closecast.AdaptiveACI ("" means it),
	// closecast.AdaptiveFACI or closecast.AdaptiveNone. Without a ledger
	// nothing is adapted.
	Adaptive string
	// Interval is the served interval method: closecast.IntervalConformal
	// ("" means it: the model's conformal quantiles, or a quantile head's
	// own) or closecast.IntervalEnsemble. It is what /predict answers for
	// interval auto (the dashboard's horizons), the distribution the
	// ledger records with every live forecast, and the base the adaptation
	// adapts.
	Interval string
}

// Chain is a wired server and the bars it forecasts from: Swap swaps the
// served models.
type Chain struct {
	*server.Server
	bars     *history.Layered
	live     *evaluate.Live // nil without a ledger
	adapt    bool
	ensemble bool // Options.Interval is the ensemble
	// served are the live predictors of the markets served (with a
	// ledger), swapped with them: WarmLive warms them.
	served atomic.Pointer[[]*livePredictor]
}

// Validate checks the settings New does not take from its parts: Adaptive
// and Interval.
func (o Options) Validate() error {
	switch o.Adaptive {
	case "", closecast.AdaptiveACI, closecast.AdaptiveFACI, closecast.AdaptiveNone:
	default:
		return fmt.Errorf("adaptive %q: want %s, %s or %s", o.Adaptive, closecast.AdaptiveACI, closecast.AdaptiveFACI, closecast.AdaptiveNone)
	}
	switch o.Interval {
	case "", closecast.IntervalConformal, closecast.IntervalEnsemble:
	default:
		return fmt.Errorf("interval %q: want %s or %s", o.Interval, closecast.IntervalConformal, closecast.IntervalEnsemble)
	}
	return nil
}

// New wires the chain: the embedded data under o.Store under o.Live, each
// model of o.Models (or o.Model) forecasting its symbol from them, and a
// server answering with all of them. Options that fail Validate are a
// programming error (commands validate their flags first): New panics.
func New(o Options) *Chain {
	if err := o.Validate(); err != nil {
		panic("serving: " + err.Error())
	}
	var adaptation evaluate.Adaptation
	if o.Adaptive != closecast.AdaptiveNone {
		a, err := evaluate.ShippedAdaptation(cmp.Or(o.Adaptive, closecast.AdaptiveACI))
		if err != nil {
			panic("serving: " + err.Error())
		}
		adaptation = a
	}
	bars := history.New(marketdata.Embedded(), o.Store, o.Live, o.History...)
	c := &Chain{bars: bars, ensemble: o.Interval == closecast.IntervalEnsemble}
	cfg := o.Server
	ms := o.Models
	if len(ms) == 0 && o.Model != nil {
		ms = []*artifact.Model{o.Model}
	}
	cfg.Distribution = nil
	if cfg.Ledger != nil {
		// Scoring reads the stored bars only: the days it scores are
		// closed, and it must never make a request wait on a provider.
		stored := history.New(marketdata.Embedded(), o.Store, nil, o.History...)
		scored := adaptation
		if scored == nil {
			// Serving unadapted, /api/accuracy still scores ACI beside
			// the model: what adapting would have given.
			scored = evaluate.ACI{Gamma: evaluate.ACIGamma}
		}
		c.live = evaluate.NewLive(cfg.Ledger, stored, scored)
		c.adapt = adaptation != nil
		cfg.Distribution = c.live
	}
	cfg.Markets = c.markets(ms)
	cfg.Predictor, cfg.Model = nil, nil
	cfg.History = bars
	if len(ms) == 1 {
		cfg.Symbol = ms[0].Meta.Symbol
	}
	if cfg.Dashboard == nil {
		cfg.Dashboard = web.FS
	}
	cfg.Provider = func() server.ProviderStats {
		st := bars.Stats()
		return server.ProviderStats{Fetches: st.Fetches, Failures: st.Failures}
	}
	c.Server = server.New(cfg)
	return c
}

// Swap replaces the served models with ms, atomically: a request sees the
// old set or the new one, never a mix.
func (c *Chain) Swap(ms []*artifact.Model) { c.SetMarkets(c.markets(ms)) }

// markets is Markets for the chain: with a ledger, each predictor records
// its forecasts' distributions and adapts its live intervals (livePredictor).
func (c *Chain) markets(ms []*artifact.Model) []server.Market {
	out := Markets(ms, c.bars)
	if c.live != nil {
		var served []*livePredictor
		for i := range out {
			if svc, ok := out[i].Predictor.(*predict.Service); ok {
				lp := &livePredictor{Service: svc, live: c.live, adapt: c.adapt, ensemble: c.ensemble}
				out[i].Predictor, served = lp, append(served, lp)
			}
		}
		c.served.Store(&served)
	}
	return out
}

// Markets makes the server's markets of ms, each forecasting from bars; a
// later model replaces an earlier one of the same symbol.
func Markets(ms []*artifact.Model, bars closecast.Source) []server.Market {
	idx := map[string]int{}
	var out []server.Market
	for _, m := range ms {
		mk := server.Market{Symbol: m.Meta.Symbol, Predictor: predict.New(m, bars), Model: m.Meta.Summary(), Info: Info(m)}
		if i, ok := idx[m.Meta.Symbol]; ok {
			out[i] = mk
			continue
		}
		idx[m.Meta.Symbol] = len(out)
		out = append(out, mk)
	}
	return out
}

// holdout is /api/models' hold-out summary: the model's errors beside
// persistence's on the same days.
type holdout struct {
	From        closecast.Date  `json:"from"`
	To          closecast.Date  `json:"to"`
	Model       json.RawMessage `json:"model"`
	Persistence json.RawMessage `json:"persistence"`
}

// Info is m's row of /api/models (the server adds the last known close).
func Info(m *artifact.Model) server.ModelInfo {
	info := server.ModelInfo{Symbol: m.Meta.Symbol, Version: m.Meta.Version, Window: m.Meta.Window}
	if ev := m.Meta.Metrics.Holdout; ev != nil {
		mj, err1 := json.Marshal(ev.Model)
		pj, err2 := json.Marshal(ev.Persistence)
		if err1 == nil && err2 == nil {
			info.Holdout = holdout{From: ev.From, To: ev.To, Model: mj, Persistence: pj}
		}
	}
	return info
}
