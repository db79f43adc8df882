package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/pipeline"
	"github.com/closecast/closecast/predict"
)

// Limits of a /predict horizon request. They are tighter than the pipeline's
// (366 days, 10000 samples) because one request costs about
// (1 + samples) × horizon network passes on a shared server: 30 days of 500
// paths is the most one client may ask.
const (
	maxHorizon     = 30
	maxSamples     = 500
	defaultSamples = pipeline.DefaultSamples // when horizon > 1 and samples is not given
)

// intervalLevels are the quantile levels of every interval the API serves,
// the "p10", "p50" and "p90" of a forecast. Fixed (not pipeline's
// DefaultLevels) so that the keys of the contract cannot drift with it.
var intervalLevels = []float64{0.1, 0.5, 0.9}

// HorizonPredictor is what a Config.Predictor also implements to answer
// horizon and interval requests (a *predict.Service does). Without it such
// a request is a 400 invalid_horizon; plain requests do not need it.
type HorizonPredictor interface {
	PredictHorizon(ctx context.Context, symbol string, date closecast.Date, opt pipeline.HorizonOptions) (predict.Horizon, error)
}

// HorizonResponse is the 200 body of /predict with a horizon or samples:
// the plain body's fields for the first day, then every day and how its
// quantiles were made.
type HorizonResponse struct {
	PredictResponse
	// Forecasts holds the horizon's days in date order, consecutive from
	// date on; the first repeats the fields above.
	Forecasts []HorizonForecast `json:"forecasts"`
	// Interval says how the quantiles were made; absent with samples 0.
	Interval *Interval `json:"interval,omitempty"`
}

// HorizonForecast is one day of a horizon: {"date", "prediction", "p10",
// "p50", "p90", "actual"}. Prediction is the deterministic recursive
// forecast (dropout off); p10/p50/p90 are quantiles of the Monte-Carlo
// dropout paths on that day, absent with samples 0; actual is the close when
// it is already known.
type HorizonForecast struct {
	Date       closecast.Date `json:"date"`
	Prediction float64        `json:"prediction"`
	P10        *float64       `json:"p10,omitempty"`
	P50        *float64       `json:"p50,omitempty"`
	P90        *float64       `json:"p90,omitempty"`
	Actual     *float64       `json:"actual,omitempty"`
}

// Interval describes the Monte-Carlo dropout behind the quantiles, as
// `closecast predict --json` does: method "mc_dropout", the sample paths,
// the dropout seed and the levels in percent ([10, 50, 90]).
type Interval struct {
	Method    string    `json:"method"`
	Samples   int       `json:"samples"`
	Seed      uint64    `json:"seed"`
	Quantiles []float64 `json:"quantiles"`
}

// NewHorizonResponse describes a horizon as the API answers it. h's levels
// must be intervalLevels when it has samples.
func NewHorizonResponse(h predict.Horizon) HorizonResponse {
	resp := HorizonResponse{PredictResponse: NewPredictResponse(h.First), Forecasts: make([]HorizonForecast, len(h.Days))}
	for k, d := range h.Days {
		f := HorizonForecast{Date: d.Date, Prediction: d.Value, Actual: d.Actual}
		if len(d.Quantiles) == 3 {
			q := d.Quantiles
			f.P10, f.P50, f.P90 = &q[0], &q[1], &q[2]
		}
		resp.Forecasts[k] = f
	}
	if h.Samples > 0 {
		pct := make([]float64, len(h.Levels))
		for k, l := range h.Levels {
			pct[k] = float64(int(l*1000+0.5)) / 10 // 0.1 → 10, not 10.000000000000002
		}
		resp.Interval = &Interval{Method: "mc_dropout", Samples: h.Samples, Seed: h.Seed, Quantiles: pct}
	}
	return resp
}

// predictHorizon answers a /predict request with a horizon or samples.
// Answers are cached like plain ones (per horizon and samples: they cost
// up to a few hundred milliseconds); the first day, when live, goes to the
// ledger as a plain forecast would.
func (s *Server) predictHorizon(w http.ResponseWriter, r *http.Request, p predictParams) {
	hp, ok := s.cfg.Predictor.(HorizonPredictor)
	if !ok {
		writeError(w, badRequest(codeInvalidHorizon, "this server forecasts one day at a time; send no 'horizon' or 'samples'"))
		return
	}
	key := cacheKey{symbol: p.symbol, date: p.date, horizon: p.horizon, samples: p.samples}
	if body := s.cache.get(key, s.now()); body != nil {
		s.metrics.cacheHits.Add(1)
		writeRawJSON(w, http.StatusOK, body)
		return
	}
	ctx, cancel := contextWithTimeout(r, predictTimeout)
	defer cancel()
	opt := pipeline.HorizonOptions{Horizon: p.horizon, Samples: p.samples, Seed: pipeline.DefaultSeed, Levels: intervalLevels}
	h, err := hp.PredictHorizon(ctx, p.symbol, p.date, opt)
	if errors.Is(err, pipeline.ErrNoDropout) && !p.samplesGiven {
		// A model trained without dropout has no interval; a horizon that
		// did not ask for one gets its days without, as predict --horizon.
		opt.Samples = 0
		h, err = hp.PredictHorizon(ctx, p.symbol, p.date, opt)
	}
	if errors.Is(err, pipeline.ErrNoDropout) {
		writeError(w, badRequest(codeInvalidSamples, "this model was trained without dropout, so it has no Monte-Carlo interval; send 'samples': 0"))
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
	s.cache.put(key, body, s.now())
	if s.ledger != nil && h.First.Actual == nil {
		s.ledger.enqueue(h.First, s.now())
	}
	writeRawJSON(w, http.StatusOK, body)
}
