package serving

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/predict"
)

// livePredictor is a predict.Service whose forecasts carry their base
// distribution (closecast.Prediction.Quantiles, for the ledger) and whose
// live intervals are adapted from the ledger (live.Online: ACI or FACI),
// unless adapt is false. The base is the served interval: the conformal
// one (or a quantile head's own), or with ensemble the naive-baseline
// ensemble's, which then also answers interval auto.
type livePredictor struct {
	*predict.Service
	live         *evaluate.Live
	adapt        bool
	ensemble     bool        // the served interval is closecast.IntervalEnsemble
	uncalibrated atomic.Bool // the model has no conformal calibration: no distribution
}

// distribution returns the forecast of date with its base distribution at
// closecast.DistributionLevels: the ensemble's when it is the served
// interval, else the quantile head's own outputs, or the conformal
// quantiles. Without one (a model with neither, a day with too little
// history for the ensemble) it gives Predict's forecast without one.
func (p *livePredictor) distribution(ctx context.Context, symbol string, date closecast.Date) (closecast.Prediction, error) {
	opt := closecast.HorizonOptions{Horizon: 1, Interval: closecast.IntervalConformal, Levels: closecast.DistributionLevels[:]}
	if p.ensemble {
		opt.Interval = closecast.IntervalEnsemble
	} else if head := p.QuantileLevels(); head != nil {
		levels, ok := headLevels(head)
		if !ok {
			return p.Service.Predict(ctx, symbol, date)
		}
		opt.Interval, opt.Levels = closecast.IntervalAuto, levels // the head's own
	}
	if !p.ensemble && p.uncalibrated.Load() {
		return p.Service.Predict(ctx, symbol, date)
	}
	h, err := p.Service.PredictHorizon(ctx, symbol, date, opt)
	switch {
	case errors.Is(err, closecast.ErrNotCalibrated) && !p.ensemble:
		p.uncalibrated.Store(true) // a model's calibration never changes
		return p.Service.Predict(ctx, symbol, date)
	case errors.Is(err, closecast.ErrShortEnsemble):
		return p.Service.Predict(ctx, symbol, date)
	}
	if err != nil {
		return closecast.Prediction{}, err
	}
	pred := h.First
	if q := h.Days[0].Quantiles; len(q) == closecast.NumDistributionLevels {
		pred.Quantiles = (*closecast.Distribution)(slices.Clone(q))
	}
	return pred, nil
}

// headLevels returns a quantile head's levels (as it has them) that are
// closecast.DistributionLevels, within 1e-9; ok is false when it lacks one.
func headLevels(head []float64) (levels []float64, ok bool) {
	for _, w := range closecast.DistributionLevels {
		k := slices.IndexFunc(head, func(h float64) bool { return math.Abs(h-w) < 1e-9 })
		if k < 0 {
			return nil, false
		}
		levels = append(levels, head[k])
	}
	return levels, true
}

// Predict implements closecast.Predictor: Service.Predict's forecast with
// its base distribution. With the ensemble, a forecast of a closed day
// (which the ledger does not record) comes without one: its fit would
// cost a GARCH fit per past day asked.
func (p *livePredictor) Predict(ctx context.Context, symbol string, date closecast.Date) (closecast.Prediction, error) {
	if p.ensemble {
		pred, err := p.Service.Predict(ctx, symbol, date)
		if err != nil || pred.Actual != nil {
			return pred, err
		}
	}
	return p.distribution(ctx, symbol, date)
}

// PredictHorizon implements closecast.HorizonPredictor: Service's horizon
// (interval auto meaning the ensemble when it is the served interval), its
// first day carrying its base distribution and, for a live forecast (its
// close not known yet) whose interval is the base's (conformal or a
// quantile head's, or the ensemble), that day's quantiles adapted by ACI
// or FACI from the ledger's scored forecasts (HorizonDay.Adaptive says
// how): an adaptation learnt on one base is never applied to another. Later days stay the base method's: the
// ledger scores one-day forecasts only, so it says nothing of their
// calibration. A forecast of a day already closed is never adapted: the
// ledger holds outcomes after it.
func (p *livePredictor) PredictHorizon(ctx context.Context, symbol string, date closecast.Date, opt closecast.HorizonOptions) (closecast.Horizon, error) {
	if p.ensemble && opt.Interval == closecast.IntervalAuto {
		opt.Interval = closecast.IntervalEnsemble
	}
	h, err := p.Service.PredictHorizon(ctx, symbol, date, opt)
	if err != nil || h.First.Actual != nil {
		return h, err
	}
	base, err := p.distribution(ctx, symbol, date)
	if err != nil {
		return closecast.Horizon{}, err
	}
	h.First.Quantiles = base.Quantiles
	if !p.adapt || base.Quantiles == nil || len(h.Days[0].Quantiles) != len(h.Levels) || !p.isBase(h.Interval) {
		return h, nil
	}
	o, err := p.live.Online(ctx, h.First.Symbol)
	if err != nil {
		return closecast.Horizon{}, fmt.Errorf("serving: adapting the interval from the ledger: %w", err)
	}
	if o == nil || o.N() == 0 {
		return h, nil
	}
	q := evaluate.Quantiles(*base.Quantiles)
	day := &h.Days[0]
	day.Quantiles = AdaptAt(o, &q, h.Levels, day.Quantiles)
	day.Adaptive = &closecast.Adaptive{Method: p.live.Adaptation().Name(), Alpha: o.Alpha(evaluate.PairOf80), Factor: o.Factor(evaluate.PairOf80), N: o.N()}
	return h, nil
}

// isBase reports whether interval is the method of the base distribution
// the ledger records, the one its adaptation learns on.
func (p *livePredictor) isBase(interval string) bool {
	if p.ensemble {
		return interval == closecast.IntervalEnsemble
	}
	return interval == closecast.IntervalConformal || interval == closecast.IntervalQuantileHead
}

// AdaptAt returns the quantiles at levels (ascending, in (0, 1)) of base
// forecast q adapted by o, given the base method's quantiles at those
// levels: a level of evaluate.Levels gets o.Apply(q)'s quantile exactly;
// any other level τ is scaled around the median by the factor of the
// central intervals on either side of it, interpolated linearly in τ
// (the outermost's beyond 0.025/0.975, the innermost's within 0.45..0.55),
// kept between the adapted quantiles of its neighbouring levels. The
// result is sorted, so asked levels never cross.
func AdaptAt(o *evaluate.Online, q *evaluate.Quantiles, levels, at []float64) []float64 {
	adapted := o.Apply(q)
	m := q.Median()
	const pairs = evaluate.NumLevels / 2
	out := make([]float64, len(levels))
	for j, l := range levels {
		k := slices.IndexFunc(evaluate.Levels[:], func(g float64) bool { return math.Abs(g-l) < 1e-12 })
		if k >= 0 {
			out[j] = adapted[k]
			continue
		}
		tau := min(l, 1-l) // the lower level of l's central interval
		var f float64
		switch i := lowerPair(tau); {
		case i < 0:
			f = o.Factor(0)
		case i >= pairs-1:
			f = o.Factor(pairs - 1)
		default:
			w := (tau - evaluate.Levels[i]) / (evaluate.Levels[i+1] - evaluate.Levels[i])
			f = (1-w)*o.Factor(i) + w*o.Factor(i+1)
		}
		v := m + f*(at[j]-m)
		// Between the adapted neighbours on the grid.
		hi, _ := slices.BinarySearch(evaluate.Levels[:], l)
		if hi > 0 {
			v = max(v, adapted[hi-1])
		}
		if hi < evaluate.NumLevels {
			v = min(v, adapted[hi])
		}
		out[j] = v
	}
	slices.Sort(out)
	return out
}

// lowerPair returns the index i of the last grid level ≤ tau among the lower
// levels evaluate.Levels[:NumLevels/2], or −1 below the first.
func lowerPair(tau float64) int {
	i, _ := slices.BinarySearch(evaluate.Levels[:evaluate.NumLevels/2], tau)
	return i - 1
}

// WarmLive computes, for every served symbol, what the first
// /api/accuracy and the first adapted /predict would (the baselines' walk
// over the whole ledger, the ACI state and, with the ensemble served, its
// fit at the last close, about 0.3 s of GARCH fitting), so that they find
// it cached: for a ledger of a year or more that walk takes seconds. closecast serve runs
// it in the background at start; errors are the first requests' to
// report, so it returns them joined and stops at ctx's end.
func (c *Chain) WarmLive(ctx context.Context) error {
	if c.live == nil {
		return nil
	}
	var errs []error
	for sym := range c.Markets() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := c.live.ScoreDistribution(ctx, sym, 1); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sym, err))
		}
		if _, err := c.live.Online(ctx, sym); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sym, err))
		}
	}
	if !c.ensemble {
		return errors.Join(errs...)
	}
	for _, p := range *c.served.Load() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sym := p.Model().Meta.Symbol
		last, err := p.LastKnown(ctx, sym)
		if err == nil {
			_, err = p.Predict(ctx, sym, last+1) // the next live forecast: fits its ensemble
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: the ensemble: %w", sym, err))
		}
	}
	return errors.Join(errs...)
}
