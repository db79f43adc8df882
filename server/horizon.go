package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

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
	Actual     *float64       `json:"actual,omitempty"`
}

// Interval says how the quantiles were made, as `closecast predict --json`
// does: the method ("conformal" or "mc_dropout") and the levels in percent
// ([10, 50, 90]); for mc_dropout the sample paths and the dropout seed, for
// conformal the calibration behind it.
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
	default:
		return nil
	}
	return iv
}

// NewHorizonResponse describes a horizon as the API answers it. h's levels
// must be intervalLevels when it has an interval.
func NewHorizonResponse(h closecast.Horizon) HorizonResponse {
	resp := HorizonResponse{PredictResponse: NewPredictResponse(h.First), Forecasts: make([]HorizonForecast, len(h.Days))}
	for k, d := range h.Days {
		f := HorizonForecast{Date: d.Date, Prediction: d.Value, Actual: d.Actual}
		if len(d.Quantiles) == 3 {
			q := d.Quantiles
			f.P10, f.P50, f.P90 = &q[0], &q[1], &q[2]
		}
		resp.Forecasts[k] = f
	}
	pct := make([]float64, len(h.Levels))
	for k, l := range h.Levels {
		pct[k] = float64(int(l*1000+0.5)) / 10 // 0.1 → 10, not 10.000000000000002
	}
	resp.Interval = NewInterval(h, pct)
	resp.Steps = "recursive"
	if h.Direct {
		resp.Steps = "direct"
	}
	return resp
}

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
	key := cacheKey(p) // the same fields: a horizon answer is cached per all of them
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
	opt := closecast.HorizonOptions{Horizon: p.horizon, Interval: p.interval, Samples: p.samples, Seed: closecast.DefaultSeed, Levels: intervalLevels}
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
	case errors.Is(err, closecast.ErrHorizonTooLong):
		writeError(w, badRequest(codeInvalidHorizon, "'horizon' is too long: %v", err))
		return
	}
	if err != nil {
		writeError(w, fromDomain(err))
		return
	}
	if len(h.Days) != p.horizon {
		writeError(w, internal(fmt.Errorf("asked a %d-day horizon, got %d days", p.horizon, len(h.Days))))
		return
	}
	body, err := json.Marshal(NewHorizonResponse(h))
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
