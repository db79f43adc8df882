package server

import (
	"context"
	"net/http"
	"time"

	"github.com/closecast/closecast"
)

// historyResponse is the 200 body of /api/history. Bars is never null.
type historyResponse struct {
	Symbol string          `json:"symbol"`
	Bars   []closecast.Bar `json:"bars"`
}

const (
	// historyDefaultDays is the span of /api/history without from: the last
	// year up to the last known day.
	historyDefaultDays = 365
	// historyLookback is how far back a request without from/to searches for
	// the last known day when the source cannot say it directly (a Layered
	// whose data ends months before today, offline).
	historyLookback = 3650
	// historyMaxDays bounds one request (about 1 MB of JSON).
	historyMaxDays = 20 * 366
	historyTimeout = predictTimeout
)

// historyQueryCodes are /api/history's query fields and their error codes.
var historyQueryCodes = map[string]string{"symbol": codeUnknownSymbol, "from": codeInvalidDate, "to": codeInvalidDate}

// ranger is implemented by sources that know their last day without reading
// bars (closecast.Store). /api/history uses it to default "to".
type ranger interface {
	Range(ctx context.Context, symbol string) (first, last closecast.Date, ok bool, err error)
}

// handleHistory serves GET /api/history?symbol=&from=&to=.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	if s.cfg.History == nil {
		writeError(w, unavailable("no price history is configured", defaultRetryAfter, nil))
		return
	}
	q, e := parseQuery(r.URL.RawQuery, historyQueryCodes)
	if e != nil {
		writeError(w, e)
		return
	}
	sym, e := s.symbolParam(q.Get("symbol"))
	if e != nil {
		writeError(w, e)
		return
	}
	var from, to closecast.Date
	var hasFrom, hasTo bool
	for _, p := range []struct {
		name string
		d    *closecast.Date
		has  *bool
	}{{"from", &from, &hasFrom}, {"to", &to, &hasTo}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		d, err := closecast.ParseDate(v)
		if err != nil {
			writeError(w, badRequest(codeInvalidDate, "'%s' must be a calendar day written YYYY-MM-DD, got %s", p.name, quote(v)))
			return
		}
		*p.d, *p.has = d, true
	}
	if hasFrom && hasTo && from > to {
		writeError(w, badRequest(codeInvalidDate, "'from' (%s) is after 'to' (%s)", from, to))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), historyTimeout)
	defer cancel()

	var series closecast.Series
	var err error
	switch {
	case hasFrom && hasTo:
		if to-from >= historyMaxDays {
			writeError(w, badRequest(codeInvalidDate, "'from' to 'to' spans %d days; at most %d can be asked at once", to-from+1, historyMaxDays))
			return
		}
		series, err = s.cfg.History.Bars(ctx, sym, from, to)
	case hasTo: // the year up to to
		series, err = s.cfg.History.Bars(ctx, sym, to.AddDays(1-historyDefaultDays), to)
	case hasFrom: // from from to the last known day (the dashboard's request), within the size bound
		// A from after today has no bars yet: an empty answer, not a
		// reversed range for the source to refuse.
		if end := min(from.AddDays(historyMaxDays-1), closecast.Today()); end >= from {
			series, err = s.cfg.History.Bars(ctx, sym, from, end)
		}
	default: // the year up to the last known day
		series, err = s.lastYear(ctx, sym)
	}
	if err != nil {
		writeError(w, fromDomain(err))
		return
	}
	bars := series.Bars
	if bars == nil {
		bars = []closecast.Bar{}
	}
	writeJSON(w, http.StatusOK, historyResponse{Symbol: sym, Bars: bars})
}

// lastYear returns the bars of the historyDefaultDays ending on the last day
// the source knows.
func (s *Server) lastYear(ctx context.Context, sym string) (closecast.Series, error) {
	today := closecast.DateOf(time.Now())
	if rg, ok := s.cfg.History.(ranger); ok {
		_, last, ok, err := rg.Range(ctx, sym)
		if err != nil {
			return closecast.Series{}, err
		}
		if ok {
			return s.cfg.History.Bars(ctx, sym, last.AddDays(1-historyDefaultDays), last)
		}
	}
	series, err := s.cfg.History.Bars(ctx, sym, today.AddDays(-historyLookback), today)
	if err != nil {
		return closecast.Series{}, err
	}
	if last, ok := series.Last(); ok {
		series = series.Between(last.AddDays(1-historyDefaultDays), last)
	}
	return series, nil
}
