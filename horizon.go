package closecast

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// HorizonPredictor is the multi-day seam: what a Predictor also implements
// to answer horizon and interval requests (predict.Service does). A server
// whose Predictor lacks it forecasts one day at a time.
type HorizonPredictor interface {
	PredictHorizon(ctx context.Context, symbol string, date Date, opt HorizonOptions) (Horizon, error)
}

// Interval methods: how the quantiles of a forecast are made.
const (
	// IntervalConformal widens the deterministic forecast by quantiles of
	// the model's own past errors on days it was not fitted on (split
	// conformal prediction, see Calibration). It needs a calibrated model.
	IntervalConformal = "conformal"
	// IntervalMCDropout takes quantiles of Monte-Carlo dropout sample
	// paths: the model's uncertainty about its weights only.
	IntervalMCDropout = "mc_dropout"
	// IntervalAuto is conformal for a calibrated model, else Monte-Carlo
	// dropout, else none (a model without dropout or calibration).
	IntervalAuto = "auto"
	// IntervalQuantileHead is Horizon.Interval when the quantiles are a
	// quantile head's own outputs (a model trained with pinball loss).
	IntervalQuantileHead = "quantile_head"
	// IntervalEnsemble takes the quantiles of the naive-baseline ensemble
	// of `closecast evaluate` (the equal-weight level-by-level average of
	// EWMA-t, GARCH(1,1)-t, the 250-day empirical and the EWMA-filtered
	// empirical quantiles), fitted only on the returns up to the origin
	// and rescaled to prices from its close. It answers the
	// DistributionLevels only; the point forecast stays the model's.
	IntervalEnsemble = "ensemble"
)

// Default and limit settings of a multi-day forecast.
const (
	DefaultSamples = 100 // Monte-Carlo passes per forecast
	DefaultSeed    = 7   // fixed, so the same request gives the same interval
	MaxHorizon     = 366 // longest horizon accepted, in days
	MaxSamples     = 10000
	// CalibrationHorizon is how many days ahead a recursive model is
	// calibrated (a direct head is calibrated for all its outputs). It
	// matches the longest horizon the HTTP API serves.
	CalibrationHorizon = 30
)

// DefaultLevels are the quantile levels of an interval: 10 %, 50 %, 90 %
// (an 80 % central interval and the median).
var DefaultLevels = []float64{0.1, 0.5, 0.9}

// Errors of a multi-day forecast that callers answer differently from a
// broken model: each names an option the model cannot honour.
var (
	// ErrNoDropout is returned for intervals asked of a network trained
	// without dropout: Monte-Carlo dropout would give every sample the
	// same value.
	ErrNoDropout = errors.New("the model has no dropout, so Monte-Carlo dropout gives no interval")
	// ErrNotCalibrated is wrapped when a conformal interval is asked of a
	// model without a calibration for that horizon.
	ErrNotCalibrated = errors.New("the model has no conformal calibration")
	// ErrHorizonTooLong is wrapped when a horizon exceeds what a direct
	// multi-output head forecasts.
	ErrHorizonTooLong = errors.New("horizon longer than the model's direct head")
	// ErrShortEnsemble is wrapped when the ensemble interval is asked of
	// an origin with fewer daily returns before it than its baselines
	// need (a year of bars).
	ErrShortEnsemble = errors.New("too little history before the origin for the ensemble interval")
	// ErrQuantileLevel is wrapped when a quantile level is asked of an
	// interval that forecasts fixed levels only (the ensemble's
	// DistributionLevels) and is not one of them.
	ErrQuantileLevel = errors.New("quantile level not forecast by the interval")
)

// HorizonOptions says what a multi-day forecast computes.
type HorizonOptions struct {
	Horizon int // days to forecast, 1..MaxHorizon
	// Interval is how quantiles are made: "" for none, IntervalConformal,
	// IntervalMCDropout, IntervalEnsemble or IntervalAuto (resolved by the
	// forecaster for its model). Samples > 0 with no Interval or IntervalAuto means
	// IntervalMCDropout.
	Interval string
	Samples  int       // Monte-Carlo sample paths (mc_dropout only); 0 = DefaultSamples
	Seed     uint64    // dropout seed (DefaultSeed for reproducible defaults)
	Levels   []float64 // quantile levels in (0, 1), ascending; nil = DefaultLevels
}

// Validate checks the options and fills the defaults: the method implied
// by Samples, the samples of mc_dropout and the levels.
func (o *HorizonOptions) Validate() error {
	if o.Horizon < 1 || o.Horizon > MaxHorizon {
		return fmt.Errorf("horizon %d: want 1..%d days", o.Horizon, MaxHorizon)
	}
	if o.Samples < 0 || o.Samples > MaxSamples || o.Samples == 1 {
		return fmt.Errorf("samples %d: want 0 (no intervals) or 2..%d", o.Samples, MaxSamples)
	}
	switch o.Interval {
	case "", IntervalAuto:
		if o.Samples > 0 {
			o.Interval = IntervalMCDropout
		}
	case IntervalMCDropout:
		if o.Samples == 0 {
			o.Samples = DefaultSamples
		}
	case IntervalConformal, IntervalEnsemble:
		if o.Samples != 0 {
			return fmt.Errorf("samples %d: Monte-Carlo samples apply to the %s interval, not %s", o.Samples, IntervalMCDropout, o.Interval)
		}
	default:
		return fmt.Errorf("interval %q: want %q, %q, %q, %q or \"\" (none)", o.Interval, IntervalAuto, IntervalConformal, IntervalMCDropout, IntervalEnsemble)
	}
	if o.Interval == "" {
		return nil
	}
	if o.Levels == nil {
		o.Levels = DefaultLevels
	}
	return ValidateLevels(o.Levels)
}

// ValidateLevels checks quantile levels: each strictly inside (0, 1),
// strictly ascending, at least one.
func ValidateLevels(levels []float64) error {
	if len(levels) == 0 {
		return errors.New("quantiles: want at least one level")
	}
	for i, q := range levels {
		if !(q > 0 && q < 1) {
			return fmt.Errorf("quantile level %v: want a level strictly between 0 and 1", q)
		}
		if i > 0 && q <= levels[i-1] {
			return fmt.Errorf("quantile levels %v: want strictly ascending levels", levels)
		}
	}
	return nil
}

// HorizonDay is one day of a multi-day forecast.
type HorizonDay struct {
	Date Date
	// Value is the deterministic forecast (recursive or direct, dropout
	// off); on the first day it equals the one-day forecast.
	Value float64
	// Quantiles holds one close per level of Horizon.Levels: conformal
	// quantiles around Value, or those of the Monte-Carlo dropout sample
	// paths' closes on Date. Nil without an interval.
	Quantiles []float64
	// Actual is the close of Date when it is already known (filled by a
	// forecaster that reads bars; nil from a bare model).
	Actual *float64
	// Adaptive says how Quantiles were adapted online from the outcomes
	// of earlier forecasts; nil when they are the base method's.
	Adaptive *Adaptive
}

// Horizon is a multi-day forecast with prediction intervals: Days[0] is
// the first forecast day, each next day one calendar day later.
type Horizon struct {
	// First is the first day as a one-day forecast answers it (same value,
	// window, last close and actual), so callers that know only one-day
	// forecasts keep working. Zero from a bare model, which knows no
	// symbol.
	First Prediction
	// Interval is how the quantiles were made (IntervalConformal,
	// IntervalMCDropout, IntervalQuantileHead or IntervalEnsemble); ""
	// without quantiles.
	Interval string
	Levels   []float64 // quantile levels in (0, 1), ascending; nil without an interval
	Samples  int       // Monte-Carlo sample paths behind mc_dropout quantiles
	Seed     uint64    // dropout seed of mc_dropout: the same request and seed give the same quantiles
	// Calibration is the model's conformal calibration behind conformal
	// quantiles; nil otherwise.
	Calibration *Calibration
	// Direct is true when the days came from the model's direct
	// multi-output head rather than recursion.
	Direct bool
	Days   []HorizonDay
}

// Calibration is the split-conformal calibration of a model: its
// volatility-scaled errors on the calibration days From..To, days it was
// not fitted on (training holds back its tail for this; a model trained
// without a tail has no calibration).
//
// For a forecast of close ĉ made at origin bar i (the first forecast day
// being bars[i]) and its actual close c on forecast day h (h = 1 is
// bars[i]), the score is s = ln(c/ĉ) / σ_i, where σ_i is the standard
// deviation of the pipeline.VolatilityDays daily log returns ending with
// bars[i-1]: scaling by the volatility at the origin lets one calibration
// serve calm and turbulent markets alike (a locally adaptive conformal
// score). Scores[h-1] holds, ascending, the scores of step h of every
// origin in From..To whose day h also lies in From..To, so the calibration
// never looks past To.
//
// The interval of a new forecast at level τ is ĉ·exp(q_τ·σ) with q_τ the
// conformal quantile of Scores[h-1] (Quantile). It covers as advertised
// when the new score is exchangeable with the calibration scores; markets
// change regime, so check the coverage `closecast evaluate` reports.
type Calibration struct {
	From   Date        `json:"from"`
	To     Date        `json:"to"`
	Scores [][]float32 `json:"scores"`
}

// Horizon returns how many days ahead c is calibrated.
func (c *Calibration) Horizon() int { return len(c.Scores) }

// Validate checks that every step has ascending, finite scores and that
// each step has no more scores than the one before it.
func (c *Calibration) Validate() error {
	if len(c.Scores) == 0 {
		return errors.New("calibration has no scores")
	}
	if c.To < c.From {
		return fmt.Errorf("calibration range %s..%s is reversed", c.From, c.To)
	}
	for h, s := range c.Scores {
		if len(s) == 0 || h > 0 && len(s) > len(c.Scores[h-1]) {
			return fmt.Errorf("calibration step %d has %d scores", h+1, len(s))
		}
		for k, v := range s {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || k > 0 && v < s[k-1] {
				return fmt.Errorf("calibration step %d: score %d (%v) is not finite or not ascending", h+1, k, v)
			}
		}
	}
	return nil
}

// Quantile returns the conformal quantile of step h's n scores at level:
// the ⌈(n+1)·level⌉-th smallest for level ≥ 0.5 and the ⌊(n+1)·level⌋-th
// for level < 0.5. That finite-sample rule makes the interval between a
// level a < 0.5 and a level b > 0.5 cover a new exchangeable score with
// probability at least b − a. It fails when n is too small for level.
func (c *Calibration) Quantile(h int, level float64) (float64, error) {
	if h < 1 || h > len(c.Scores) {
		return 0, fmt.Errorf("%w for day %d: it is calibrated for days 1..%d", ErrNotCalibrated, h, len(c.Scores))
	}
	s := c.Scores[h-1]
	n := len(s)
	var k int
	if level >= 0.5 {
		k = int(math.Ceil(float64(n+1) * level))
	} else {
		k = int(math.Floor(float64(n+1) * level))
	}
	if k < 1 || k > n {
		return 0, fmt.Errorf("%w at level %v for day %d: %d calibration days are too few", ErrNotCalibrated, level, h, n)
	}
	return float64(s[k-1]), nil
}

// UnavailableError is returned when bars that a request needs could not be
// fetched. It wraps ErrUnavailable and the provider's error. RetryAt is
// when the source will ask the provider again (an HTTP server's
// Retry-After).
type UnavailableError struct {
	Symbol   string
	From, To Date // the missing days that were asked for
	RetryAt  time.Time
	Err      error // the provider's error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("history: bars of %s from %s to %s are needed but the provider failed: %v", e.Symbol, e.From, e.To, e.Err)
}

// Unwrap returns ErrUnavailable and the provider's error, so errors.Is
// matches either.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }
