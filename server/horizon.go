package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/closecast/closecast"
)

// Limits of a /predict horizon request. They are tighter than the pipeline's
// (366 days, 10000 samples) because a Monte-Carlo dropout request costs
// about (1 + samples) × horizon network passes on a shared server: 30 days
// of 500 paths is the most one client may ask. 30 days is also how far a
// recursive model's conformal intervals are calibrated.
//
// maxPathDays caps a request's cost, horizon × samples: the network passes
// (and memory, a path's bars) grow with both, so one request may have many
// days or many paths but not both. 3000 is the default 100 paths over the
// longest horizon, about 0.1-0.3 s of one core; 500 paths go to 6 days.
const (
	maxHorizon  = closecast.CalibrationHorizon
	maxSamples  = 500
	maxPathDays = 3000
)

// intervalLevels are the quantile levels of every interval the API serves,
// the "p10", "p50" and "p90" of a forecast. Fixed (not
// closecast.DefaultLevels) so that the keys of the contract cannot drift with it.
var intervalLevels = []float64{0.1, 0.5, 0.9}

// HorizonResponse is the 200 body of /predict with a horizon or an
// interval: the plain body's fields for the first day, then every day and
// how its quantiles were made.
type HorizonResponse struct {
	PredictResponse
	// Forecasts holds the horizon's days in date order, consecutive from
	// date on; the first repeats the fields above.
	Forecasts []HorizonForecast `json:"forecasts"`
	// Steps says how days after the first were forecast: "recursive" (each
	// forecast fed back as the next day's close) or "direct" (all days
	// from one pass of a multi-output head).
	Steps string `json:"steps"`
	// Interval says how the quantiles were made; absent without quantiles.
	Interval *Interval `json:"interval,omitempty"`
}

// HorizonForecast is one day of a horizon: {"date", "prediction", "p10",
// "p50", "p90", "actual"}. Prediction is the deterministic forecast (dropout
// off); p10/p50/p90 are the day's interval quantiles, absent without an
// interval; actual is the close when it is already known.
type HorizonForecast struct {
	Date       closecast.Date `json:"date"`
	Prediction float64        `json:"prediction"`
	P10        *float64       `json:"p10,omitempty"`
	P50        *float64       `json:"p50,omitempty"`
	P90        *float64       `json:"p90,omitempty"`
	// Quantiles holds the levels a request asked for ("quantiles": [5,
	// 50, 95]), keyed by the level in percent as sent ("5", "2.5"); absent
	// when none were asked.
	Quantiles map[string]float64 `json:"quantiles,omitempty"`
	Actual    *float64           `json:"actual,omitempty"`
	// Adaptive says how the day's quantiles were adapted online from the
	// ledger's scored forecasts (`closecast serve --adaptive aci` or `faci`); absent
	// when they are the interval method's own.
	Adaptive *closecast.Adaptive `json:"adaptive,omitempty"`
}

// Interval says how the quantiles were made, as `closecast predict --json`
// does: the method ("conformal", "mc_dropout" or "quantile_head") and the
// levels in percent ([10, 50, 90]); for mc_dropout the sample paths and
// the dropout seed, for conformal the calibration behind it.
type Interval struct {
	Method      string       `json:"method"`
	Samples     int          `json:"samples,omitempty"`
	Seed        *uint64      `json:"seed,omitempty"`
	Calibration *Calibration `json:"calibration,omitempty"`
	Quantiles   []float64    `json:"quantiles"`
}

// Calibration names the days a conformal interval was calibrated on (the
// training tail: days the model was not fitted on) and how many forecasts
// of day 1 it scored.
type Calibration struct {
	From closecast.Date `json:"from"`
	To   closecast.Date `json:"to"`
	Days int            `json:"days"`
}

// NewInterval describes h's interval, or returns nil when h has none.
// levels are the quantile levels in percent.
func NewInterval(h closecast.Horizon, levels []float64) *Interval {
	iv := &Interval{Method: h.Interval, Quantiles: levels}
	switch h.Interval {
	case closecast.IntervalMCDropout:
		seed := h.Seed
		iv.Samples, iv.Seed = h.Samples, &seed
	case closecast.IntervalConformal:
		if c := h.Calibration; c != nil {
			iv.Calibration = &Calibration{From: c.From, To: c.To, Days: len(c.Scores[0])}
		}
	case closecast.IntervalQuantileHead, closecast.IntervalEnsemble: // nothing more to describe
	default:
		return nil
	}
	return iv
}

// NewHorizonResponse describes a horizon as the API answers it. h's levels
// must be intervalLevels when it has an interval.
func NewHorizonResponse(h closecast.Horizon) HorizonResponse {
	return newHorizonResponse(h, levelSet{levels: h.Levels})
}

// levelSet is the quantile levels one /predict asks of the forecaster:
// intervalLevels (p10, p50, p90) and the request's own, merged.
type levelSet struct {
	levels []float64 // fractions in (0, 1), ascending: HorizonOptions.Levels
	asked  []float64 // the request's "quantiles", in percent as sent
	at     []int     // index in levels of each asked level
}

// newLevelSet merges intervalLevels with the asked levels (percent). head
// is the only levels the interval forecasts (a quantile head's, or the
// ensemble's closecast.DistributionLevels; nil for any level), named by
// what in errors: an asked level must be one of them (within 1e-9 %), and
// is then asked exactly as head has it; the answer names head's levels
// otherwise.
func newLevelSet(asked, head []float64, what string) (levelSet, *apiError) {
	ls := levelSet{levels: slices.Clone(intervalLevels), asked: asked, at: make([]int, len(asked))}
	frac := make([]float64, len(asked))
	for k, pct := range asked {
		frac[k] = pct / 100
		if head == nil {
			continue
		}
		j := slices.IndexFunc(head, func(l float64) bool { return math.Abs(l*100-pct) < 1e-9 })
		if j < 0 {
			have := make([]string, len(head))
			for i, l := range head {
				have[i] = strconv.FormatFloat(pctOf(l), 'f', -1, 64)
			}
			return levelSet{}, badRequest(codeInvalidQuantiles, "%s forecasts the levels %s (percent) only; %s is not one of them",
				what, strings.Join(have, ", "), strconv.FormatFloat(pct, 'f', -1, 64))
		}
		frac[k] = head[j]
	}
	ls.levels = append(ls.levels, frac...)
	slices.Sort(ls.levels)
	ls.levels = slices.Compact(ls.levels)
	for k, f := range frac {
		ls.at[k] = slices.Index(ls.levels, f)
	}
	return ls, nil
}

// pctOf writes a level as a percent rounded to 0.1: 0.1 → 10, not
// 10.000000000000002.
func pctOf(l float64) float64 { return float64(int(l*1000+0.5)) / 10 }

// newHorizonResponse is NewHorizonResponse with the asked quantiles of ls
// as each day's quantiles map; h's levels are ls.levels.
func newHorizonResponse(h closecast.Horizon, ls levelSet) HorizonResponse {
	resp := HorizonResponse{PredictResponse: NewPredictResponse(h.First), Forecasts: make([]HorizonForecast, len(h.Days))}
	p10, p50, p90 := slices.Index(h.Levels, 0.1), slices.Index(h.Levels, 0.5), slices.Index(h.Levels, 0.9)
	for k, d := range h.Days {
		f := HorizonForecast{Date: d.Date, Prediction: d.Value, Actual: d.Actual, Adaptive: d.Adaptive}
		if q := d.Quantiles; len(q) == len(h.Levels) && p10 >= 0 && p50 >= 0 && p90 >= 0 {
			f.P10, f.P50, f.P90 = &q[p10], &q[p50], &q[p90]
			if len(ls.asked) > 0 {
				f.Quantiles = make(map[string]float64, len(ls.asked))
				for j, pct := range ls.asked {
					f.Quantiles[strconv.FormatFloat(pct, 'f', -1, 64)] = q[ls.at[j]]
				}
			}
		}
		resp.Forecasts[k] = f
	}
	pct := make([]float64, len(h.Levels))
	for k, l := range h.Levels {
		pct[k] = pctOf(l)
		if j := slices.Index(ls.at, k); j >= 0 {
			pct[k] = ls.asked[j] // as asked: 12.25, not 12.3
		}
	}
	resp.Interval = NewInterval(h, pct)
	resp.Steps = "recursive"
	if h.Direct {
		resp.Steps = "direct"
	}
	return resp
}

// quantileLeveler is what a Predictor serving a quantile head tells
// (predict.Service does): the levels it forecasts, nil for a point model.
type quantileLeveler interface{ QuantileLevels() []float64 }

// predictHorizon answers a /predict request with a horizon or samples.
// Answers are cached like plain ones (per horizon and samples: they cost
// up to a few hundred milliseconds); the first day, when live, goes to the
// ledger as a plain forecast would.
func (s *Server) predictHorizon(w http.ResponseWriter, r *http.Request, p predictParams, m *market) {
	hp, ok := m.Predictor.(closecast.HorizonPredictor)
	if !ok {
		writeError(w, badRequest(codeInvalidHorizon, "this server forecasts one day at a time; send no 'horizon', 'interval' or 'samples'"))
		return
	}
	// A quantile head answers its own levels, one day ahead, with no other
	// method: say so before asking it.
	var head []float64
	if ql, ok := hp.(quantileLeveler); ok {
		head = ql.QuantileLevels()
	}
	if head != nil && (p.interval == closecast.IntervalConformal || p.interval == closecast.IntervalMCDropout) {
		writeError(w, badRequest(codeInvalidInterval, "this model is a quantile head: its quantiles are its own, not %s; send 'interval': \"auto\" and no 'samples'", p.interval))
		return
	}
	what := "this model's quantile head"
	if p.interval == closecast.IntervalEnsemble {
		head, what = closecast.DistributionLevels[:], "the ensemble interval"
	}
	ls, e := newLevelSet(p.quantiles, head, what)
	if e != nil {
		writeError(w, e)
		return
	}
	key := cacheKey{symbol: p.symbol, date: p.date, horizon: p.horizon, interval: p.interval, samples: p.samples}
	if p.quantiles != nil {
		key.quantiles = fmt.Sprint(p.quantiles)
	}
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
	opt := closecast.HorizonOptions{Horizon: p.horizon, Interval: p.interval, Samples: p.samples, Seed: closecast.DefaultSeed, Levels: ls.levels}
	h, err := hp.PredictHorizon(ctx, p.symbol, p.date, opt)
	release()
	switch {
	case errors.Is(err, closecast.ErrNoDropout) && p.samples > 0:
		writeError(w, badRequest(codeInvalidSamples, "this model was trained without dropout, so it has no Monte-Carlo interval; send 'samples': 0"))
		return
	case errors.Is(err, closecast.ErrNoDropout):
		writeError(w, badRequest(codeInvalidInterval, "this model was trained without dropout, so it has no Monte-Carlo interval; send 'interval': \"conformal\" or \"none\""))
		return
	case errors.Is(err, closecast.ErrNotCalibrated):
		writeError(w, badRequest(codeInvalidInterval, "%s; send 'interval': \"mc_dropout\" or \"none\"", err))
		return
	case errors.Is(err, closecast.ErrQuantileLevel):
		writeError(w, badRequest(codeInvalidQuantiles, "%s", err))
		return
	case errors.Is(err, closecast.ErrShortEnsemble):
		writeError(w, badRequest(codeInvalidInterval, "%s; send 'interval': \"conformal\" or a later date", err))
		return
	case errors.Is(err, closecast.ErrHorizonTooLong):
		writeError(w, badRequest(codeInvalidHorizon, "'horizon' is too long: %v", err))
		return
	}
	if err != nil {
		writeError(w, fromDomain(err))
		return
	}
	if len(p.quantiles) > 0 && h.Interval == "" {
		writeError(w, badRequest(codeInvalidQuantiles, "this model has no interval (no conformal calibration, no dropout, no quantile head), so no quantiles; drop 'quantiles'"))
		return
	}
	if len(h.Days) != p.horizon {
		writeError(w, internal(fmt.Errorf("asked a %d-day horizon, got %d days", p.horizon, len(h.Days))))
		return
	}
	body, err := json.Marshal(newHorizonResponse(h, ls))
	if err != nil { // a NaN or infinite forecast: the model is broken, not the request
		writeError(w, internal(fmt.Errorf("encoding the %d-day forecast from %s: %w", p.horizon, p.date, err)))
		return
	}
	body = append(body, '\n')
	s.cache.put(key, body, s.now(), m)
	if s.ledger != nil && h.First.Actual == nil {
		s.ledger.enqueue(h.First, s.now())
	}
	writeRawJSON(w, http.StatusOK, body)
}
