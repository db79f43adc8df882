package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/closecast/closecast"
)

// Market is one served symbol: the predictor that forecasts it and its
// model's metadata. A server serves a set of markets, one model per symbol,
// that SetMarkets swaps whole.
type Market struct {
	// Symbol is the market's ticker, as Yahoo spells it ("ETH-USD").
	Symbol string
	// Predictor forecasts Symbol (a *predict.Service in production).
	Predictor closecast.Predictor
	// Model is the model's metadata served at /api/model?symbol=: any
	// value that encodes to JSON. It is encoded once, when the set is built.
	Model any
	// Info is the market's row of /api/models; the server fills in
	// last_known and last_close from its history when asked.
	Info ModelInfo
}

// ModelInfo is one row of /api/models: a served model, its last known
// close, and its hold-out errors beside persistence's.
type ModelInfo struct {
	Symbol    string          `json:"symbol"`
	Version   string          `json:"version"`
	Window    int             `json:"window"`
	LastKnown *closecast.Date `json:"last_known"`
	LastClose *float64        `json:"last_close"`
	// Holdout is the model's evaluation on its hold-out days (from, to,
	// model, persistence), null when the artifact has none.
	Holdout any `json:"holdout"`
}

// modelsResponse is the 200 body of /api/models.
type modelsResponse struct {
	Default string      `json:"default"`
	Models  []ModelInfo `json:"models"`
}

// market is a Market with its metadata encoded.
type market struct {
	Market
	modelJSON []byte // nil when the metadata cannot be encoded: not ready
}

// catalog is the set of markets a server serves, swapped whole behind an
// atomic pointer so that a request sees one set from start to end: the
// old model or the new, never a mix.
type catalog struct {
	def     string             // the default symbol: a request without one gets it
	markets map[string]*market // by symbol
	// allowed are the symbols served: the markets' and Config.Symbols
	// (forecast by the default market's predictor), sorted.
	allowed []string
	allow   map[string]bool
}

// newCatalog builds the served set from ms; def is the preferred default
// symbol (kept when served, else BTC-USD when served, else the first).
func newCatalog(ms []Market, def string, extra []string, log interface {
	Error(string, ...any)
}) *catalog {
	c := &catalog{markets: make(map[string]*market, len(ms)), allow: make(map[string]bool)}
	for _, m := range ms {
		sym, e := normalizeSymbol(m.Symbol)
		if e != nil || sym == "" {
			log.Error("a served market has no valid symbol; it is left out", "symbol", m.Symbol)
			continue
		}
		mk := &market{Market: m}
		mk.Symbol = sym
		if m.Model != nil {
			b, err := json.Marshal(m.Model)
			if err != nil {
				log.Error("model metadata cannot be encoded as JSON; /api/model and /readyz will answer 503", "symbol", sym, "err", err)
			} else if !bytes.Equal(b, []byte("null")) {
				mk.modelJSON = b
			}
		}
		if mk.Info.Symbol == "" {
			mk.Info.Symbol = sym
		}
		c.markets[sym] = mk
		c.allow[sym] = true
	}
	switch {
	case def != "" && c.markets[def] != nil:
		c.def = def
	case c.markets[closecast.DefaultSymbol] != nil:
		c.def = closecast.DefaultSymbol
	case def != "":
		c.def = def
	default:
		c.def = closecast.DefaultSymbol
		if len(c.markets) > 0 {
			c.def = slices.Sorted(func(yield func(string) bool) {
				for s := range c.markets {
					if !yield(s) {
						return
					}
				}
			})[0]
		}
	}
	c.allow[c.def] = true
	for _, sym := range extra {
		if n, e := normalizeSymbol(sym); e == nil && n != "" {
			c.allow[n] = true
		}
	}
	for s := range c.allow {
		c.allowed = append(c.allowed, s)
	}
	slices.Sort(c.allowed)
	return c
}

// lookup returns the market forecasting sym: its own, or the default's for
// a symbol of the allow-list without a model of its own. Nil when none.
func (c *catalog) lookup(sym string) *market {
	if m := c.markets[sym]; m != nil {
		return m
	}
	if c.allow[sym] {
		return c.markets[c.def]
	}
	return nil
}

// unknown is the 404 of a symbol the catalog does not serve, listing the
// served ones (at most maxListed of them in the message).
func (c *catalog) unknown(sym string) *apiError {
	const maxListed = 10
	names := c.allowed
	list := strings.Join(names, ", ")
	if len(names) > maxListed {
		list = strings.Join(names[:maxListed], ", ") + ", …"
	}
	return &apiError{Status: http.StatusNotFound, Code: codeUnknownSymbol,
		Message: fmt.Sprintf("unknown symbol: %s (served: %s)", sym, list), Symbols: names}
}

// SetMarkets replaces the served set with ms at once: requests already
// running finish with the set they started with, later ones see ms. The
// default symbol is kept when ms serves it. Cached answers of a symbol
// whose model changed are dropped.
func (s *Server) SetMarkets(ms []Market) {
	old := s.markets.Load()
	c := newCatalog(ms, old.def, s.cfg.Symbols, s.log)
	s.markets.Store(c)
	for sym, m := range c.markets {
		if om := old.markets[sym]; om == nil || om.Info.Version != m.Info.Version {
			s.cache.dropSymbol(sym)
		}
	}
	s.prom.serve(c.allowed)
}

// Markets returns the versions served, by symbol.
func (s *Server) Markets() map[string]string {
	c := s.markets.Load()
	v := make(map[string]string, len(c.markets))
	for sym, m := range c.markets {
		v[sym] = m.Info.Version
	}
	return v
}

// modelsTimeout bounds the history lookups of /api/models.
const modelsTimeout = 5 * time.Second

// lastKnownSpan is how far back /api/models looks for a market's last close.
const lastKnownSpan = 14

// handleModels serves GET /api/models: every served model, sorted by
// symbol, with its last known close from the server's history.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	c := s.markets.Load()
	resp := modelsResponse{Default: c.def, Models: make([]ModelInfo, 0, len(c.markets))}
	ctx, cancel := context.WithTimeout(r.Context(), modelsTimeout)
	defer cancel()
	for _, sym := range c.allowed {
		m := c.markets[sym]
		if m == nil {
			continue
		}
		info := m.Info
		if s.cfg.History != nil {
			today := closecast.DateOf(s.now())
			if series, err := s.cfg.History.Bars(ctx, sym, today.AddDays(-lastKnownSpan), today); err == nil && len(series.Bars) > 0 {
				b := series.Bars[len(series.Bars)-1]
				d, cl := b.Date, b.Close
				info.LastKnown, info.LastClose = &d, &cl
			} else if err != nil {
				s.log.Warn("/api/models: no recent bars", "symbol", sym, "err", err)
			}
		}
		resp.Models = append(resp.Models, info)
	}
	writeJSON(w, http.StatusOK, resp)
}
