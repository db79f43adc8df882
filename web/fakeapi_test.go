package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/closecast/closecast"
)

// fakeAPI implements the closecast HTTP API contract (GET /api/models,
// GET /api/model, GET /api/history, POST /predict, GET /api/accuracy) over
// the real daily history shipped in marketdata/data, with a stand-in "model"
// whose numbers are computed here. The dashboard test runs against it
// because package server is written in parallel; the lead's end-to-end test
// covers the real server.
//
// A fakeAPI is one market (BTC-USD from newFakeAPI); withMarket adds
// others, each a fakeAPI of its own that logs its own requests, and the
// first one routes every request by its symbol as the multi-market
// server does.
type fakeAPI struct {
	symbol string
	bars   []closecast.Bar
	window int
	model  map[string]any // what GET /api/model answers

	others   []*fakeAPI // the other markets served beside this one
	noModels bool       // when set, GET /api/models answers 404, as a server older than it

	mu            sync.Mutex
	predictStatus int             // when set, POST /predict answers this status (503 or 500) for this market
	unavailable   bool            // when set, POST /predict answers 503
	fan           bool            // when set, each day of a horizon also carries a "quantiles" map (2.5…97.5)
	ensemble      bool            // when set, a horizon's interval is the ensemble, adapted by FACI (serve --interval ensemble --adaptive faci)
	modelDown     bool            // when set, GET /api/model answers 503
	historyDown   bool            // when set, GET /api/history answers 503
	ledger        string          // GET /api/accuracy: "" scored rows, "empty" none yet, "none" 404 no_ledger, "gateway" API Gateway's bare 404
	accuracyReq   []string        // raw query strings of GET /api/accuracy
	historyReqs   []string        // raw query strings of GET /api/history
	predictReqs   []string        // raw bodies of POST /predict
	lastPredict   map[string]any  // last 200 body of POST /predict
	answers       map[string]bool // "METHOD path" of every request seen
}

// loadBars reads the committed CSV (Date,Open,High,Low,Close,Volume).
func loadBars(t testing.TB, path string) []closecast.Bar {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open price history: %v", err)
	}
	defer f.Close()
	var bars []closecast.Bar
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			continue // header
		}
		fs := strings.Split(sc.Text(), ",")
		if len(fs) != 6 {
			t.Fatalf("%s:%d: want 6 fields, got %d", path, line, len(fs))
		}
		d, err := closecast.ParseDate(fs[0])
		if err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		var v [5]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(fs[i+1], 64); err != nil {
				t.Fatalf("%s:%d: field %d: %v", path, line, i+2, err)
			}
		}
		if n := len(bars); n > 0 && d != bars[n-1].Date+1 {
			t.Fatalf("%s:%d: %s does not follow %s: the fake API needs consecutive days", path, line, d, bars[n-1].Date)
		}
		bars = append(bars, closecast.Bar{Date: d, Open: v[0], High: v[1], Low: v[2], Close: v[3], Volume: v[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(bars) < 400 {
		t.Fatalf("%s: only %d bars", path, len(bars))
	}
	return bars
}

// fakePredict is the stand-in model: the mean of the last 3 closes, nudged by
// the weekday so that it is visibly not plain persistence.
func fakePredict(closes []float64, d closecast.Date) float64 {
	n := len(closes)
	m := (closes[n-1] + closes[n-2] + closes[n-3]) / 3
	return m * (1 + 0.002*float64(int(d)%7-3))
}

type errs struct{ mae, rmse, mape, smape, mase, direction float64 }

func (e errs) json() map[string]any {
	m := map[string]any{"mae": e.mae, "rmse": e.rmse, "mape": e.mape, "smape": e.smape, "mase": e.mase, "direction": e.direction}
	if math.IsNaN(e.direction) {
		m["direction"] = nil // undefined, as package metrics writes it
	}
	return m
}

// score computes the contract's metrics of predictions pred for bars[i0:i1]
// (each predicted from the closes before it): MAPE and sMAPE in percent,
// direction in percent (as package metrics does, undefined for a forecast
// that never moves), MASE against persistence on the same days.
func score(bars []closecast.Bar, i0, i1 int, pred func(i int) float64) errs {
	var e errs
	var pers, hits, moves float64
	n := float64(i1 - i0)
	for i := i0; i < i1; i++ {
		a, p, prev := bars[i].Close, pred(i), bars[i-1].Close
		d := p - a
		e.mae += math.Abs(d)
		e.rmse += d * d
		e.mape += math.Abs(d) / a
		e.smape += 2 * math.Abs(d) / (math.Abs(a) + math.Abs(p))
		pers += math.Abs(a - prev)
		if (p-prev > 0) == (a-prev > 0) {
			hits++
		}
		if p != prev {
			moves++
		}
	}
	e.mase = e.mae / pers
	e.mae /= n
	e.rmse = math.Sqrt(e.rmse / n)
	e.mape = 100 * e.mape / n
	e.smape = 100 * e.smape / n
	e.direction = 100 * hits / n
	if moves == 0 {
		e.direction = math.NaN()
	}
	return e
}

// newFakeAPI is the fake serving BTC-USD alone.
func newFakeAPI(t testing.TB) *fakeAPI {
	return newFakeMarket(t, closecast.DefaultSymbol, "../marketdata/data/btc-usd-daily.csv", "test-fake-1")
}

// withMarket adds the market of symbol, its history read from csv and its
// model named version, and returns it.
func (f *fakeAPI) withMarket(t testing.TB, symbol, csv, version string) *fakeAPI {
	m := newFakeMarket(t, symbol, csv, version)
	f.others = append(f.others, m)
	return m
}

// market is the fake serving symbol ("" is this one, the default), or nil.
func (f *fakeAPI) market(symbol string) *fakeAPI {
	if symbol == "" || symbol == f.symbol {
		return f
	}
	for _, m := range f.others {
		if m.symbol == symbol {
			return m
		}
	}
	return nil
}

// symbols lists the served symbols, sorted, as the contract's /api/models does.
func (f *fakeAPI) symbols() []string {
	out := []string{f.symbol}
	for _, m := range f.others {
		out = append(out, m.symbol)
	}
	slices.Sort(out)
	return out
}

func newFakeMarket(t testing.TB, symbol, csv, version string) *fakeAPI {
	bars := loadBars(t, csv)
	f := &fakeAPI{symbol: symbol, bars: bars, window: 60, answers: map[string]bool{}}
	closes := make([]float64, len(bars))
	for i, b := range bars {
		closes[i] = b.Close
	}
	model := func(i int) float64 { return fakePredict(closes[:i], bars[i].Date) }
	persistence := func(i int) float64 { return closes[i-1] }
	ma7 := func(i int) float64 {
		s := 0.0
		for _, c := range closes[i-7 : i] {
			s += c
		}
		return s / 7
	}
	n := len(bars)
	// Hold-out: 300 days ending 120 days before the last bar; validation: the
	// 46 days ending 30 days before it (the reference's validation length).
	ranges := map[string][2]int{"holdout": {n - 420, n - 120}, "validation": {n - 76, n - 30}}
	metrics := map[string]any{}
	preds := map[string]any{}
	for name, r := range ranges {
		metrics[name] = map[string]any{
			"n": r[1] - r[0], "from": bars[r[0]].Date, "to": bars[r[1]-1].Date,
			"model":       score(bars, r[0], r[1], model).json(),
			"persistence": score(bars, r[0], r[1], persistence).json(),
			"ma7":         score(bars, r[0], r[1], ma7).json(),
		}
		var ps []map[string]any
		for i := r[0]; i < r[1]; i++ {
			ps = append(ps, map[string]any{"date": bars[i].Date, "actual": closes[i], "predicted": model(i)})
		}
		preds[name] = ps
	}
	// The markets' loss curves differ in length, so that a test can tell
	// whose curve the page draws.
	epochs := 40
	if symbol != closecast.DefaultSymbol {
		epochs = 30
	}
	var train, val []float64
	for e := range epochs {
		train = append(train, 0.02+0.08*math.Exp(-float64(e)/6))
		val = append(val, 0.025+0.07*math.Exp(-float64(e)/8)+0.002*math.Sin(float64(e)))
	}
	f.model = map[string]any{
		"version": version, "symbol": f.symbol, "created": "2026-04-01T12:00:00Z",
		"window": f.window, "features": []string{"close"}, "target": "close",
		"train_range": map[string]any{"from": bars[0].Date, "to": bars[n-421].Date},
		"training":    map[string]any{"epochs_trained": len(train)},
		"metrics":     metrics,
		"loss_curve":  map[string]any{"train": train, "val": val},
		"predictions": preds,
	}
	return f
}

func (f *fakeAPI) lastDate() closecast.Date { return f.bars[len(f.bars)-1].Date }

// validRange is what the fake can forecast: from the first day with a full
// window before it to the day after the last known close.
func (f *fakeAPI) validRange() (closecast.Date, closecast.Date) {
	return f.bars[0].Date.AddDays(f.window), f.lastDate().AddDays(1)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": msg, "code": code})
}

// models is the fake's GET /api/models answer.
func (f *fakeAPI) models() map[string]any {
	var list []map[string]any
	for _, s := range f.symbols() {
		m := f.market(s)
		h := m.model["metrics"].(map[string]any)["holdout"].(map[string]any)
		list = append(list, map[string]any{
			"symbol": s, "version": m.model["version"], "window": m.window,
			"last_known": m.lastDate(), "last_close": m.bars[len(m.bars)-1].Close,
			"holdout": map[string]any{"from": h["from"], "to": h["to"], "model": h["model"], "persistence": h["persistence"]},
		})
	}
	return map[string]any{"default": f.symbol, "models": list}
}

// requestSymbol is the market a request asks for: ?symbol= or, on POST
// /predict, the body's "symbol" (the body is put back for the handler).
func requestSymbol(r *http.Request) string {
	if r.Method != http.MethodPost {
		return r.URL.Query().Get("symbol")
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req struct {
		Symbol string `json:"symbol"`
	}
	json.Unmarshal(body, &req) // a bad body is the handler's to refuse
	return req.Symbol
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.answers[r.Method+" "+r.URL.Path] = true
	f.mu.Unlock()
	switch r.URL.Path {
	case "/api/models":
		if f.noModels {
			apiError(w, http.StatusNotFound, "not_found", "no such route")
			return
		}
		writeJSON(w, http.StatusOK, f.models())
	case "/api/model", "/api/history", "/predict", "/api/accuracy":
		s := requestSymbol(r)
		m := f.market(s)
		if m == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{
				"error": fmt.Sprintf("unknown symbol: %s (served: %s)", s, strings.Join(f.symbols(), ", ")),
				"code":  "unknown_symbol", "symbols": f.symbols(),
			})
			return
		}
		m.serveMarket(w, r)
	case "/openapi.json":
		writeJSON(w, http.StatusOK, map[string]any{"openapi": "3.1.0"})
	default:
		http.FileServerFS(FS).ServeHTTP(w, r)
	}
}

// serveMarket answers this market's routes.
func (f *fakeAPI) serveMarket(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	modelDown, historyDown := f.modelDown, f.historyDown
	f.mu.Unlock()
	switch r.URL.Path {
	case "/api/model":
		if modelDown {
			apiError(w, http.StatusServiceUnavailable, "unavailable", "no model is loaded")
			return
		}
		writeJSON(w, http.StatusOK, f.model)
	case "/api/history":
		if historyDown {
			w.Header().Set("Retry-After", "5")
			apiError(w, http.StatusServiceUnavailable, "unavailable", "market data provider unavailable")
			return
		}
		f.history(w, r)
	case "/predict":
		f.predict(w, r)
	case "/api/accuracy":
		f.accuracy(w, r)
	}
}

func (f *fakeAPI) history(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.historyReqs = append(f.historyReqs, r.URL.RawQuery)
	f.mu.Unlock()
	q := r.URL.Query()
	to := f.lastDate()
	from := to.AddDays(-364)
	for _, p := range []struct {
		name string
		d    *closecast.Date
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(p.name); s != "" {
			d, err := closecast.ParseDate(s)
			if err != nil {
				apiError(w, http.StatusBadRequest, "invalid_date", p.name+": "+err.Error())
				return
			}
			*p.d = d
		}
	}
	bars := []closecast.Bar{}
	for _, b := range f.bars {
		if b.Date >= from && b.Date <= to {
			bars = append(bars, b)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"symbol": f.symbol, "bars": bars})
}

// liveDays is how many live forecasts the fake's ledger has scored: the
// last liveDays days of the history, each forecast by the stand-in model
// from the closes before it.
const liveDays = 12

// accuracyBody is the fake's GET /api/accuracy answer in the server's
// shape: rows newest first, MAE in dollars, MAPE in percent, persistence's
// error |actual − last_close| on the same days.
func (f *fakeAPI) accuracyBody(empty bool) map[string]any {
	rows := []map[string]any{}
	var mae, mape, pmae, pmape float64
	n := len(f.bars)
	if !empty {
		closes := make([]float64, n)
		for i, b := range f.bars {
			closes[i] = b.Close
		}
		for i := n - 1; i >= n-liveDays; i-- {
			p, a, last := fakePredict(closes[:i], f.bars[i].Date), closes[i], closes[i-1]
			rows = append(rows, map[string]any{"date": f.bars[i].Date, "predicted": p, "actual": a, "last_close": last,
				"error": p - a, "persistence_error": math.Abs(a - last), "model": f.model["version"]})
			mae += math.Abs(p - a)
			mape += math.Abs(p-a) / a
			pmae += math.Abs(a - last)
			pmape += math.Abs(a-last) / a
		}
	}
	// The forecasts of the day after the last bar and of the one after it
	// wait for their close; a ledger that has scored nothing yet holds one.
	pending := 2
	if empty {
		pending = 1
	}
	body := map[string]any{"symbol": f.symbol, "days": 30, "n": len(rows), "model": nil, "persistence": nil, "rows": rows, "pending": pending, "distribution": nil}
	if k := float64(len(rows)); k > 0 {
		body["model"] = map[string]any{"mae": mae / k, "mape": 100 * mape / k}
		body["persistence"] = map[string]any{"mae": pmae / k, "mape": 100 * pmape / k}
		// The fake's distributions: 80 % intervals of ±w of the last
		// close around each forecast (the model, ACI) or the last close
		// (the baselines), scored as the server scores them.
		score := func(method string, w float64, around string) map[string]any {
			var in, pin, wink float64
			for _, r := range rows {
				c, a, last := r[around].(float64), r["actual"].(float64), r["last_close"].(float64)
				lo, hi := c-w*last, c+w*last
				if lo <= a && a <= hi {
					in++
				}
				pin += (math.Max(0.1*(a-lo), -0.9*(a-lo)) + math.Max(0.9*(a-hi), -0.1*(a-hi))) / 2 * 100 / last
				wink += (hi - lo + 10*math.Max(lo-a, 0) + 10*math.Max(a-hi, 0)) * 100 / last
			}
			return map[string]any{"method": method, "coverage80": 100 * in / k, "pinball_pct": pin / k, "winkler80_pct": wink / k}
		}
		base := []map[string]any{score("persistence_gauss30", 0.03, "last_close"), score("garch11_t", 0.025, "last_close"), score("empirical250", 0.04, "last_close")}
		best := base[0]
		for _, b := range base {
			if b["pinball_pct"].(float64) < best["pinball_pct"].(float64) {
				best = b
			}
		}
		adapted := "model+aci"
		f.mu.Lock()
		if f.ensemble {
			adapted = "model+faci"
		}
		f.mu.Unlock()
		body["distribution"] = map[string]any{"n": len(rows), "from": rows[len(rows)-1]["date"], "to": rows[0]["date"], "skipped": 0,
			"model": score("model", 0.02, "predicted"), "adaptive": score(adapted, 0.022, "predicted"), "baselines": base, "best_baseline": best}
	}
	return body
}

func (f *fakeAPI) accuracy(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.accuracyReq = append(f.accuracyReq, r.URL.RawQuery)
	ledger := f.ledger
	f.mu.Unlock()
	switch ledger {
	case "none":
		apiError(w, http.StatusNotFound, "no_ledger", "this server keeps no ledger of live forecasts")
		return
	case "gateway": // an API Gateway route table without /api/accuracy
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		return
	}
	writeJSON(w, http.StatusOK, f.accuracyBody(ledger == "empty"))
}

func (f *fakeAPI) predict(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		apiError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	f.mu.Lock()
	f.predictReqs = append(f.predictReqs, string(body))
	unavailable, fan, ensemble := f.unavailable, f.fan, f.ensemble
	f.mu.Unlock()
	var req struct {
		Date    *string `json:"date"`
		Symbol  string  `json:"symbol"`
		Horizon *int    `json:"horizon"`
		Samples *int    `json:"samples"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_json", "request body is not valid JSON: "+err.Error())
		return
	}
	if req.Date == nil || *req.Date == "" {
		apiError(w, http.StatusBadRequest, "missing_date", "Missing 'date' field")
		return
	}
	d, err := closecast.ParseDate(*req.Date)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_date", err.Error())
		return
	}
	horizon, samples := 1, 0
	if req.Horizon != nil {
		horizon = *req.Horizon
		if horizon > 1 {
			samples = 100
		}
	}
	if req.Samples != nil {
		samples = *req.Samples
	}
	if horizon < 1 || horizon > 30 {
		apiError(w, http.StatusBadRequest, "invalid_horizon", fmt.Sprintf("'horizon' must be a whole number of days from 1 to 30, got %d", horizon))
		return
	}
	f.mu.Lock()
	status := f.predictStatus
	f.mu.Unlock()
	switch status {
	case 0:
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "30")
		apiError(w, status, "unavailable", "the "+f.symbol+" model is not loaded: try again later")
		return
	default:
		apiError(w, status, "internal", "internal error forecasting "+f.symbol)
		return
	}
	if unavailable {
		w.Header().Set("Retry-After", "30")
		apiError(w, http.StatusServiceUnavailable, "unavailable", closecast.ErrUnavailable.Error()+": try again later")
		return
	}
	lo, hi := f.validRange()
	if d < lo || d > hi {
		re := &closecast.RangeError{Symbol: f.symbol, Date: d, Earliest: lo, Latest: hi}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error": re.Error(), "code": "out_of_range", "valid": map[string]any{"from": lo, "to": hi},
		})
		return
	}
	// Bars are consecutive days, so the index of day d is its offset.
	i := int(d - f.bars[0].Date)
	closes := make([]float64, i)
	for k := range closes {
		closes[k] = f.bars[k].Close
	}
	p := fakePredict(closes, d)
	last := closes[i-1]
	resp := map[string]any{
		"prediction": p, "symbol": f.symbol, "date": d, "model": f.model["version"],
		"inputs":     map[string]any{"from": d.AddDays(-f.window), "to": d.AddDays(-1), "days": f.window},
		"last_close": last, "change": p - last, "change_pct": (p - last) / last * 100,
	}
	if i < len(f.bars) {
		resp["actual"] = f.bars[i].Close
	}
	if horizon > 1 || samples > 0 {
		days := fakeHorizon(f.bars, i, d, horizon, samples, p, fan)
		if i >= len(f.bars) {
			// A live forecast: its first day adapted from the ledger's
			// liveDays scored forecasts, three of which missed, as closecast
			// serve answers (ACI, γ = 0.005).
			days[0]["adaptive"] = map[string]any{"method": "aci", "alpha": 0.2 + 0.005*(0.2*(liveDays-3)-0.8*3), "factor": 1.14, "n": liveDays}
			if ensemble {
				days[0]["adaptive"] = map[string]any{"method": "faci", "alpha": 0.1875, "factor": 1.08, "n": liveDays}
			}
		}
		resp["forecasts"] = days
		resp["steps"] = "recursive"
		if samples > 0 {
			resp["interval"] = map[string]any{"method": "mc_dropout", "samples": samples, "seed": 7, "quantiles": []float64{10, 50, 90}}
		}
		if ensemble {
			resp["interval"] = map[string]any{"method": "ensemble", "quantiles": []float64{10, 50, 90}}
		}
	}
	f.mu.Lock()
	f.lastPredict = resp
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// fakeHorizon is the stand-in model's horizon of days from d (bars[i] is
// d's bar when known): day 1 is first, each later day drifts by 0.3 % a
// day, the band widens as the square root of the days ahead (1.5 % on day
// 1), and days the history has carry their actual close. The numbers are
// irregular enough (cents everywhere) that the page must show the API's.
// With fan, each day also has a "quantiles" map, percent level → value,
// for the 50, 80 and 95 % central bands, asymmetric like p10/p90.
func fakeHorizon(bars []closecast.Bar, i int, d closecast.Date, horizon, samples int, first float64, fan bool) []map[string]any {
	out := make([]map[string]any, horizon)
	v := first
	for k := range horizon {
		f := map[string]any{"date": d.AddDays(k), "prediction": v}
		if samples > 0 {
			w := 0.015 * math.Sqrt(float64(k+1))
			f["p10"], f["p50"], f["p90"] = v*(1-w), v*(1+w/7), v*(1+w*1.1)
			if fan {
				f["quantiles"] = map[string]float64{
					"2.5": v * (1 - 1.9*w), "10": f["p10"].(float64), "25": v * (1 - 0.52*w),
					"50": f["p50"].(float64), "75": v * (1 + 0.61*w), "90": f["p90"].(float64), "97.5": v * (1 + 2.05*w),
				}
			}
		}
		if i+k < len(bars) {
			f["actual"] = bars[i+k].Close
		}
		out[k] = f
		v *= 1.003
	}
	return out
}
