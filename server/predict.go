package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/closecast/closecast"
)

// maxBody is the largest request body accepted; a larger one is a 413. A
// /predict body is a few dozen bytes: this only bounds what a client can make
// the server buffer.
const maxBody = 64 << 10

// predictRequest is the body of POST /predict: {"date": "YYYY-MM-DD",
// "symbol": "BTC-USD", "horizon": 7, "interval": "conformal", "samples":
// 100, "quantiles": [5, 50, 95]}. Pointers tell a missing field from an empty one; horizon, samples
// and interval are kept raw so that a value of the wrong type is an
// invalid_horizon/invalid_samples/invalid_interval naming the field, like
// an out-of-range one. Other members are ignored, for forward
// compatibility.
type predictRequest struct {
	Date     *string         `json:"date"`
	Symbol   *string         `json:"symbol"`
	Horizon  json.RawMessage `json:"horizon"`
	Samples  json.RawMessage `json:"samples"`
	Interval json.RawMessage `json:"interval"`
	// Quantiles are extra levels in percent, e.g. [5, 50, 95].
	Quantiles json.RawMessage `json:"quantiles"`
}

// rawParams are a /predict request's fields as sent, from the JSON body or
// the query string; has* tell a field sent from one left out.
type rawParams struct {
	date, symbol, horizon, samples, interval string
	hasHorizon, hasSamples, hasInterval      bool
	// quantiles are the levels in percent as sent: the query's
	// comma-separated text, or a JSON body's array (quantilesJSON).
	quantiles     string
	quantilesJSON json.RawMessage
	hasQuantiles  bool
}

// predictParams is a validated /predict request.
type predictParams struct {
	symbol  string // "" for the default, otherwise upper-cased
	date    closecast.Date
	horizon int // days forecast from date on, 1..maxHorizon
	// interval is how quantiles are made: "" (none), closecast.IntervalAuto,
	// IntervalConformal, IntervalMCDropout or IntervalEnsemble.
	interval string
	samples  int // Monte-Carlo dropout paths asked for: 0 (the default) or 2..maxSamples
	// quantiles are extra levels asked for, in percent, strictly
	// ascending in (0, 100), at most maxQuantiles; nil when not asked.
	quantiles []float64
}

// plain reports whether p asks for today's one-day forecast without an
// interval: the hot path, answered from the cache and byte-identical to the
// body /predict had before horizons.
func (p predictParams) plain() bool { return p.horizon == 1 && p.interval == "" }

// PredictResponse is the 200 body of /predict (and of `closecast predict
// --json`). Field order is the contract's.
type PredictResponse struct {
	Prediction float64        `json:"prediction"`
	Symbol     string         `json:"symbol"`
	Date       closecast.Date `json:"date"`
	Model      string         `json:"model"`
	Inputs     InputWindow    `json:"inputs"`
	LastClose  float64        `json:"last_close"`
	Change     float64        `json:"change"`     // prediction − last_close
	ChangePct  float64        `json:"change_pct"` // change as a percentage of last_close
	Actual     *float64       `json:"actual,omitempty"`
}

// InputWindow names the days the forecast was made from: From..To inclusive,
// Days calendar days.
type InputWindow struct {
	From closecast.Date `json:"from"`
	To   closecast.Date `json:"to"`
	Days int            `json:"days"`
}

// NewPredictResponse describes a forecast as the API answers it.
func NewPredictResponse(p closecast.Prediction) PredictResponse {
	resp := PredictResponse{
		Prediction: p.Value,
		Symbol:     p.Symbol,
		Date:       p.Date,
		Model:      p.Model,
		Inputs:     InputWindow{From: p.InputFrom, To: p.InputTo, Days: int(p.InputTo-p.InputFrom) + 1},
		LastClose:  p.LastClose,
		Change:     p.Value - p.LastClose,
		Actual:     p.Actual,
	}
	if p.LastClose != 0 {
		resp.ChangePct = 100 * resp.Change / p.LastClose
	}
	return resp
}

// decodePredict parses a POST /predict body (at most maxBody bytes, already
// read). Exactly one JSON value is accepted; members other than "date",
// "symbol", "horizon", "interval", "samples" and "quantiles" are ignored,
// but "date" or "symbol" of
// the wrong type is a bad_json. The error, when not nil, is an *apiError
// ready to send.
func decodePredict(body []byte) (predictParams, *apiError) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return predictParams{}, badRequest(codeBadJSON, `the request body is empty; send a JSON object such as {"date": "2025-07-20"}`)
	}
	// Members are matched exactly, as query fields are: encoding/json would
	// take {"DATE": …} for "date". Other members are ignored; JSON null is
	// an object without members (missing_date).
	var req predictRequest
	if e := decodeMembers(body, &req); e != nil {
		return predictParams{}, e
	}
	var rawSym string
	if req.Symbol != nil {
		rawSym = *req.Symbol
	}
	var rawDate string
	if req.Date != nil {
		rawDate = *req.Date
	}
	// JSON null is as good as absent; a number arrives as its literal text,
	// which parseCount reads like a query parameter.
	present := func(m json.RawMessage) bool { return len(m) > 0 && string(m) != "null" }
	raw := rawParams{date: rawDate, symbol: rawSym,
		horizon: string(req.Horizon), hasHorizon: present(req.Horizon),
		samples: string(req.Samples), hasSamples: present(req.Samples),
		interval: string(req.Interval), hasInterval: present(req.Interval),
		quantilesJSON: req.Quantiles, hasQuantiles: present(req.Quantiles)}
	if raw.hasInterval {
		// The method must be a JSON string; its text is checked below.
		if err := json.Unmarshal(req.Interval, &raw.interval); err != nil {
			return predictParams{}, badRequest(codeInvalidInterval, "'interval' must be one of %s, got %s", intervalNames, quote(string(req.Interval)))
		}
	}
	return parseParams(raw)
}

// decodeMembers decodes a /predict body into req, matching member names
// exactly. encoding/json folds case (and 'ſ' to 's', 'K' to 'k'), so a body
// with an upper-case letter, an escape or a non-ASCII byte anywhere is
// decoded member by member; the usual all-lower-case body takes the
// struct decoder's cheaper path, where folding changes nothing.
func decodeMembers(body []byte, req *predictRequest) *apiError {
	folds := false
	for _, c := range body {
		if 'A' <= c && c <= 'Z' || c == '\\' || c >= 0x80 {
			folds = true
			break
		}
	}
	if !folds {
		if err := json.Unmarshal(body, req); err != nil {
			return jsonError(err)
		}
		return nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return jsonError(err)
	}
	for _, f := range [...]struct {
		name string
		dst  **string
	}{{"date", &req.Date}, {"symbol", &req.Symbol}} {
		if m, ok := members[f.name]; ok {
			if err := json.Unmarshal(m, f.dst); err != nil {
				return badRequest(codeBadJSON, "field %q must be a string, not %s", f.name, quote(string(m)))
			}
		}
	}
	req.Horizon, req.Samples, req.Interval, req.Quantiles = members["horizon"], members["samples"], members["interval"], members["quantiles"]
	return nil
}

// intervalNames lists the values of /predict's interval, for errors.
const intervalNames = `"auto", "conformal", "mc_dropout", "ensemble", "none"`

// parseParams validates a /predict request, from the JSON body or the query
// string alike: date, symbol, then horizon (default 1), interval and
// samples. The interval defaults to "auto" (conformal for a calibrated
// model, else Monte-Carlo dropout) when the horizon is over a day, and to
// none for one day; samples > 0 without an interval mean mc_dropout, and
// samples 0 without one mean none.
func parseParams(raw rawParams) (predictParams, *apiError) {
	rawDate, rawSym, rawHorizon, rawSamples := raw.date, raw.symbol, raw.horizon, raw.samples
	if rawDate == "" {
		// The reference API's exact words, kept for its clients.
		return predictParams{}, badRequest(codeMissingDate, "Missing 'date' field")
	}
	d, err := closecast.ParseDate(rawDate)
	if err != nil {
		return predictParams{}, badRequest(codeInvalidDate, "'date' must be a calendar day written YYYY-MM-DD, got %s", quote(rawDate))
	}
	sym, e := normalizeSymbol(rawSym)
	if e != nil {
		return predictParams{}, e
	}
	p := predictParams{symbol: sym, date: d, horizon: 1}
	if raw.hasHorizon {
		n, ok := parseCount(rawHorizon)
		if !ok || n < 1 || n > maxHorizon {
			return predictParams{}, badRequest(codeInvalidHorizon, "'horizon' must be a whole number of days from 1 to %d, got %s", maxHorizon, quote(rawHorizon))
		}
		p.horizon = n
	}
	if p.horizon > 1 {
		p.interval = closecast.IntervalAuto
	}
	if raw.hasSamples {
		n, ok := parseCount(rawSamples)
		if !ok || n < 0 || n == 1 || n > maxSamples {
			return predictParams{}, badRequest(codeInvalidSamples, "'samples' must be 0 (no interval) or a whole number from 2 to %d, got %s", maxSamples, quote(rawSamples))
		}
		if p.horizon*n > maxPathDays {
			return predictParams{}, badRequest(codeInvalidSamples, "'horizon' × 'samples' must be at most %d (e.g. %d days of %d paths), got %d × %d = %d", maxPathDays, maxHorizon, maxPathDays/maxHorizon, p.horizon, n, p.horizon*n)
		}
		p.samples = n
		if n == 0 {
			p.interval = ""
		} else {
			p.interval = closecast.IntervalMCDropout
		}
	}
	if raw.hasInterval {
		switch raw.interval {
		case closecast.IntervalAuto, closecast.IntervalConformal, closecast.IntervalMCDropout, closecast.IntervalEnsemble:
			p.interval = raw.interval
		case "none":
			p.interval = ""
		default:
			return predictParams{}, badRequest(codeInvalidInterval, "'interval' must be one of %s, got %s", intervalNames, quote(raw.interval))
		}
		if p.samples > 0 && p.interval != closecast.IntervalMCDropout && p.interval != closecast.IntervalAuto {
			return predictParams{}, badRequest(codeInvalidSamples, "'samples' applies to the mc_dropout interval only; drop it or send 'interval': \"mc_dropout\"")
		}
	}
	if raw.hasQuantiles {
		q, e := parseQuantiles(raw)
		if e != nil {
			return predictParams{}, e
		}
		if p.interval == "" {
			if raw.hasInterval || raw.hasSamples { // "none" or samples 0, said outright
				return predictParams{}, badRequest(codeInvalidQuantiles, "'quantiles' need an interval; drop 'interval': \"none\" or 'samples': 0")
			}
			p.interval = closecast.IntervalAuto
		}
		p.quantiles = q
	}
	return p, nil
}

// maxQuantiles is the most levels one /predict may ask for: the 21 a
// quantile head forecasts (2.5, 5, 10, …, 95, 97.5).
const maxQuantiles = 21

// parseQuantiles reads the quantile levels of a request, in percent: a
// JSON array of numbers or the query's comma-separated list, each strictly
// between 0 and 100, strictly ascending, at most maxQuantiles.
func parseQuantiles(raw rawParams) ([]float64, *apiError) {
	var q []float64
	if raw.quantilesJSON != nil {
		if err := json.Unmarshal(raw.quantilesJSON, &q); err != nil {
			return nil, badRequest(codeInvalidQuantiles, "'quantiles' must be an array of levels in percent such as [5, 50, 95], got %s", quote(string(raw.quantilesJSON)))
		}
	} else {
		for part := range strings.SplitSeq(raw.quantiles, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
			if err != nil {
				return nil, badRequest(codeInvalidQuantiles, "'quantiles' must be levels in percent separated by commas such as 5,50,95; %s is not a number", quote(part))
			}
			q = append(q, v)
		}
	}
	switch {
	case len(q) == 0:
		return nil, badRequest(codeInvalidQuantiles, "'quantiles' must list at least one level in percent, such as [5, 50, 95]")
	case len(q) > maxQuantiles:
		return nil, badRequest(codeInvalidQuantiles, "'quantiles' may list at most %d levels, got %d", maxQuantiles, len(q))
	}
	for k, v := range q {
		if !(v > 0 && v < 100) {
			return nil, badRequest(codeInvalidQuantiles, "quantile level %s is not strictly between 0 and 100 (levels are in percent: 5 for the 5 %% quantile)", quote(strconv.FormatFloat(v, 'g', -1, 64)))
		}
		if k > 0 && v <= q[k-1] {
			return nil, badRequest(codeInvalidQuantiles, "'quantiles' must be strictly ascending without repeats; %s follows %s",
				quote(strconv.FormatFloat(v, 'g', -1, 64)), quote(strconv.FormatFloat(q[k-1], 'g', -1, 64)))
		}
	}
	return q, nil
}

// parseCount reads a small whole number written in decimal digits: "7", not
// "7.0", "1e1", "+7" or the JSON string "\"7\"".
func parseCount(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-' && len(s) > 1) {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// normalizeSymbol upper-cases a ticker ("" stays "", meaning the default).
// Tickers are short and made of letters, digits and . - ^ = _ ; anything
// else cannot be a symbol any source knows, so it is answered as unknown
// without asking the predictor (which might otherwise ask a provider).
func normalizeSymbol(s string) (string, *apiError) {
	if s == "" {
		return "", nil
	}
	if len(s) > 32 {
		return "", &apiError{Status: http.StatusNotFound, Code: codeUnknownSymbol, Message: fmt.Sprintf("unknown symbol %s: a ticker has at most 32 characters", quote(s))}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte(".-^=_", c) >= 0) {
			return "", &apiError{Status: http.StatusNotFound, Code: codeUnknownSymbol, Message: fmt.Sprintf("unknown symbol %s: a ticker has only letters, digits and . - ^ = _", quote(s))}
		}
	}
	return strings.ToUpper(s), nil
}

// ValidSymbol reports whether s can be a ticker: 1 to 32 letters, digits
// and . - ^ = _ (what /predict and /api/history accept).
func ValidSymbol(s string) bool {
	n, e := normalizeSymbol(s)
	return e == nil && n != ""
}

// symbolParam normalises a symbol query parameter; empty means the
// server's default symbol. A symbol the server does not serve is a 404
// unknown_symbol listing the served ones, before anything could fetch it.
func (s *Server) symbolParam(raw string) (string, *apiError) {
	sym, _, e := s.market(raw)
	return sym, e
}

// market resolves a request's symbol (raw, "" for the default) against the
// served set: the normalised symbol and the market that forecasts it.
func (s *Server) market(raw string) (string, *market, *apiError) {
	sym, e := normalizeSymbol(raw)
	if e != nil {
		return "", nil, e
	}
	c := s.markets.Load()
	if sym == "" {
		sym = c.def
	}
	if !c.allow[sym] {
		return "", nil, c.unknown(sym)
	}
	return sym, c.lookup(sym), nil
}

// predictQueryCodes are /predict's query fields and the code of each one's
// errors.
var predictQueryCodes = map[string]string{"date": codeInvalidDate, "symbol": codeUnknownSymbol,
	"horizon": codeInvalidHorizon, "samples": codeInvalidSamples, "interval": codeInvalidInterval,
	"quantiles": codeInvalidQuantiles}

// parseQuery parses a query string as url.ParseQuery does, but a pair of a
// known field (a key of codes) that cannot be decoded (a bad percent-escape,
// a ';') is a 400 with that field's code instead of silently missing: a
// client sending ?date=%zz learns its encoding is wrong, not that it sent
// no date. Undecodable pairs of other keys are ignored, as unknown fields are.
func parseQuery(raw string, codes map[string]string) (url.Values, *apiError) {
	v, err := url.ParseQuery(raw)
	if err == nil {
		return v, nil
	}
	for pair := range strings.SplitSeq(raw, "&") {
		k, val, _ := strings.Cut(pair, "=")
		if before, _, ok := strings.Cut(k, ";"); ok {
			k = before
		}
		key, kerr := url.QueryUnescape(k)
		code, known := codes[key]
		if kerr != nil || !known {
			continue
		}
		var e *apiError
		if strings.Contains(pair, ";") {
			e = badRequest(code, "the query's %s has a ';'; separate fields with '&' and escape ';' as %%3B", quote(key))
		} else if _, verr := url.QueryUnescape(val); verr != nil {
			e = badRequest(code, "the query's %s is not valid percent-encoding (%v); escape '%%' as %%25", quote(key), verr)
		}
		if e != nil {
			if code == codeUnknownSymbol {
				e.Status = http.StatusNotFound // the code's one status
			}
			return nil, e
		}
	}
	return v, nil
}

// quote quotes s for an error message, cut to 40 characters so that a client
// cannot make the server echo (and log) a large payload.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// jsonError turns an encoding/json error into a bad_json answer that says
// where and what.
func jsonError(err error) *apiError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badRequest(codeBadJSON, "the request body is not valid JSON (at byte %d: %v); send one object such as {\"date\": \"2025-07-20\"}", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest(codeBadJSON, "the request body must be a JSON object such as {\"date\": \"2025-07-20\"}, not a JSON %s", typ.Value)
		}
		return badRequest(codeBadJSON, "field %q must be a string, not a JSON %s", typ.Field, typ.Value)
	}
	// io.ErrUnexpectedEOF and the like: truncated input.
	return badRequest(codeBadJSON, "the request body is not valid JSON (%v)", err)
}

// readBody reads at most maxBody bytes of r's body. A longer body is a 413.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > maxBody {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, badRequest(codeBadJSON, "the request body could not be read: %v", err)
	}
	return body, nil
}

func tooLarge() *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeTooLarge,
		Message: fmt.Sprintf("the request body is larger than %d KiB", maxBody>>10)}
}

// predictTimeout bounds one forecast, including a provider fetch it may wait
// for; past it the answer is a 503 rather than a hung client.
const predictTimeout = 20 * time.Second

// serveCached writes the cached answer to key made by m, counting the hit, and
// reports whether there was one.
func (s *Server) serveCached(w http.ResponseWriter, key cacheKey, m *market) bool {
	body := s.cache.get(key, s.now(), m)
	if body == nil {
		return false
	}
	s.prom.cacheHit(key.symbol)
	writeRawJSON(w, http.StatusOK, body)
	return true
}

// handlePredict serves GET /predict?date=&symbol=&horizon=&interval=&samples=&quantiles=
// and POST /predict. A plain request (no horizon beyond 1 day, no interval) is
// the hot path: cached, recorded in the ledger, its body unchanged since
// before horizons; others go to predictHorizon.
func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	var (
		p predictParams
		e *apiError
	)
	// The router sends only the route's methods: POST, else GET or HEAD.
	switch r.Method {
	case http.MethodPost:
		body, be := readBody(w, r)
		if be != nil {
			writeError(w, be)
			return
		}
		p, e = decodePredict(body)
	default:
		q, qe := parseQuery(r.URL.RawQuery, predictQueryCodes)
		if qe != nil {
			writeError(w, qe)
			return
		}
		p, e = parseParams(rawParams{date: q.Get("date"), symbol: q.Get("symbol"),
			horizon: q.Get("horizon"), hasHorizon: q.Has("horizon"),
			samples: q.Get("samples"), hasSamples: q.Has("samples"),
			interval: q.Get("interval"), hasInterval: q.Has("interval"),
			quantiles: q.Get("quantiles"), hasQuantiles: q.Has("quantiles")})
	}
	if e != nil {
		writeError(w, e)
		return
	}
	sym, m, e := s.market(p.symbol)
	if e != nil {
		writeError(w, e)
		return
	}
	p.symbol = sym
	if m == nil || m.Predictor == nil {
		writeError(w, unavailable("the model is not loaded yet; try again later", defaultRetryAfter, nil))
		return
	}
	if !p.plain() {
		s.predictHorizon(w, r, p, m)
		return
	}
	key := cacheKey{symbol: p.symbol, date: p.date}
	if s.serveCached(w, key, m) {
		return
	}
	ctx, cancel := contextWithTimeout(r, predictTimeout)
	defer cancel()
	release, e := s.budget.acquire(ctx)
	if e != nil {
		s.prom.busy.Inc()
		writeError(w, e)
		return
	}
	defer release()
	start := time.Now()
	pred, err := m.Predictor.Predict(ctx, p.symbol, p.date)
	release()
	s.prom.observePrediction(p.symbol, time.Since(start), err == nil)
	if err != nil {
		writeError(w, fromDomain(err))
		return
	}
	body, err := json.Marshal(NewPredictResponse(pred))
	if err != nil { // a NaN or infinite forecast: the model is broken, not the request
		writeError(w, internal(fmt.Errorf("encoding the forecast %+v: %w", pred, err)))
		return
	}
	body = append(body, '\n')
	s.cache.put(key, body, s.now(), m)
	// A live forecast (its day's close not known yet) goes to the ledger, to
	// be scored when the close arrives; a day already closed is a backtest.
	if s.ledger != nil && pred.Actual == nil {
		s.ledger.enqueue(pred, s.now())
	}
	writeRawJSON(w, http.StatusOK, body)
}

func methodNotAllowed(allow string) *apiError {
	return &apiError{Status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed,
		Message: "this path accepts only " + allow, Allow: allow}
}
